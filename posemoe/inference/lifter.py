"""The lifting API: ``posemoe.load("<weights>").lift(keypoints, layout=..., image_size=...)``."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
from torch import nn

from posemoe.codecs import ScreenCodec, match_channels
from posemoe.inference.windows import predict_windows, sequence_windows
from posemoe.layouts import H36M17, convert, get_layout
from posemoe.models import is_image_model


class Lifter:
    """A lifting model ready for one person's 2D track."""

    def __init__(self, model: nn.Module, *, flip: bool = True, batch_size: int = 64) -> None:
        if is_image_model(model.config):
            raise ValueError("Lifter needs a lifting model (posemoe-*); image models take crops")
        self.model = model.eval()
        self.flip = flip
        self.batch_size = batch_size

    def lift(self, keypoints: np.ndarray, *, layout: str = "h36m17", image_size: tuple[int, int]) -> np.ndarray:
        """keypoints: (T, J, 2|3) pixels (+ confidence) in ``layout``; image_size: (width, height).

        Returns (T, 17, 3): H36M-17 joints in metres, camera frame (x right, y down, z forward),
        root-relative (pelvis at the origin). Every frame is predicted once, from windows of the
        model's length laid end to end (the last one moved back to end on the last frame; clips
        shorter than a window repeat their edge frames). Missing joints must be filled first
        (``posemoe.io.keypoints.fill_gaps``): NaN input is refused.
        """
        points = np.asarray(keypoints, dtype=np.float32)
        if points.ndim != 3 or points.shape[-1] not in (2, 3) or len(points) == 0:
            raise ValueError(f"expected keypoints of shape (T, J, 2|3), got {points.shape}")
        if np.isnan(points).any():
            raise ValueError("keypoints contain NaN; fill gaps first (posemoe.io.keypoints.fill_gaps)")
        points = convert(points, get_layout(layout), H36M17)
        width, height = image_size
        points = points.copy()
        points[..., :2] = ScreenCodec(width, height).encode(points[..., :2])
        cfg = self.model.config
        points = match_channels(points, cfg.in_channels)
        windows = sequence_windows(0, len(points), cfg.num_frames)
        device = next(self.model.parameters()).device
        return predict_windows(self.model, points, windows, flip=self.flip, batch_size=self.batch_size, device=device)


class OnlineLifter:
    """Sliding-window lifting for live input (webcam, stream): push each frame's 2D as it
    arrives and get that frame's 3D at once, from the window of the last ``T`` frames ending on
    it (causal: no look-ahead, so no delay, at some cost in accuracy against offline lifting).

    Joints that are missing (NaN / None) or below ``min_confidence`` hold their last good value;
    until the window is full, the first frame is repeated before it.
    """

    def __init__(self, lifter: Lifter, *, layout: str = "h36m17", image_size: tuple[int, int],
                 min_confidence: float = 0.3) -> None:
        self.lifter = lifter
        self.layout = get_layout(layout)
        self.image_size = image_size
        self.min_confidence = min_confidence
        self.window: deque[np.ndarray] = deque(maxlen=lifter.model.config.num_frames)
        self.last: np.ndarray | None = None

    def push(self, keypoints: np.ndarray | None) -> np.ndarray | None:
        """keypoints: (J, 2|3) pixels (+ confidence) in the layout, or None for no person.
        Returns (17, 3) metres, camera frame, root-relative; None until a person has been seen."""
        if keypoints is not None:
            points = convert(np.asarray(keypoints, np.float32)[None], self.layout, H36M17)[0]
            if points.shape[-1] == 2:
                points = np.concatenate([points, np.ones_like(points[:, :1])], -1)
            bad = np.isnan(points[:, :2]).any(-1) | (np.nan_to_num(points[:, 2]) < self.min_confidence)
            if self.last is not None:
                points[bad, :2] = self.last[bad, :2]
            elif bad.all():
                points = None
            elif bad.any():  # nothing to hold yet: put unseen joints on the mean of the seen ones
                points[bad, :2] = points[~bad, :2].mean(0)
        else:
            points = None
        if points is None:
            if self.last is None:
                return None
            points = self.last
        self.last = points
        if not self.window:
            self.window.extend([points] * (self.window.maxlen or 1))
        self.window.append(points)
        return self.lifter.lift(np.stack(self.window), layout="h36m17", image_size=self.image_size)[-1]


def load(name_or_path: str | Path, *, device: str = "cpu") -> Lifter:
    """Shipped lifting weights by name, or a .safetensors / .pt file -> :class:`Lifter`."""
    from posemoe.models.pretrained import load_model

    return Lifter(load_model(name_or_path, map_location=device))
