"""Temporal smoothing of 3D joints."""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError


def one_euro(
    x: np.ndarray, fps: float, min_cutoff: float = 1.5, beta: float = 0.5, d_cutoff: float = 1.0
) -> np.ndarray:
    """One-Euro filter (Casiez et al., 2012) along axis 0 of ``(T, ...)``: a low-pass whose
    cut-off rises with speed, so slow jitter is removed and fast motion is not lagged.
    ``min_cutoff`` (Hz) sets smoothing at rest, ``beta`` how fast it relaxes with speed."""
    if fps <= 0:
        raise UserError(f"fps must be positive, got {fps}")

    def alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    out = np.array(x, dtype=np.float64, copy=True)
    if len(out) < 2:
        return out
    dx_prev = np.zeros_like(out[0])
    for t in range(1, len(out)):
        dx = (x[t] - out[t - 1]) * fps
        dx_prev = dx_prev + alpha(d_cutoff) * (dx - dx_prev)
        a = alpha(min_cutoff + beta * np.abs(dx_prev))
        out[t] = out[t - 1] + a * (x[t] - out[t - 1])
    return out
