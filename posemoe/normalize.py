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
