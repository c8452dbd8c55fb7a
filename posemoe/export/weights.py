"""Weights out: a training checkpoint's plain network as safetensors, with its architecture and
:class:`~posemoe.models.pretrained.PretrainedConfig` in the metadata (AITE modules and optimiser
state are left out)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import warnings
from pathlib import Path

from posemoe.errors import UserError
from posemoe.io.temporaries import replacing_stale
from posemoe.models.pretrained import PretrainedConfig, build_checked


def export_weights(
    checkpoint: str | Path,
    out: str | Path,
    *,
    description: str = "",
    half: bool = False,
    pretrained: PretrainedConfig | None = None,
    average_with: str | Path | None = None,
    weight: float = 0.5,
    raw: bool = False,
) -> Path:
    """Write ``checkpoint`` (.pt) as ``out`` (.safetensors); ``half`` stores float16 (loaded back as
    float32). ``average_with`` (weights of the same architecture, e.g. those a fine-tune started
    from) writes ``(1 - weight) * checkpoint + weight * those``, tensor by tensor: a weight average
    keeps much of what each learned. ``raw`` takes a run's trained weights rather than their moving
    average (runs with ``ema_decay`` keep both). The file is validated before it is written and
    renamed into place whole."""
    from safetensors.torch import save_file

    from posemoe.models.pretrained import load_checkpoint

    if Path(checkpoint).suffix == ".safetensors":
        raise UserError(
            f"{checkpoint}: already exported weights; export takes a training checkpoint (.pt: a run's "
            "last.pt or best.pt)"
        )
    payload = load_checkpoint(checkpoint)
    if raw:
        if "train_model" not in payload:
            raise UserError(
                f"{checkpoint}: holds one set of weights (its run kept no moving average); "
                "drop --raw-weights"
            )
        payload["model"] = payload["train_model"]
    build_checked(
        payload["model_config"], payload["model"], str(checkpoint)
    )  # refuse what could not load
    if average_with is not None:
        payload["model"] = _averaged(payload, average_with, weight)
        description = (
            description
            or f"{Path(checkpoint).name} averaged with {Path(str(average_with)).name}, "
            f"{1 - weight:g}:{weight:g}"
        )
    pretrained = pretrained or _pretrained_of(payload)
    if description:
        pretrained = PretrainedConfig.from_dict(pretrained.to_dict() | {"description": description})
    tensors = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous()
        for k, v in payload["model"].items()
    }
    meta = {
        "model_config": json.dumps(payload["model_config"]),
        "model_name": str(payload.get("model_name", "")),
        "pretrained_config": json.dumps(pretrained.to_dict()),
        "description": description,
    }
    out = Path(out)
    if out.suffix != ".safetensors":
        raise UserError(f"{out}: weights are written as .safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = replacing_stale(out)
    try:
        save_file(tensors, str(tmp), metadata=meta)
    except Exception as err:  # safetensors reports a full disk with its own error type
        tmp.unlink(missing_ok=True)
        if shutil.disk_usage(out.parent).free < 1 << 20:
            raise OSError(errno.ENOSPC, "no space left on the device", str(out)) from None
        raise UserError(f"{out}: could not write the weights ({err})") from None
    os.replace(tmp, out)
    return out


def _averaged(payload: dict, other: str | Path, weight: float) -> dict:
    """The checkpoint's tensors averaged with those of ``other`` (shipped name or file). Weights
    trained with another keypoint codec are averaged with a warning: the result reads the
    checkpoint's codec, which suits only codecs that give close numbers on the data that matters
    (screen and camera do on Human3.6M's cameras, see :data:`posemoe.codecs.RAY_SCALE`)."""
    from posemoe.models.pretrained import load_pretrained

    if not 0.0 <= weight <= 1.0:
        raise UserError(f"--average-weight must be in [0, 1], got {weight}")
    model, theirs_cfg = load_pretrained(other)
    if model.config.to_dict() != payload["model_config"]:
        raise UserError(
            f"{other}: not of the checkpoint's architecture; weights average only within one"
        )
    ours = _pretrained_of(payload).codec
    if theirs_cfg.codec != ours:
        warnings.warn(
            f"averaging weights trained with the {ours} codec with {other}'s, trained with the "
            f"{theirs_cfg.codec} codec: the result reads {ours}-codec input; check it on your benchmarks",
            stacklevel=3,
        )
    theirs = model.state_dict()
    return {
        k: ((1 - weight) * v.float() + weight * theirs[k].float()) if v.is_floating_point() else v
        for k, v in payload["model"].items()
    }


def _pretrained_of(payload: dict) -> PretrainedConfig:
    """The pretrained config as this version of posemoe derives it from the checkpoint's training
    config (so that, e.g., the licences of every source are recorded), else as the checkpoint stored it."""
    from posemoe.models import get_config
    from posemoe.training.config import TrainConfig
    from posemoe.training.tasks import pretrained_config

    try:
        cfg = TrainConfig().override(payload["train_config"])
        return PretrainedConfig.from_dict(
            pretrained_config(cfg, get_config(cfg.model, **cfg.model_overrides))
        )
    except (KeyError, TypeError, UserError):
        return PretrainedConfig.from_dict(payload.get("pretrained_config"))
