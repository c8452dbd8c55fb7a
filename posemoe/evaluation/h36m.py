"""Evaluation under the Human3.6M protocols: MPJPE (P1), P-MPJPE (P2), N-MPJPE, MPJVE in mm.

Errors are reported frame-weighted (every camera-frame counts once) and as the mean of the
per-action means, actions grouped as VideoPose3D groups them ('Walking 1' with 'Walking').
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from posemoe.codecs import flip_horizontal, match_channels
from posemoe.datasets.images import ImageSet, images_to_tensor_layout
from posemoe.datasets.sequences import PoseSequences
from posemoe.evaluation.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe
from posemoe.inference.windows import predict_windows, sequence_windows
from posemoe.layouts import get_layout

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


def evaluation_windows(data: PoseSequences, num_frames: int) -> np.ndarray:
    """:func:`sequence_windows` of every sequence of ``data``, stacked: ``(W, T)``."""
    return np.concatenate([sequence_windows(seq.start, seq.length, num_frames) for seq in data.sequences])


def predict(model: nn.Module, data: PoseSequences, *, flip: bool = True, batch_size: int = 64,
            device: str | torch.device = "cpu", max_windows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over every frame of ``data``.

    Returns predictions ``(N, J, 3)`` (metres, camera frame, root-relative; NaN where a frame
    was not predicted because ``max_windows`` thinned the windows) and the mask of predicted frames.
    """
    windows = evaluation_windows(data, model.config.num_frames)
    if max_windows is not None and len(windows) > max_windows:
        windows = windows[np.linspace(0, len(windows) - 1, max_windows).round().astype(int)]
    keypoints = match_channels(data.keypoints, model.config.in_channels)
    out = predict_windows(model, keypoints, windows, flip=flip, batch_size=batch_size, device=device, layout=data.layout)
    return out, ~np.isnan(out[:, 0, 0])


@dataclass
class EvaluationReport:
    """Errors in millimetres; ``per_action`` maps action group -> metric -> mm."""

    frame_weighted: dict[str, float]
    action_mean: dict[str, float]
    per_action: dict[str, dict[str, float]]
    frames: int
    source: str
    subjects: list[str]
    flip: bool
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def to_markdown(self) -> str:
        if "mpjpe" not in self.frame_weighted:  # a 2D model's report
            return "\n".join([f"{self.source}, {self.frames} crops, test-time flip {'on' if self.flip else 'off'}", "",
                               *(f"- {k}: {v:.2f}" for k, v in self.frame_weighted.items())])
        head = "| action | " + " | ".join(f"{m} (mm)" for m in METRICS) + " |"
        rule = "|---|" + "---:|" * len(METRICS)
        rows = [f"| {a} | " + " | ".join(f"{v[m]:.1f}" for m in METRICS) + " |" for a, v in sorted(self.per_action.items())]
        rows.append("| **mean of actions** | " + " | ".join(f"**{self.action_mean[m]:.1f}**" for m in METRICS) + " |")
        rows.append("| **all frames** | " + " | ".join(f"**{self.frame_weighted[m]:.1f}**" for m in METRICS) + " |")
        info = (f"2D source `{self.source}`, subjects {', '.join(self.subjects)}, {self.frames} frames "
                f"(all cameras), test-time flip {'on' if self.flip else 'off'}")
        return "\n".join([info, "", head, rule, *rows])


