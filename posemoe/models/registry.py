"""Registry of named model configurations (``get_config("posemoe-t243-b")``) and of model families.

Two families: PoseMoE lifters (2D keypoint clips -> 3D) and AITEPose image networks
(person crop -> 3D, or COCO-17 2D for AITEPose2D). A config's ``to_dict`` is what checkpoints
store; :func:`config_from_dict` rebuilds it. A new model is one file (its config dataclass and
module) plus :func:`register_family` and :func:`register_model` (see docs/architecture.md);
:func:`posemoe.models.create_model` builds one, fresh or with weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from posemoe.errors import UserError, refuse_unknown
from posemoe.models.aitepose import AITEPose, AITEPoseConfig
from posemoe.models.posemoe import EntangledPoseMoE, PoseMoE, PoseMoEConfig

ModelConfig = PoseMoEConfig | AITEPoseConfig

_SMALL = PoseMoEConfig(
    dim=16, encoder_layers=2, decoder_layers=1, heads=2, num_experts=4, top_k=2, expert_hidden=512
)
_BASE = PoseMoEConfig(
    dim=32, encoder_layers=3, decoder_layers=2, heads=4, num_experts=4, top_k=2, expert_hidden=1024
)

MODEL_CONFIGS: dict[str, ModelConfig] = {}
for _frames in (27, 81, 243):
    for _size, _cfg in (("s", _SMALL), ("b", _BASE)):
        MODEL_CONFIGS[f"posemoe-t{_frames}-{_size}"] = replace(_cfg, num_frames=_frames)
        MODEL_CONFIGS[f"posemoe-entangled-t{_frames}-{_size}"] = replace(
            _cfg, num_frames=_frames, entangled=True
        )

# AITEPose: "s" is sized for CPU training on 128 px crops; "b" is ResNet-18-like on 256 px crops.
_AITE_S = AITEPoseConfig(
    image_size=128, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), head_width=64
)
_AITE_B = AITEPoseConfig(
    image_size=256, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), head_width=128
)
for _size, _cfg in (("s", _AITE_S), ("b", _AITE_B)):
    MODEL_CONFIGS[f"aitepose-{_size}"] = _cfg
    MODEL_CONFIGS[f"aitepose2d-{_size}"] = replace(_cfg, out_dims=2, layout="coco17")


def list_models() -> list[str]:
    return sorted(MODEL_CONFIGS)


def get_config(name: str, **overrides) -> ModelConfig:
    if name not in MODEL_CONFIGS:
        raise UserError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    base = MODEL_CONFIGS[name]
    refuse_unknown(f"model_overrides of {name}", overrides, [f.name for f in fields(base)])
    return replace(base, **overrides)


@dataclass(frozen=True)
class Family:
    """A model family: its config and model classes, and the task it is trained and run as
    ("lifting": 2D keypoint clips -> 3D; "image": person crops -> 3D or 2D)."""

    config: type
    build: Callable[[Any], nn.Module]
    task: str


FAMILIES: dict[str, Family] = {
    "posemoe": Family(
        PoseMoEConfig, lambda cfg: (EntangledPoseMoE if cfg.entangled else PoseMoE)(cfg), "lifting"
    ),
    "aitepose": Family(AITEPoseConfig, AITEPose, "image"),
}


def register_family(name: str, config: type, build: Callable[[Any], nn.Module], task: str) -> None:
    """Add a model family; its config dataclass needs a ``family`` field set to ``name``."""
    if task not in ("lifting", "image"):
        raise ValueError(f"task must be 'lifting' or 'image', got {task!r}")
    FAMILIES[name] = Family(config, build, task)


def register_model(name: str, config: Any) -> None:
    """Name a configuration of a registered family (``create_model(name)``)."""
    MODEL_CONFIGS[name] = config


def family_of(cfg: Any) -> str:
    return getattr(cfg, "family", "posemoe")


def build_model(cfg: ModelConfig) -> nn.Module:
    return FAMILIES[family_of(cfg)].build(cfg)


def config_from_dict(values: dict) -> ModelConfig:
    """Inverse of ``config.to_dict()``; dicts without a ``family`` are PoseMoE (older checkpoints)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    family = values.get("family", "posemoe")
    if family not in FAMILIES:
        raise UserError(f"unknown model family {family!r}; known: {', '.join(sorted(FAMILIES))}")
    config = FAMILIES[family].config
    known = [f.name for f in fields(config)]
    refuse_unknown(f"{family} config", values, [*known, "family"])
    return config(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class TaskIO:
    """What the models of a task take and give, by the names exported ONNX graphs and the runners
    (:mod:`posemoe.inference.runtime`) use: the input, then the outputs (the pose first)."""

    input: str
    outputs: tuple[str, ...]


TASKS: dict[str, TaskIO] = {
    "lifting": TaskIO("keypoints", ("joints",)),  # (B, T, J, C) -> (B, T, J, 3) metres
    "image": TaskIO(
        "images", ("pose", "confidence")
    ),  # (B, 3, S, S) in [0, 1] -> (B, J, D), (B, J)
}


def task_of(cfg: ModelConfig) -> str:
    """The task of ``cfg``'s family: "lifting" (2D keypoints over frames) or "image" (crops); it
    names the training task (:mod:`posemoe.training.tasks`) and what the model takes (:data:`TASKS`)."""
    return FAMILIES[family_of(cfg)].task


def input_shape(cfg: ModelConfig) -> tuple[int, ...]:
    """The shape of one input of a model of ``cfg``: (T, J, C) keypoints or (3, S, S) an image crop."""
    if task_of(cfg) == "image":
        return (3, cfg.image_size, cfg.image_size)
    return (cfg.num_frames, cfg.num_joints, cfg.in_channels)


def describe_input(cfg: ModelConfig) -> str:
    """What a model of ``cfg`` takes, in a few words ("27 frames", "256 px crop")."""
    return f"{cfg.image_size} px crop" if task_of(cfg) == "image" else f"{cfg.num_frames} frames"


def example_input(cfg: ModelConfig, batch: int = 1) -> torch.Tensor:
    """A zero input of the shape the model takes."""
    return torch.zeros(batch, *input_shape(cfg))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_frame(model: nn.Module) -> float:
    """Multiply-accumulates of one forward pass divided by the frames (images) it predicts."""
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    cfg = model.config
    x = example_input(cfg)
    was_training = model.training
    model.eval()
    # PyTorch's counter knows the CUDA attention kernels but not the CPU one.
    counter = FlopCounterMode(
        display=False,
        custom_mapping={
            torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: lambda q, k, v, *args, out_shape=None, **kwargs: (
                sdpa_flop_count(q, k, v)
            )
        },
    )
    with counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() / 2 / getattr(cfg, "num_frames", 1)
