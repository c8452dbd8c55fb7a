"""Windows over sequences for lifting every frame, and windowed prediction with test-time flip."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import nn

from posemoe.codecs import flip_horizontal
from posemoe.layouts import H36M17, JointLayout


def sequence_windows(start: int, length: int, num_frames: int) -> np.ndarray:
    """Windows that cover the ``length`` frames from packed row ``start``: ``(W, T)`` row indices.

    Windows are laid end to end; the last one is moved back to end on the last frame (so it
    overlaps its neighbour) and a sequence shorter than ``T`` repeats its last frame. Writing
    predictions window by window, in order, gives each frame one prediction.
    """
    if length >= num_frames:
        starts = list(range(0, length - num_frames + 1, num_frames))
        if starts[-1] != length - num_frames:
            starts.append(length - num_frames)
        return start + np.asarray(starts)[:, None] + np.arange(num_frames)
    return start + np.minimum(np.arange(num_frames), length - 1)[None]


def iterate_windows(windows: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for i in range(0, len(windows), batch_size):
        yield windows[i:i + batch_size]


@torch.no_grad()
def predict_windows(model: nn.Module, keypoints: np.ndarray, windows: np.ndarray, *, flip: bool = True,
                    batch_size: int = 64, device: str | torch.device = "cpu", layout: JointLayout = H36M17) -> np.ndarray:
    """Lift ``keypoints`` (N, J, C) (normalised, the model's channels) window by window.

    windows: (W, T) row indices. Returns (N, J, 3) metres with NaN on rows no window covers;
    a row in several windows keeps the last window's prediction.
    """
    model.eval()
    perm = layout.flip_permutation()
    out = np.full((len(keypoints), layout.num_joints, 3), np.nan, dtype=np.float32)
    for frames in iterate_windows(windows, batch_size):
        x = keypoints[frames]
        batch = np.concatenate([x, flip_horizontal(x, perm)]) if flip else x
        y = model(torch.from_numpy(batch).to(device)).float().cpu().numpy()
        if flip:
            y = (y[: len(x)] + flip_horizontal(y[len(x):], perm)) / 2
        out[frames.reshape(-1)] = y.reshape(-1, *y.shape[2:])
    return out