def evaluate_predictions(pred: np.ndarray, data: PoseSequences, *, flip: bool, mask: np.ndarray | None = None) -> EvaluationReport:
    """Score packed predictions ``(N, J, 3)`` metres against ``data.poses``."""
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for seq in data.sequences:
        sl = slice(seq.start, seq.start + seq.length)
        p, t = pred[sl], data.poses[sl]
        keep = np.ones(seq.length, bool) if mask is None else mask[sl]
        if not keep.any():
            continue
        errors = {"mpjpe": mpjpe(p[keep], t[keep]), "p_mpjpe": p_mpjpe(p[keep], t[keep]),
                  "n_mpjpe": n_mpjpe(p[keep], t[keep])}
        steps = keep[1:] & keep[:-1]
        errors["mpjve"] = mpjve(p, t)[steps] if seq.length > 1 else np.zeros(0)
        group_sums = sums.setdefault(seq.action_group, dict.fromkeys(METRICS, 0.0))
        group_counts = counts.setdefault(seq.action_group, dict.fromkeys(METRICS, 0))
        for m, e in errors.items():
            group_sums[m] += float(np.sum(e)) * 1000.0
            group_counts[m] += len(e)
    if not sums:
        raise ValueError("nothing to evaluate: no predicted frames")
    per_action = {a: {m: sums[a][m] / max(counts[a][m], 1) for m in METRICS} for a in sums}
    frame_weighted = {m: sum(s[m] for s in sums.values()) / max(sum(c[m] for c in counts.values()), 1) for m in METRICS}
    action_mean = {m: float(np.mean([v[m] for v in per_action.values()])) for m in METRICS}
    return EvaluationReport(
        frame_weighted=frame_weighted, action_mean=action_mean, per_action=per_action,
        frames=sum(c["mpjpe"] for c in counts.values()), source=data.source,
        subjects=sorted({s.subject for s in data.sequences}), flip=flip,
    )


def evaluate(model: nn.Module, data: PoseSequences, *, flip: bool = True, batch_size: int = 64,
             device: str | torch.device = "cpu", max_windows: int | None = None) -> EvaluationReport:
    pred, mask = predict(model, data, flip=flip, batch_size=batch_size, device=device, max_windows=max_windows)
    return evaluate_predictions(pred, data, flip=flip, mask=mask)


@torch.no_grad()
def predict_images(model: nn.Module, crops: np.ndarray, *, flip: bool = True, batch_size: int = 64,
                   device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Run an image model over crops (N, S, S, 3) uint8 -> pose (N, J, D), flip-averaged if
    ``flip``, and confidence (N, J) of the unflipped crops."""
    model.eval()
    perm = get_layout(model.config.layout).flip_permutation()
    poses, confidences = [], []
    for i in range(0, len(crops), batch_size):
        x = torch.from_numpy(images_to_tensor_layout(crops[i:i + batch_size])).to(device)
        y, confidence = (t.float().cpu().numpy() for t in model(x, with_confidence=True))
        if flip:
            y = (y + flip_horizontal(model(x.flip(-1)).float().cpu().numpy(), perm)) / 2
        poses.append(y)
        confidences.append(confidence)
    return np.concatenate(poses), np.concatenate(confidences)


def evaluate_images(model: nn.Module, images: ImageSet, *, flip: bool = True, batch_size: int = 64,
                    device: str | torch.device = "cpu") -> EvaluationReport:
    """3D models: the usual metrics per action (MPJVE is left out: crops are not consecutive frames).
    2D models: ``frame_weighted`` holds ``keypoint_error`` (mean distance over labelled joints,
    in % of the crop side) and ``pck10`` (% of labelled joints within 10% of the crop side)."""
    pred, _ = predict_images(model, images.images, flip=flip, batch_size=batch_size, device=device)
    labels = images.labels
    if model.config.out_dims == 3:
        report = evaluate_predictions(pred, labels, flip=flip)
        for values in (report.frame_weighted, report.action_mean, *report.per_action.values()):
            values["mpjve"] = float("nan")
        return report
    target = labels.keypoints
    visible = target[..., 2] > 0 if target.shape[-1] == 3 else np.ones(target.shape[:2], bool)
    error = np.linalg.norm(pred - target[..., :2], axis=-1)[visible] / 2 * 100  # crop spans 2 units
    values = {"keypoint_error": float(error.mean()), "pck10": float((error < 10).mean() * 100)}
    return EvaluationReport(frame_weighted=values, action_mean=values, per_action={}, frames=len(pred),
                            source=labels.source, subjects=sorted({s.subject for s in labels.sequences}), flip=flip)
