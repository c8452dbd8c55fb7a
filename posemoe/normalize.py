"""Normalisation codecs, kept apart from models: pixels <-> [-1, 1] screen, root-relative 3D."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScreenCodec:
    """Maps pixels to normalised screen coordinates, keeping the aspect ratio.

    u in [0, width] maps to [-1, 1]; v is scaled by the same factor and centred, so a
    non-square image spans [-height/width, height/width] vertically.
    """

    width: int
    height: int

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixels -> ``(..., 2)`` normalised."""
        return pixels / self.width * 2.0 - np.array([1.0, self.height / self.width], dtype=pixels.dtype)

    def decode(self, normalized: np.ndarray) -> np.ndarray:
        """``(..., 2)`` normalised -> ``(..., 2)`` pixels."""
        offset = np.array([1.0, self.height / self.width], dtype=normalized.dtype)
        return (normalized + offset) * self.width / 2.0


def root_relative(points: np.ndarray, root: int = 0) -> np.ndarray:
    """``(..., J, 3)`` -> the same with joint ``root`` moved to the origin."""
    return points - points[..., root : root + 1, :]


def flip_horizontal(points: np.ndarray, flip_perm: np.ndarray) -> np.ndarray:
    """Mirror ``(..., J, C)`` points about the vertical axis (x -> -x) and swap left/right.

    Works for normalised 2D (centred on the image) and camera-frame 3D alike; channels past
    the first (y, z, confidence) are kept.
    """
    out = points[..., flip_perm, :].copy()
    out[..., 0] *= -1
    return out


@dataclass(frozen=True)
class DetectorNoise:
    """Training-time corruption of clean 2D that imitates a real detector's errors.

    Applied to a batch of clips ``(B, T, J, C)`` in normalised screen units (1.0 = half the
    image width). Each clip is corrupted with probability ``prob``:
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

    def __call__(self, keypoints: np.ndarray, flip_perm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.prob <= 0:
            return keypoints
        b, t, j, _ = keypoints.shape
        out = keypoints.copy()
        hit = rng.random(b) < self.prob
        xy = out[..., :2]
        xy += (rng.standard_normal((b, t, j, 2)) * self.jitter * hit[:, None, None, None]).astype(out.dtype)
        outlier = (rng.random((b, t, j)) < self.outlier_prob) & hit[:, None, None]
        xy[outlier] += (rng.standard_normal((int(outlier.sum()), 2)) * self.outlier_scale).astype(out.dtype)
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
