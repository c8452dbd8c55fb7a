"""Weights and what using them needs: shipped safetensors files inside the package, each carrying
its architecture (``model_config``) and a :class:`PretrainedConfig` (layout, codec, frame rate,
input channels, 2D sources, training data and its licence).

``load_pretrained("posemoe-t27-s-h36m")`` needs no network; it also reads a training checkpoint
(``.pt``, :func:`load_checkpoint`), so that running one needs nothing of training. Files are validated against their
config before anything large is allocated. torch is imported by the functions that build models
only: :class:`PretrainedConfig` and the names of shipped weights are read without it (the ONNX
runtime, :mod:`posemoe.inference.runtime`, uses them).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posemoe.errors import UserError
from posemoe.weights import DEFAULT_WEIGHTS, WEIGHTS_DIR

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class PretrainedConfig:
    """How a set of weights must be fed. Files written before these were recorded load with these
    defaults, which are what every such file was trained with (Human3.6M, 50 fps, screen codec)."""

    layout: str = "h36m17"  # joint layout of the input keypoints and the output joints
    codec: str = "screen"  # keypoint normalisation (posemoe.codecs.CODECS), "crop" for image models
    fps: float | None = 50.0  # frame rate the model's windows were trained at (None: single images)
    in_channels: int = 2
    sources: tuple[str, ...] = ("gt",)  # 2D sources seen in training
    training_data: str = "Human3.6M S1 S5 S6 S7"
    licence: str = "weights trained on Human3.6M: non-commercial research only"
    description: str = ""

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> PretrainedConfig:
        known = {f.name for f in fields(cls)}
        values = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in (values or {}).items()
            if k in known
        }
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Limits on what a weights file may declare: a hostile 20 MB file must not make us allocate gigabytes.
_MAX_PARAMETERS = 500_000_000
_MAX_FIELD = {
    "dim": 4096,
    "num_frames": 4096,
    "num_joints": 256,
    "in_channels": 8,
    "expert_hidden": 65536,
    "num_experts": 256,
    "encoder_layers": 128,
    "decoder_layers": 128,
    "heads": 256,
    "image_size": 2048,
    "head_width": 4096,
}


def _checked_config(values: object, where: str):
    from posemoe.models.registry import config_from_dict

    if not isinstance(values, dict):
        raise UserError(f"{where}: model config must be a mapping, got {type(values).__name__}")
    for key, limit in _MAX_FIELD.items():
        value = values.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= limit
        ):
            raise UserError(
                f"{where}: model config {key}={value!r} is not an integer in 1..{limit}"
            )
    widths = values.get("widths")
    if widths is not None and (
        not isinstance(widths, (list, tuple))
        or not all(isinstance(w, int) and 0 < w <= 4096 for w in widths)
    ):
        raise UserError(f"{where}: model config widths={widths!r} must be integers in 1..4096")
    try:
        return config_from_dict(values)
    except (TypeError, ValueError) as err:
        raise UserError(
            f"{where}: model config does not describe a posemoe model ({err})"
        ) from None


def check_size(cfg, where: str) -> None:
    """Refuse a configuration over the size limits before anything is allocated (meta device)."""
    import torch

    from posemoe.models.registry import build_model

    _checked_config(cfg.to_dict(), where)
    with torch.device("meta"):
        params = sum(p.numel() for p in build_model(cfg).parameters())
    if params > _MAX_PARAMETERS:
        raise UserError(
            f"{where}: the config declares a model of {params:,} parameters (limit {_MAX_PARAMETERS:,})"
        )


def build_checked(config: object, tensors: dict[str, torch.Tensor], where: str) -> nn.Module:
    """Build the model ``config`` describes and load ``tensors`` into it (eval mode, float32),
    checking sizes, keys and shapes on the meta device before allocating anything."""
    import torch

    from posemoe.models.registry import build_model, get_config, list_models

    cfg = _checked_config(config, where)
    if not isinstance(tensors, dict):
        raise UserError(
            f"{where}: the weights must be a mapping of names to tensors, got {type(tensors).__name__}"
        )
    odd = sorted(str(k) for k, v in tensors.items() if not isinstance(v, torch.Tensor))
    if odd:
        raise UserError(f"{where}: values of {odd[:5]} are not tensors")
    # a named config's size is known: build it at once (the meta device's first use costs a second)
    named = any(get_config(name) == cfg for name in list_models())
    try:
        with torch.device("cpu" if named else "meta"):
            skeleton = build_model(cfg)
    except (ValueError, AssertionError) as err:
        raise UserError(f"{where}: the model config cannot be built ({err})") from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    if sum(int(torch.Size(s).numel()) for s in expected.values()) > _MAX_PARAMETERS:
        raise UserError(f"{where}: the config declares a model over {_MAX_PARAMETERS:,} parameters")
    missing, unknown = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    wrong = [
        f"{k} {tuple(tensors[k].shape)} (expected {expected[k]})"
        for k in expected
        if k in tensors and tuple(tensors[k].shape) != expected[k]
    ]
    if missing or unknown or wrong:
        parts = [
            f"missing {missing[:5]}" if missing else "",
            f"unexpected {unknown[:5]}" if unknown else "",
            f"wrong shapes {wrong[:3]}" if wrong else "",
        ]
        raise UserError(
            f"{where}: the tensors do not fit the model config: " + "; ".join(p for p in parts if p)
        )
    broken = [
        k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()
    ]
    if broken:
        raise UserError(
            f"{where}: {len(broken)} tensor(s) hold NaN or infinity (first: {broken[0]}); "
            "the weights are damaged (a training run that diverged?)"
        )
    model = skeleton if named else build_model(cfg)
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    )
    return model.eval()


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """-> (tensors, metadata) of a safetensors file, with a clear error when it is not one."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types
        raise UserError(f"{path}: not a readable safetensors file ({err})") from None
    return tensors, meta


