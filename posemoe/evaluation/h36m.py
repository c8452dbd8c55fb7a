"""Evaluation under the Human3.6M protocols: MPJPE (P1), P-MPJPE (P2), N-MPJPE, MPJVE in mm.

Errors are reported frame-weighted (every camera-frame counts once) and as the mean of the
per-action means, actions grouped as VideoPose3D groups them ('Walking 1' with 'Walking').
A frame that is not scored (not predicted, or predicted as NaN / inf) is counted in the report's
``extra["left_out"]`` under its reason, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from posemoe.codecs import dataset_encoding, match_channels
from posemoe.datasets.sequences import PoseSequences
from posemoe.errors import UserError
from posemoe.evaluation.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe
from posemoe.evaluation.report import METRICS, EvaluationReport
from posemoe.inference.windows import predict_windows, sequence_windows


def evaluation_windows(
    data: PoseSequences, num_frames: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~posemoe.inference.windows.sequence_windows` of every sequence of ``data``, stacked:
    row indices and blending weights, each ``(W, T)``."""
    parts = [sequence_windows(seq.start, seq.length, num_frames, stride) for seq in data.sequences]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def predict(
    model: nn.Module,
    data: PoseSequences,
    *,
    flip: bool = True,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    max_windows: int | None = None,
    shard: tuple[int, int] = (0, 1),
    stride: int | None = None,
    codec: str = "screen",
    quiet: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over every frame of ``data``.

    Returns predictions ``(N, J, 3)`` (metres, camera frame, root-relative; NaN where a frame
    was not predicted because ``max_windows`` thinned the windows) and the mask of predicted frames
    (those the windows covered, whatever the model made of them).
    ``shard = (k, n)`` predicts only every n-th sequence from the k-th (for n processes to share);
    ``stride`` spaces the windows (default half a window, blended; ``T`` for end to end).
    ``data`` holds keypoints normalised with ``data.codec``: the model's ``codec``, or for a model
    trained with the person codec (which any uniform scale and shift leaves alike), either.
    ``quiet=False`` shows a progress bar of the windows.
    """
    loaded, encode = dataset_encoding(codec)
    if data.codec != loaded:
        raise UserError(
            f"the model reads {codec}-codec keypoints but the data holds {data.codec}-codec ones: "
            f"load it with codec={loaded!r}"
        )
    shared = replace(data, sequences=data.sequences[shard[0] :: shard[1]])
    windows, weights = evaluation_windows(shared, model.config.num_frames, stride)
    if max_windows is not None and len(windows) > max_windows:
        keep = np.linspace(0, len(windows) - 1, max_windows).round().astype(int)
        windows, weights = windows[keep], weights[keep]
    keypoints = match_channels(data.keypoints, model.config.in_channels)
    out = predict_windows(
        model,
        keypoints,
        windows,
        weights,
        flip=flip,
        batch_size=batch_size,
        device=device,
        layout=data.layout,
        encode=encode,
        progress=not quiet,
    )
    covered = np.zeros(len(out), bool)
    covered[windows[weights > 0]] = True
    return out, covered


def evaluate_predictions(
    pred: np.ndarray, data: PoseSequences, *, flip: bool, mask: np.ndarray | None = None
) -> EvaluationReport:
    """Score packed predictions ``(N, J, 3)`` metres against ``data.poses``: the frames of ``mask``
    (default all) whose prediction is finite. The others are counted by reason in ``extra["left_out"]``."""
    predicted = np.ones(len(pred), bool) if mask is None else np.asarray(mask, bool)
    finite = np.isfinite(pred).all(axis=(1, 2))
    scored = predicted & finite
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for seq in data.sequences:
        sl = slice(seq.start, seq.start + seq.length)
        p, t = pred[sl], data.poses[sl]
        keep = scored[sl]
        if not keep.any():
            continue
        errors = {
            "mpjpe": mpjpe(p[keep], t[keep]),
            "p_mpjpe": p_mpjpe(p[keep], t[keep]),
            "n_mpjpe": n_mpjpe(p[keep], t[keep]),
        }
        steps = keep[1:] & keep[:-1]
        errors["mpjve"] = mpjve(p, t)[steps] if seq.length > 1 else np.zeros(0)
        group_sums = sums.setdefault(seq.action_group, dict.fromkeys(METRICS, 0.0))
        group_counts = counts.setdefault(seq.action_group, dict.fromkeys(METRICS, 0))
        for m, e in errors.items():
            group_sums[m] += float(np.sum(e)) * 1000.0
            group_counts[m] += len(e)
    in_data = np.zeros(len(pred), bool)
    for seq in data.sequences:
        in_data[seq.start : seq.start + seq.length] = True
    left_out = {
        reason: int(n)
        for reason, n in (
            (
                "not predicted (windows thinned by max_windows, or another shard's)",
                (in_data & ~predicted).sum(),
            ),
            ("prediction not finite (NaN or inf)", (in_data & predicted & ~finite).sum()),
        )
        if n
    }
    if not sums:
        detail = "; ".join(f"{n} frame(s) {reason}" for reason, n in left_out.items())
        raise UserError(
            f"nothing to evaluate: no frame has a finite prediction ({detail or 'no frames'})"
        )
    per_action = {a: {m: sums[a][m] / max(counts[a][m], 1) for m in METRICS} for a in sums}
    frame_weighted = {
        m: sum(s[m] for s in sums.values()) / max(sum(c[m] for c in counts.values()), 1)
        for m in METRICS
    }
    action_mean = {m: float(np.mean([v[m] for v in per_action.values()])) for m in METRICS}
    return EvaluationReport(
        frame_weighted=frame_weighted,
        action_mean=action_mean,
        per_action=per_action,
        frames=sum(c["mpjpe"] for c in counts.values()),
        source=data.source,
        subjects=sorted({s.subject for s in data.sequences}),
        flip=flip,
        extra={"left_out": left_out} if left_out else {},
    )


def evaluate(
    model: nn.Module,
    data: PoseSequences,
    *,
    flip: bool = True,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    max_windows: int | None = None,
    stride: int | None = None,
    codec: str = "screen",
    quiet: bool = True,
) -> EvaluationReport:
    pred, mask = predict(
        model,
        data,
        flip=flip,
        batch_size=batch_size,
        device=device,
        max_windows=max_windows,
        stride=stride,
        codec=codec,
        quiet=quiet,
    )
    return evaluate_predictions(pred, data, flip=flip, mask=mask)
