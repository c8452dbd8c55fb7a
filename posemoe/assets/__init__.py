"""Files shipped with the package.

- ``h36m_camera_params.json``: the Human3.6M camera intrinsics and extrinsics (VideoPose3D's table).
- ``astronaut.jpg``: NASA portrait of astronaut Eileen Collins (public domain; the same picture
  scikit-image ships as ``skimage.data.astronaut``), the bundled real person for the video
  pipeline's tests and speed benchmark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ASSETS = Path(__file__).parent


def astronaut() -> np.ndarray:
    """The bundled photo of a real person, RGB uint8 (512, 512, 3)."""
    from PIL import Image

    with Image.open(ASSETS / "astronaut.jpg") as image:
        return np.asarray(image.convert("RGB"))
