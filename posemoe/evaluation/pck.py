"""3D PCK and AUC as the MPI-INF-3DHP protocol computes them (``mpii_compute_3d_pck.m`` of the
test-set release).

A joint is correct when its Euclidean error is strictly below the threshold (150 mm for PCK).
AUC is the mean PCK over the 31 thresholds 0, 5, ..., 150 mm; the strict comparison makes the
0 mm term always 0, so a perfect prediction scores 30/31 (about 0.968), as in the official code.
Both take ``pred`` and ``target`` of shape ``(..., J, 3)`` in metres and return one fraction per
pose, ``(...)``, so callers choose the joints (index the J axis) and weight poses as they need.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError

AUC_THRESHOLDS = np.arange(0, 151, 5) / 1000.0
"""The AUC thresholds in metres: 0, 0.005, ..., 0.150 (31 values)."""


def _joint_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    if pred.shape != target.shape or pred.ndim < 2:
        raise UserError(
            f"expected prediction and target of the same shape (..., J, 3), got {pred.shape} and "
            f"{target.shape}"
        )
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(target, np.float64), axis=-1)


def pck(pred: np.ndarray, target: np.ndarray, threshold: float = 0.150) -> np.ndarray:
    """Fraction of joints whose error is below ``threshold`` metres: ``(..., J, 3)`` -> ``(...)``."""
    return (_joint_errors(pred, target) < threshold).mean(axis=-1)


def auc(
    pred: np.ndarray, target: np.ndarray, thresholds: np.ndarray = AUC_THRESHOLDS
) -> np.ndarray:
    """Mean PCK over ``thresholds`` (metres): ``(..., J, 3)`` -> ``(...)``."""
    thresholds = np.asarray(thresholds, np.float64)
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise UserError(
            f"expected a 1-D array of thresholds in metres, got shape {thresholds.shape}"
        )
    errors = _joint_errors(pred, target)
    return (errors[..., None] < thresholds).mean(axis=(-2, -1))
