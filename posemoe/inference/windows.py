"""Windows over sequences for lifting every frame, and windowed prediction with test-time flip.

A lifter sees ``T`` frames at a time. To predict every frame of a longer sequence, windows overlap
by half (``stride = T // 2``) and their predictions are blended with a Hann taper: a frame near a
window's edge takes its value mostly from the neighbouring window, where it sits near the centre.
Window boundaries then leave no seam in the 3D (laid end to end, every ``T``-th frame jumped).
``stride = T`` gives the old end-to-end windows (each frame predicted once, half the cost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from posemoe.codecs import flip_horizontal
from posemoe.errors import UserError
from posemoe.inference.runtime import as_runner
from posemoe.layouts import H36M17, JointLayout


def sequence_windows(
    start: int, length: int, num_frames: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Windows covering the ``length`` frames from packed row ``start``.

    Returns row indices ``(W, T)`` and blending weights ``(W, T)``. Windows start every ``stride``
    frames (default ``T // 2``), the last one moved back to end on the last frame. A sequence shorter
    than ``T`` repeats its last frame; the repeats get weight 0, so every real frame keeps its own
    prediction.
    """
    if length < 1:
        raise UserError(f"a sequence needs at least one frame, got {length}")
    stride = max(1, num_frames // 2) if stride is None else stride
    taper = window_taper(num_frames, stride)
    if length >= num_frames:
        starts = list(range(0, length - num_frames + 1, stride))
        if starts[-1] != length - num_frames:
            starts.append(length - num_frames)
        rows = np.asarray(starts)[:, None] + np.arange(num_frames)
        return start + rows, np.broadcast_to(taper, rows.shape).copy()
    positions = np.arange(num_frames)
    real = positions < length
    return start + np.minimum(positions, length - 1)[None], np.where(real, 1.0, 0.0)[None].astype(
        np.float32
    )


def window_taper(num_frames: int, stride: int) -> np.ndarray:
    """(T,) weights of a window's frames: flat for end-to-end windows, a Hann bump (never exactly
    zero, so a sequence's first and last frames still count) when windows overlap."""
    if stride >= num_frames:
        return np.ones(num_frames, np.float32)
    hann = np.sin(np.pi * (np.arange(num_frames) + 0.5) / num_frames) ** 2
    return (hann + 1e-3).astype(np.float32)


def iterate_windows(windows: np.ndarray, batch_size: int) -> Iterator[slice]:
    for i in range(0, len(windows), batch_size):
        yield slice(i, i + batch_size)


def predict_windows(
    model: Any,
    keypoints: np.ndarray,
    windows: np.ndarray,
    weights: np.ndarray,
    *,
    flip: bool = True,
    batch_size: int = 64,
    device: Any = None,
    layout: JointLayout = H36M17,
    encode: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Lift ``keypoints`` (N, J, C) (the model's channels) window by window.

    model: a runner (:mod:`posemoe.inference.runtime`: ONNX Runtime or torch) or a torch module
    (its inputs sent to ``device``, by default the module's).
    windows, weights: (W, T) row indices and blending weights; ``encode`` normalises a batch of
    windows (B, T, J, C) as the model was trained (None: ``keypoints`` are normalised already).
    Returns (N, J, 3) metres: each row the weighted mean of its windows' predictions, NaN on rows
    no window covers. With ``flip`` each window is also lifted mirrored and the two are averaged.
    ``progress``: a progress bar of the windows on stderr (an evaluation lifts tens of thousands).
    """
    from tqdm import tqdm

    runner = as_runner(model, device)
    perm = layout.flip_permutation()
    total = np.zeros((len(keypoints), layout.num_joints * 3), np.float64)
    weight = np.zeros(len(keypoints), np.float64)
    bar = tqdm(
        total=len(windows), unit="window", desc="lifting", disable=not progress, smoothing=0.1
    )
    for part in iterate_windows(windows, batch_size):
        rows, w = windows[part], weights[part]
        x = keypoints[rows] if encode is None else encode(keypoints[rows])
        batch = np.concatenate([x, flip_horizontal(x, perm)]) if flip else x
        y = runner(np.ascontiguousarray(batch, dtype=np.float32))
        if flip:
            y = (y[: len(x)] + flip_horizontal(y[len(x) :], perm)) / 2
        index, w_flat = rows.reshape(-1), w.reshape(-1).astype(np.float64)
        np.add.at(total, index, y.reshape(len(index), -1).astype(np.float64) * w_flat[:, None])
        np.add.at(weight, index, w_flat)
        bar.update(len(rows))
    bar.close()
    out = np.full((len(keypoints), layout.num_joints, 3), np.nan, np.float32)
    seen = weight > 0
    out[seen] = (total[seen] / weight[seen, None]).reshape(-1, layout.num_joints, 3)
    return out
