"""The 2D and depth streams of a PoseMoE lifter, layer by layer, and how much they depend on each
other (the paper's claim: apart through the encoder, brought together by the decoder).

Forward hooks (the model's forward is untouched) keep, for every window, the centre frame's
features after each encoder layer and each decoder block:

- ``PoseMoE``: the 2D-expert stream and the depth-expert stream, each (W, J, D), compared
  directly (a sample is one window's centre frame, its J x D features);
- both models, also the **read-out**: the model's own head applied to that layer's features
  (for ``PoseMoE`` to both streams side by side, as it reads its last layer), split into the
  2D part (x, y of every joint) and the depth part (z). The entangled ablation carries 2D and
  depth in one stream, so there are no two streams to compare; what can be compared is what its
  own head would read from each layer as 2D and as depth. For layers before the last this is a
  "lens" reading: the residual connections keep every layer in the head's coordinates, but the
  head was trained on the last layer only.

Dependence is measured by :mod:`posemoe.analysis.dependence`: mutual information of the
features' leading principal components (``dims`` per side; a lower bound of the full features'),
with its spread over random halves of the samples, and linear CKA of the full features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posemoe.analysis.dependence import ESTIMATORS, linear_cka, principal_components, with_spread
from posemoe.codecs import dataset_encoding, match_channels
from posemoe.datasets.sequences import PoseSequences
from posemoe.errors import UserError
from posemoe.evaluation.h36m import evaluation_windows
from posemoe.models.posemoe import EntangledPoseMoE, PoseMoE


@dataclass
class StreamFeatures:
    """Centre-frame features of W windows, per layer (``layers`` in the model's order)."""

    layers: list[str]
    stages: list[str]  # "encoder" or "decoder", per layer
    pose: dict[str, np.ndarray] = field(default_factory=dict)  # 2D stream (W, J, D); PoseMoE only
    depth: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # depth stream (W, J, D); PoseMoE only
    readout: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # head read-out (W, J, 3), root-relative


def is_stream_model(model: nn.Module) -> bool:
    """Whether :func:`collect_features` reads ``model`` (a PoseMoE lifter, either variant)."""
    return isinstance(model, (PoseMoE, EntangledPoseMoE))


def _hooked_layers(model: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """(name, stage, module) of every layer whose output is kept, in forward order."""
    if isinstance(model, PoseMoE):
        encoder = [
            (f"encoder {i + 1}", "encoder", (p, d))
            for i, (p, d) in enumerate(zip(model.pose_encoder, model.depth_encoder))
        ]
        decoder = [(f"decoder {i + 1}", "decoder", layer) for i, layer in enumerate(model.decoder)]
        return encoder + decoder
    if isinstance(model, EntangledPoseMoE):
        return [(f"encoder {i + 1}", "encoder", layer) for i, layer in enumerate(model.encoder)] + [
            (f"decoder {i + 1}", "decoder", layer) for i, layer in enumerate(model.decoder)
        ]
    raise UserError(
        f"the stream analysis reads PoseMoE lifters (posemoe-*, posemoe-entangled-*), "
        f"not {type(model).__name__}"
    )


@torch.no_grad()
def collect_features(
    model: nn.Module,
    windows: np.ndarray,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> StreamFeatures:
    """Run ``model`` on ``windows`` (W, T, J, C), normalised as the model reads them, and keep the
    centre frame's features after every encoder layer and decoder block (see the module's notes)."""
    layers = _hooked_layers(model)
    cfg = model.config
    if windows.ndim != 4 or windows.shape[1:] != (cfg.num_frames, cfg.num_joints, cfg.in_channels):
        raise UserError(
            f"expected windows of shape (W, {cfg.num_frames}, {cfg.num_joints}, {cfg.in_channels}), "
            f"got {tuple(windows.shape)}"
        )
    centre = cfg.num_frames // 2
    kept: dict[str, list[list[torch.Tensor]]] = {name: [] for name, _, _ in layers}
    handles, training = [], model.training
    model.eval()
    try:
        for name, _, module in layers:
            if isinstance(module, tuple):  # a PoseMoE encoder layer: one module per stream
                handles += [
                    m.register_forward_hook(_stream_hook(kept, name, i, centre))
                    for i, m in enumerate(module)
                ]
            elif isinstance(model, PoseMoE):  # an aggregation layer returns (pose, depth)
                handles.append(module.register_forward_hook(_pair_hook(kept, name, centre)))
            else:
                handles.append(module.register_forward_hook(_stream_hook(kept, name, 0, centre)))
        for start in range(0, len(windows), batch_size):
            model(
                torch.from_numpy(
                    np.ascontiguousarray(windows[start : start + batch_size], np.float32)
                ).to(device)
            )
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
    return _features(model, layers, kept, device)


def _slots(kept: dict, name: str, count: int) -> list[list[torch.Tensor]]:
    while len(kept[name]) < count:
        kept[name].append([])
    return kept[name]


def _stream_hook(kept: dict, name: str, stream: int, centre: int):
    """Keeps output[0] (a layer returns (features, balance)) as stream ``stream`` of ``name``."""

    def hook(_module, _inputs, output) -> None:
        _slots(kept, name, stream + 1)[stream].append(output[0][:, centre].float().cpu())

    return hook


def _pair_hook(kept: dict, name: str, centre: int):
    """Keeps both outputs of a PoseMoE aggregation layer, (pose, depth)."""

    def hook(_module, _inputs, output) -> None:
        slots = _slots(kept, name, 2)
        slots[0].append(output[0][:, centre].float().cpu())
        slots[1].append(output[1][:, centre].float().cpu())

    return hook


@torch.no_grad()
def _features(model: nn.Module, layers: list, kept: dict, device) -> StreamFeatures:
    out = StreamFeatures([name for name, _, _ in layers], [stage for _, stage, _ in layers])
    head = model.head
    for name in out.layers:
        streams = [torch.cat(parts) for parts in kept[name]]
        if isinstance(model, PoseMoE):
            out.pose[name], out.depth[name] = streams[0].numpy(), streams[1].numpy()
            tokens = torch.cat(streams, dim=-1)
        else:
            tokens = streams[0]
        y = head(tokens.to(device)).float().cpu()
        out.readout[name] = (y - y[:, :1]).numpy()  # root-relative, as the model's output
    return out


@dataclass(frozen=True)
class LayerDependence:
    name: str
    stage: str
    streams: dict | None  # {"mi": Estimate dict, "cka": float} for PoseMoE's two streams, else None
    readout: dict  # the same for the head's 2D and depth read-outs


def _dependence(x: np.ndarray, y: np.ndarray, estimator: str, dims: int, seeds: int) -> dict:
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    mi = with_spread(
        ESTIMATORS[estimator],
        principal_components(x, dims),
        principal_components(y, dims),
        seeds=seeds,
    )
    return {"mi": mi.to_dict(), "cka": linear_cka(x, y)}


def layer_dependence(
    features: StreamFeatures, *, estimator: str = "gaussian-copula", dims: int = 8, seeds: int = 5
) -> list[LayerDependence]:
    """Mutual information (nats) and linear CKA between the two streams and between the head's 2D
    and depth read-outs, for every layer of ``features``."""
    if estimator not in ESTIMATORS:
        raise UserError(f"unknown estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
    out = []
    for name, stage in zip(features.layers, features.stages):
        streams = (
            _dependence(features.pose[name], features.depth[name], estimator, dims, seeds)
            if name in features.pose
            else None
        )
        r = features.readout[name]
        out.append(
            LayerDependence(
                name, stage, streams, _dependence(r[..., :2], r[..., 2], estimator, dims, seeds)
            )
        )
    return out


@dataclass(frozen=True)
class StreamReport:
    """One model's per-layer dependence, with the settings that produced it."""

    model: str
    settings: dict
    layers: list[LayerDependence]

    def to_json(self) -> str:
        """Values in nats; ``std`` is the spread over random halves of the samples."""
        return json.dumps(
            {
                "model": self.model,
                **self.settings,
                "units": "nats",
                "layers": [vars(layer) for layer in self.layers],
            },
            indent=2,
        )


def analysis_windows(
    data: PoseSequences,
    num_frames: int,
    codec: str,
    in_channels: int,
    max_windows: int | None = 3000,
) -> np.ndarray:
    """End-to-end windows (W, T, J, C) over ``data``'s sequences, at most ``max_windows`` of them
    evenly spaced, normalised for a lifter of ``codec`` with ``in_channels``."""
    _, encode = dataset_encoding(codec)
    rows, _ = evaluation_windows(data, num_frames, stride=num_frames)
    if max_windows is not None and len(rows) > max_windows:
        rows = rows[np.linspace(0, len(rows) - 1, max_windows).round().astype(int)]
    windows = match_channels(data.keypoints, in_channels)[rows]
    return windows if encode is None else encode(windows)


def check_samples(windows: int, dims: int) -> None:
    """Refuse fewer than 4 samples a compared dimension and 4 more: each random half of them must
    hold more samples than the two sides' dimensions and one (the estimators' least)."""
    least = 4 * dims + 4
    if windows < least:
        raise UserError(
            f"{windows} windows are too few to compare {dims} + {dims} components "
            f"(at least {least}; more subjects, or a larger --max-windows)"
        )


def stream_report(
    model: nn.Module,
    windows: np.ndarray,
    *,
    label: str,
    estimator: str = "gaussian-copula",
    dims: int = 8,
    seeds: int = 5,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> StreamReport:
    """:func:`collect_features` then :func:`layer_dependence`, with the settings recorded."""
    check_samples(len(windows), dims)
    features = collect_features(model, windows, batch_size=batch_size, device=device)
    settings = {
        "family": type(model).__name__,
        "config": model.config.to_dict(),
        "estimator": estimator,
        "dims": dims,
        "seeds": seeds,
        "samples": len(windows),
        "sample": "the centre frame of each window, all J x D features of a stream",
    }
    return StreamReport(
        label, settings, layer_dependence(features, estimator=estimator, dims=dims, seeds=seeds)
    )


def plot_reports(reports: list[StreamReport], path: str | Path) -> Path:
    """One PNG: mutual information per layer (x: depth through the network, the encoder's end
    marked), the two streams on the left, the head's read-outs on the right; error bars are the
    spread over random halves."""
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "drawing the curves needs matplotlib: pip install 'posemoe[plots]'"
        ) from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    titles = ("2D-expert stream vs depth-expert stream", "head's read-out: 2D (x, y) vs depth (z)")
    for ax, title, part in zip(axes, titles, ("streams", "readout")):
        for report in reports:
            layers = [layer for layer in report.layers if getattr(layer, part) is not None]
            if not layers:
                continue
            n = len(report.layers)
            x = [(report.layers.index(layer) + 1) / n for layer in layers]
            mi = [getattr(layer, part)["mi"] for layer in layers]
            line = ax.errorbar(
                x,
                [m["value"] for m in mi],
                yerr=[m["std"] for m in mi],
                marker="o",
                capsize=3,
                label=report.model,
            )
            encoder = sum(layer.stage == "encoder" for layer in report.layers) / n
            ax.axvline(
                encoder + 0.5 / n,
                color=line.lines[0].get_color(),
                alpha=0.4,
                linestyle="--",
                linewidth=1,
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(
            "depth through the network (layer / layers); dashed: each model's encoder | decoder"
        )
        ax.set_ylabel(f"mutual information (nats, {reports[0].settings['estimator']})")
        ax.set_xlim(0, 1.05)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no two-stream model given", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
