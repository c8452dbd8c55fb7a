"""Checkpoints that carry their model configuration, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posemoe.models import build_model, config_from_dict


def save_atomic(payload: dict[str, Any], path: str | Path) -> None:
    """Write with ``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a readable posemoe checkpoint ({type(err).__name__}: {err})") from None
    for key in ("model_config", "model"):
        if key not in payload:
            raise ValueError(f"{path}: checkpoint lacks {key!r}; was it written by posemoe?")
    return payload


def model_from_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    payload = load_checkpoint(path, map_location)
    model = build_model(config_from_dict(payload["model_config"]))
    model.load_state_dict(payload["model"])
    return model.eval()
