"""Evaluation of image models on an :class:`~posemoe.datasets.images.ImageSet` of crops."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from posemoe.datasets.images import ImageSet
from posemoe.evaluation.h36m import evaluate_predictions
from posemoe.evaluation.report import EvaluationReport
from posemoe.inference.images import predict_images


def evaluate_images(
    model: nn.Module,
    images: ImageSet,
    *,
    flip: bool = True,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> EvaluationReport:
    """3D models: the usual metrics per action (MPJVE is left out: crops are not consecutive frames).
    2D models: ``frame_weighted`` holds ``keypoint_error`` (mean distance over labelled joints,
    in % of the crop side) and ``pck10`` (% of labelled joints within 10% of the crop side)."""
    pred, _ = predict_images(model, images.images, flip=flip, batch_size=batch_size, device=device)
    return score_images(pred, images, out_dims=model.config.out_dims, flip=flip)


def score_images(
    pred: np.ndarray, images: ImageSet, *, out_dims: int, flip: bool
) -> EvaluationReport:
    """Score predictions (N, J, D) of every crop of ``images`` (see :func:`evaluate_images`)."""
    labels = images.labels
    if out_dims == 3:
        report = evaluate_predictions(pred, labels, flip=flip)
        for values in (report.frame_weighted, report.action_mean, *report.per_action.values()):
            values["mpjve"] = float("nan")
        return report
    target = labels.keypoints
    visible = target[..., 2] > 0 if target.shape[-1] == 3 else np.ones(target.shape[:2], bool)
    error = np.linalg.norm(pred - target[..., :2], axis=-1)[visible] / 2 * 100  # crop spans 2 units
    values = {"keypoint_error": float(error.mean()), "pck10": float((error < 10).mean() * 100)}
    return EvaluationReport(
        frame_weighted=values,
        action_mean=values,
        per_action={},
        frames=len(pred),
        source=labels.source,
        subjects=sorted({s.subject for s in labels.sequences}),
        flip=flip,
    )
