"""Registry of named model configurations: ``create_model("posemoe-t243-b")``."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from posemoe.models.posemoe import EntangledPoseMoE, PoseMoE, PoseMoEConfig

_SMALL = PoseMoEConfig(dim=16, encoder_layers=2, decoder_layers=1, heads=2, num_experts=4, top_k=2,
                       expert_hidden=512)
_BASE = PoseMoEConfig(dim=32, encoder_layers=3, decoder_layers=2, heads=4, num_experts=4, top_k=2,
                      expert_hidden=1024)

MODEL_CONFIGS: dict[str, PoseMoEConfig] = {}
for _frames in (27, 81, 243):
    for _size, _cfg in (("s", _SMALL), ("b", _BASE)):
        MODEL_CONFIGS[f"posemoe-t{_frames}-{_size}"] = replace(_cfg, num_frames=_frames)
        MODEL_CONFIGS[f"posemoe-entangled-t{_frames}-{_size}"] = replace(_cfg, num_frames=_frames, entangled=True)


def list_models() -> list[str]:
    return sorted(MODEL_CONFIGS)


def get_config(name: str, **overrides) -> PoseMoEConfig:
    if name not in MODEL_CONFIGS:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return replace(MODEL_CONFIGS[name], **overrides)


def build_model(cfg: PoseMoEConfig) -> nn.Module:
    return (EntangledPoseMoE if cfg.entangled else PoseMoE)(cfg)


def create_model(name: str, **overrides) -> nn.Module:
    """A freshly initialised model of the named configuration (fields can be overridden)."""
    return build_model(get_config(name, **overrides))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_frame(model: nn.Module) -> float:
    """Multiply-accumulates of one forward pass divided by the frames it predicts."""
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    cfg = model.config
    x = torch.zeros(1, cfg.num_frames, cfg.num_joints, cfg.in_channels)
    was_training = model.training
    model.eval()
    # PyTorch's counter knows the CUDA attention kernels but not the CPU one.
    counter = FlopCounterMode(display=False, custom_mapping={
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
            lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v)})
    with counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() / 2 / cfg.num_frames


__all__ = ["PoseMoE", "EntangledPoseMoE", "PoseMoEConfig", "MODEL_CONFIGS", "build_model", "create_model",
           "get_config", "list_models", "count_parameters", "macs_per_frame"]
