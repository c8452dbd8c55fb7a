"""Shipped weights: safetensors files inside the package, each carrying its model config.

``load("posemoe-t27-s-h36m")`` needs no network. ``export_weights`` turns a training checkpoint
into such a file (plain network only: AITE modules and optimiser state are left out).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from posemoe.models import build_model, config_from_dict
from posemoe.training.checkpoint import load_checkpoint

WEIGHTS_DIR = Path(__file__).parents[1] / "weights"


def available() -> list[str]:
    """Names of the weights shipped with this installation."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))


def export_weights(checkpoint: str | Path, out: str | Path, *, description: str = "", half: bool = False) -> Path:
    """Write a checkpoint's plain network as safetensors; ``half`` stores float16 (loaded back as float32)."""
    from safetensors.torch import save_file

    payload = load_checkpoint(checkpoint)
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in payload["model"].items()}
    meta = {"model_config": json.dumps(payload["model_config"]), "model_name": str(payload.get("model_name", "")),
            "description": description}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=meta)
    return out


def load_weights(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """A model from a safetensors file written by :func:`export_weights` (eval mode, float32)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(f"{path}: not a readable safetensors file ({err})") from None
    if "model_config" not in meta:
        raise ValueError(f"{path}: no model_config in its metadata; was it written by posemoe export?")
    model = build_model(config_from_dict(json.loads(meta["model_config"])))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return model.eval().to(map_location)


def load_model(name_or_path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Shipped weights by name, or a ``.safetensors`` / ``.pt`` checkpoint file by path."""
    from posemoe.training.checkpoint import model_from_checkpoint

    path = Path(name_or_path)
    if path.suffix == ".pt":
        return model_from_checkpoint(path, map_location)
    if path.suffix == ".safetensors":
        return load_weights(path, map_location)
    shipped = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if not shipped.is_file():
        raise ValueError(f"no shipped weights named {str(name_or_path)!r}; available: {', '.join(available()) or 'none'} "
                         "(or give a .safetensors / .pt file)")
    return load_weights(shipped, map_location)
