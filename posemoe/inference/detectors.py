"""2D keypoints from frames: the bundled offline detector, MediaPipe BlazePose (full).

``mediapipe==0.10.21`` ships the BlazePose models inside its wheel (``mp.solutions.pose``;
later wheels dropped that API), so nothing is downloaded. It pins numpy<2, which is why it lives
in the ``posemoe[video]`` extra. BlazePose finds one person per frame: in video mode it tracks
that person from frame to frame and runs its person detector again only when the track is lost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.layouts import BLAZEPOSE33


def require_mediapipe() -> Any:
    """Import mediapipe's pose solution or explain how to get it."""
    try:
        from mediapipe.python.solutions import pose
    except ImportError:
        raise MissingDependency("the BlazePose detector needs mediapipe 0.10.21: pip install 'posemoe[video]'") from None
    return pose


class BlazePose:
    """MediaPipe BlazePose. ``detector(rgb)`` -> (33, 3) pixels x, y and visibility in [0, 1], or
    None when no person is found. ``video=True`` tracks across consecutive frames (faster, steadier);
    use ``video=False`` for unrelated photos. ``model_complexity``: 0 lite, 1 full, 2 heavy (only
    0 and 1 ship inside the wheel)."""

    layout = BLAZEPOSE33

    def __init__(self, *, video: bool = True, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        pose = require_mediapipe()
        if model_complexity not in (0, 1):
            raise UserError(f"model_complexity {model_complexity}: the offline wheel has 0 (lite) and 1 (full)")
        self._pose = pose.Pose(static_image_mode=not video, model_complexity=model_complexity,
                               smooth_landmarks=video, enable_segmentation=False,
                               min_detection_confidence=min_detection_confidence,
                               min_tracking_confidence=min_tracking_confidence)

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UserError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        points = np.array([(p.x * w, p.y * h, p.visibility) for p in result.pose_landmarks.landmark], np.float32)
        points[:, 2] = np.clip(points[:, 2], 0.0, 1.0)
        return points

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> BlazePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
