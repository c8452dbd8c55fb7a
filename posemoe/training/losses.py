"""Training losses on ``(B, T, J, 3)`` poses, metres."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def mpjpe_loss(pred: Tensor, target: Tensor) -> Tensor:
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def n_mpjpe_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE after the per-pose least-squares scale of ``pred`` onto ``target``."""
    scale = (pred * target).sum(dim=(-2, -1), keepdim=True) / (pred * pred).sum(
        dim=(-2, -1), keepdim=True
    ).clamp_min(1e-8)
    return mpjpe_loss(scale * pred, target)


def velocity_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE of the frame-to-frame differences (temporal consistency)."""
    return mpjpe_loss(pred.diff(dim=1), target.diff(dim=1))


@dataclass(frozen=True)
class LossWeights:
    mpjpe: float = 1.0
    n_mpjpe: float = 0.5
    velocity: float = 1.0
    balance: float = 0.01


def lifting_loss(
    pred: Tensor, target: Tensor, balance: Tensor, weights: LossWeights
) -> tuple[Tensor, dict[str, float]]:
    """Weighted sum of the lifting losses; also returns each term for logging."""
    terms = {
        "mpjpe": mpjpe_loss(pred, target),
        "n_mpjpe": n_mpjpe_loss(pred, target),
        "velocity": velocity_loss(pred, target) if pred.shape[1] > 1 else pred.new_zeros(()),
        "balance": balance,
    }
    total = sum(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: float(value.detach()) for name, value in terms.items()}


def keypoint_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean 2D distance over labelled joints: pred (B, J, 2); target (B, J, 2), or (B, J, 3) with visibility."""
    if target.shape[-1] == 3:
        visible = target[..., 2]
        error = torch.linalg.vector_norm(pred - target[..., :2], dim=-1)
        return (error * visible).sum() / visible.sum().clamp_min(1.0)
    return mpjpe_loss(pred, target)
