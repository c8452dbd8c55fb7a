"""Weights out: a training checkpoint's plain network as safetensors, with its architecture and
:class:`~posemoe.models.pretrained.PretrainedConfig` in the metadata (AITE modules and optimiser
state are left out)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from posemoe.errors import UserError
from posemoe.models.pretrained import PretrainedConfig, build_checked


def export_weights(checkpoint: str | Path, out: str | Path, *, description: str = "", half: bool = False,
                   pretrained: PretrainedConfig | None = None) -> Path:
    """Write ``checkpoint`` (.pt) as ``out`` (.safetensors); ``half`` stores float16 (loaded back as
    float32). The file is validated before it is written and renamed into place whole."""
    from safetensors.torch import save_file

    from posemoe.training.checkpoint import load_checkpoint

    payload = load_checkpoint(checkpoint)
    build_checked(payload["model_config"], payload["model"], str(checkpoint))  # refuse what could not load
    pretrained = pretrained or PretrainedConfig.from_dict(payload.get("pretrained_config"))
    if description:
        pretrained = PretrainedConfig.from_dict(pretrained.to_dict() | {"description": description})
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in payload["model"].items()}
    meta = {"model_config": json.dumps(payload["model_config"]), "model_name": str(payload.get("model_name", "")),
            "pretrained_config": json.dumps(pretrained.to_dict()), "description": description}
    out = Path(out)
    if out.suffix != ".safetensors":
        raise UserError(f"{out}: weights are written as .safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
    except Exception as err:  # safetensors reports a full disk with its own error type
        tmp.unlink(missing_ok=True)
        if shutil.disk_usage(out.parent).free < 1 << 20:
            raise OSError(errno.ENOSPC, "no space left on the device", str(out)) from None
        raise UserError(f"{out}: could not write the weights ({err})") from None
    os.replace(tmp, out)
    return out
