"""Training-time augmentation of 2D inputs: detector-like errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectorNoise:
    """Training-time corruption of clean 2D that imitates a real detector's errors.

    Applied to a batch of clips ``(B, T, J, C)`` in the codec's normalised units (screen: 1.0 =
    half the image width; camera rays: about the same on a 50-degree lens). Each clip is corrupted
    with probability ``prob``:
    jitter (Gaussian, every joint and frame), outliers (rare large jumps of one joint),
    left/right swaps (a frame's left and right joints exchanged, as when the
    detector mistakes which way the person faces) and dropouts (a joint lost for a few
    frames, held at its last seen position, as the gap filler at inference would roughly do).
    With a confidence channel, outliers and dropped joints get low confidence.
    """

    prob: float = 0.0
    jitter: float = 0.006
    outlier_prob: float = 0.004
    outlier_scale: float = 0.06
    swap_prob: float = 0.004
    drop_prob: float = 0.004
    drop_frames: int = 6

    def __call__(
        self, keypoints: np.ndarray, flip_perm: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        if self.prob <= 0:
            return keypoints
        b, t, j, _ = keypoints.shape
        out = keypoints.copy()
        hit = rng.random(b) < self.prob
        xy = out[..., :2]
        xy += (rng.standard_normal((b, t, j, 2)) * self.jitter * hit[:, None, None, None]).astype(
            out.dtype
        )
        outlier = (rng.random((b, t, j)) < self.outlier_prob) & hit[:, None, None]
        xy[outlier] += (rng.standard_normal((int(outlier.sum()), 2)) * self.outlier_scale).astype(
            out.dtype
        )
        swap = (rng.random((b, t)) < self.swap_prob) & hit[:, None]
        if swap.any():
            out[swap] = out[swap][:, flip_perm]
        low = outlier.copy()
        start = (rng.random((b, t, j)) < self.drop_prob) & hit[:, None, None]
        for bi, ti, ji in zip(*np.nonzero(start)):
            end = min(t, ti + int(rng.integers(1, self.drop_frames + 1)))
            out[bi, ti:end, ji, :2] = out[bi, max(ti - 1, 0), ji, :2]
            low[bi, ti:end, ji] = True
        if out.shape[-1] == 3:
            out[..., 2][low] = 0.1
        return out
