"""Files shipped with the package (sources and licences in ``LICENSES.md`` beside them).

- ``h36m_camera_params.json``: the Human3.6M camera intrinsics and extrinsics (VideoPose3D's table).
- ``astronaut.jpg``: NASA portrait of astronaut Eileen Collins (public domain; the same picture
  scikit-image ships as ``skimage.data.astronaut``), a waist-up photo of a real person for the
  video pipeline's tests and speed benchmark.
- ``sports2d_walk.mp4``: a person walking across a park, side view, full body (854x480, 30 fps,
  104 frames, 3.5 s, H.264), the clip ``posemoe demo`` runs through the whole pipeline. It is an
  excerpt (frames 78-181, cropped to x 200-1384, y 330-994 and scaled down) of
  ``Sports2D/Demo/demo.mp4`` from Sports2D by David Pagnon (https://github.com/davidpagnon/Sports2D,
  commit 9c8a3d2), used under the BSD 3-Clause License, whose text is in ``LICENSES.md``.
- ``pose_detection.onnx``, ``pose_landmark_full_body.onnx``: BlazePose's person detector and full
  landmark model (from the mediapipe 0.10.21 wheel, Apache-2.0; the landmark model without the
  segmentation and world-landmark heads, which posemoe never reads), converted to ONNX for ONNX
  Runtime (:mod:`posemoe.inference.blazepose`; ``tools/blazepose_landmarks.py`` and
  ``tools/blazepose_onnx.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ASSETS = Path(__file__).parent
WALKING_CLIP = ASSETS / "sports2d_walk.mp4"
WALKING_CLIP_CREDIT = "Sports2D demo clip (David Pagnon, BSD-3-Clause), excerpt"


def astronaut() -> np.ndarray:
    """The bundled photo of a real person, RGB uint8 (512, 512, 3)."""
    from PIL import Image

    with Image.open(ASSETS / "astronaut.jpg") as image:
        return np.asarray(image.convert("RGB"))


def walking_clip() -> Path:
    """The bundled clip of a real person walking, full body, side view (an .mp4 file)."""
    return WALKING_CLIP