def _json_field(meta: dict[str, str], key: str, path: Path) -> Any:
    try:
        return json.loads(meta[key]) if key in meta else None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: metadata {key!r} is not valid JSON ({err})") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A training checkpoint (``.pt``, read with ``weights_only``) -> its payload, which holds at least
    ``model_config`` and ``model`` (the tensors)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with (
            warnings.catch_warnings()
        ):  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        first = (str(err).splitlines() or [""])[0]
        raise UserError(
            f"{path}: not a readable posemoe checkpoint ({type(err).__name__}: {first})"
        ) from None
    if not isinstance(payload, dict):
        raise UserError(f"{path}: not a posemoe checkpoint (holds a {type(payload).__name__})")
    for key in ("model_config", "model"):
        if key not in payload:
            raise UserError(f"{path}: checkpoint lacks {key!r}; was it written by posemoe?")
    return payload


def load_weights(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, PretrainedConfig]:
    """A ``.safetensors`` file written by ``posemoe export`` -> (model in eval mode, its pretrained config)."""
    path = Path(path)
    tensors, meta = read_safetensors(path)
    config = _json_field(meta, "model_config", path)
    if config is None:
        raise UserError(
            f"{path}: no model_config in its metadata; was it written by posemoe export?"
        )
    model = build_checked(config, tensors, str(path))
    return model.to(map_location), PretrainedConfig.from_dict(
        _json_field(meta, "pretrained_config", path)
    )


def available() -> list[str]:
    """Names of the weights shipped with this installation."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))


def available_onnx() -> list[str]:
    """Names of the shipped weights that also ship as ONNX (``<name>.onnx``, run without torch)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.onnx"))


def default_weights(model_name: str) -> str:
    """The shipped weights of a registered architecture (:data:`DEFAULT_WEIGHTS`, else the first
    file that records this ``model_name``)."""
    from safetensors import safe_open

    if DEFAULT_WEIGHTS.get(model_name) in available():
        return DEFAULT_WEIGHTS[model_name]
    for name in available():
        with safe_open(str(WEIGHTS_DIR / f"{name}.safetensors"), framework="numpy") as f:
            if (f.metadata() or {}).get("model_name") == model_name:
                return name
    raise UserError(
        f"no shipped weights for {model_name}; shipped: {', '.join(available()) or 'none'}"
    )


def resolve(name_or_path: str | Path) -> Path:
    """Shipped weights by name, or a file path, -> the file (``.safetensors`` for shipped names)."""
    path = Path(name_or_path)
    if path.suffix in (".pt", ".safetensors", ".onnx"):
        return path
    shipped = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if not shipped.is_file():
        raise UserError(
            f"no shipped weights named {str(name_or_path)!r}; available: {', '.join(available()) or 'none'} "
            "(or give a .safetensors / .pt / .onnx file)"
        )
    return shipped


def load_pretrained(
    name_or_path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, PretrainedConfig]:
    """Shipped weights by name, or a ``.safetensors`` / ``.pt`` file -> (model, pretrained config)."""
    path = resolve(name_or_path)
    if path.suffix == ".onnx":
        raise UserError(
            f"{path}: an ONNX model runs on ONNX Runtime, not torch: load it with posemoe.load(path), or "
            "give its .safetensors / .pt file here"
        )
    if path.suffix == ".pt":
        payload = load_checkpoint(path, map_location)
        model = build_checked(payload["model_config"], payload["model"], str(path)).to(map_location)
        return model, PretrainedConfig.from_dict(payload.get("pretrained_config"))
    return load_weights(path, map_location)


def load_model(name_or_path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Shipped weights by name, or a ``.safetensors`` / ``.pt`` checkpoint file by path (eval mode)."""
    return load_pretrained(name_or_path, map_location)[0]
