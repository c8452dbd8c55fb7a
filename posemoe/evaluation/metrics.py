"""Pose error metrics, per frame, in the input units (multiply metres by 1000 for mm).

Each function takes ``pred`` and ``target`` of shape ``(..., J, 3)`` and returns ``(...)``:
one error per pose, so callers can weight by frame or by action as they need.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError


def _check(pred: np.ndarray, target: np.ndarray) -> None:
    if pred.shape != target.shape:
        raise UserError(f"prediction shape {pred.shape} != target shape {target.shape}")


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean per-joint position error (protocol 1)."""
    _check(pred, target)
    return np.linalg.norm(pred - target, axis=-1).mean(axis=-1)


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after the least-squares scale of ``pred`` onto ``target`` (no rotation, no translation)."""
    _check(pred, target)
    scale = np.sum(pred * target, axis=(-2, -1)) / np.maximum(
        np.sum(pred * pred, axis=(-2, -1)), 1e-12
    )
    return mpjpe(scale[..., None, None] * pred, target)


def p_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after the best similarity transform (rotation, scale, translation): protocol 2."""
    _check(pred, target)
    mu_p, mu_t = pred.mean(axis=-2, keepdims=True), target.mean(axis=-2, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    norm_p = np.maximum(np.linalg.norm(p, axis=(-2, -1), keepdims=True), 1e-12)
    norm_t = np.maximum(np.linalg.norm(t, axis=(-2, -1), keepdims=True), 1e-12)
    p, t = p / norm_p, t / norm_t
    u, s, vt = np.linalg.svd(np.swapaxes(t, -1, -2) @ p)  # (..., 3, 3), maximise tr(R^T t^T p)
    # Keep R a proper rotation: flip the weakest axis when the best orthogonal map is a reflection.
    sign = np.sign(np.linalg.det(u @ vt))
    d = np.ones_like(s)
    d[..., -1] = sign
    rotation = (u * d[..., None, :]) @ vt  # maps p onto t: t ~ p @ rotation^T
    scale = np.sum(s * d, axis=-1)[..., None, None] * norm_t / norm_p
    aligned = scale * (pred - mu_p) @ np.swapaxes(rotation, -1, -2) + mu_t
    return mpjpe(aligned, target)


def mpjve(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean per-joint velocity error over a sequence ``(T, J, 3)``: one value per frame step, ``(T-1,)``."""
    _check(pred, target)
    return mpjpe(np.diff(pred, axis=-3), np.diff(target, axis=-3))
