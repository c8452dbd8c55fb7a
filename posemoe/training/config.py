"""The configuration of a training run: a dataclass loaded from TOML, overridable per field."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from posemoe.datasets.h36m import Protocol
from posemoe.errors import UserError, refuse_unknown
from posemoe.training.aite import AITEConfig
from posemoe.training.augment import DetectorNoise
from posemoe.training.losses import LossWeights


@dataclass
class TrainConfig:
    """Everything a training run depends on. Loaded from TOML, overridable per field."""

    model: str = "posemoe-t27-s"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    init_weights: str | None = (
        None  # start from these weights (shipped name or file) instead of random
    )
    data_dir: str = "data/h36m"
    dataset: str = "h36m"
    source: str = "gt"  # 2D file suffix; "gt+sh" trains on both (each frame once per source)
    val_source: str | None = None  # 2D source for validation (None: the first training source)
    train_subjects: list[str] = field(default_factory=lambda: list(Protocol().train))
    val_subjects: list[str] = field(default_factory=lambda: list(Protocol().val))
    train_images: str | None = (
        None  # image models: an ImageSet .npz (posemoe render-bodies / import-images)
    )
    val_images: str | None = None
    out_dir: str = "runs/posemoe"
    epochs: int = 80
    epoch_clips: int | None = (
        None  # dataset clips (images) per epoch (None: every clip position / image once);
    )
    # virtual-camera batches come on top, virtual_share of the epoch's batches
    batch_size: int = 32
    clip_stride: int | None = None  # frames between training clips (None: clip length)
    lr: float = 1e-3
    min_lr_ratio: float = 0.02
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    loss_weights: LossWeights = field(default_factory=LossWeights)
    aite: bool = (
        False  # train with the AITE adjustment network (training only; see posemoe/aite.py)
    )
    aite_options: AITEConfig = field(default_factory=AITEConfig)
    flip_augment: bool = True
    detector_noise: DetectorNoise = field(default_factory=DetectorNoise)  # prob 0 = off
    codec: str = "screen"  # keypoint normalisation the model learns: screen (frame-relative), camera (rays) or person
    # Virtual cameras (posemoe/training/views.py): 3D motion sources seen by cameras sampled around the
    # person. Each entry: {kind = "h36m" | "humaneva" | "bvh", path, subjects = [...], exclude = [...], weight}.
    motion_sources: list[dict[str, Any]] = field(default_factory=list)
    virtual_share: float = (
        0.0  # share of training batches from virtual cameras (the rest: the dataset's 2D)
    )
    virtual_cameras: dict[str, Any] = field(
        default_factory=dict
    )  # overrides of VirtualCameraConfig
    bone_jitter: float = 0.0  # virtual-camera clips: each bone's length x exp(N(0, this)); 0 = off
    limb_mix: float = (
        0.0  # virtual-camera clips: chance of another clip's legs (and, apart, arms); 0 = off
    )
    tilt_balance: float = (
        0.0  # virtual-camera clips drawn x (share of their torso tilt) ** -this; 0 = off
    )
    retarget_bones: bool = (
        False  # motion of non-Human3.6M sources put on Human3.6M's median bone lengths
    )
    flip_test: bool = True
    # Exponential moving average of the weights (torch.optim.swa_utils), updated after every step with
    # this decay: validated, checkpointed as "model" and exported in place of the raw weights; 0 = off.
    ema_decay: float = 0.0
    # Seconds of training: process CPU time on CPU (all threads count, so set threads=1 for a
    # one-thread budget), wall time on GPU. The learning-rate schedule follows the share spent.
    time_budget: float | None = None
    # Optimiser steps, the same way: the schedule follows the share done. Steps do not depend on how
    # busy the machine is, so two runs compared step for step see the same schedule. With both
    # budgets set, the first to run out ends the run.
    step_budget: int | None = None
    val_every: int = 1  # epochs between validations; 0 validates only at the end
    val_max_windows: int | None = None  # thin validation to this many evenly spaced windows (speed)
    seed: int = 0
    threads: int | None = (
        None  # CPU threads; set by the CLI (library code never sets process-wide state)
    )
    device: str = "auto"
    amp: str = "auto"  # none | bf16 | fp16 | auto (bf16 on CUDA, none on CPU)
    log_every: int = 50

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise UserError(
                f"{path}: not a TOML training config ({str(err).splitlines()[0][:200]})"
            ) from None
        except OSError as err:
            raise UserError(
                f"{path}: cannot read the training config ({err.strerror or err})"
            ) from None
        try:
            return cls().override(values)
        except UserError as err:
            raise UserError(f"{path}: {err}") from None

    def override(self, values: dict[str, Any]) -> TrainConfig:
        refuse_unknown("training config", values, sorted(f.name for f in fields(self)))
        values = dict(values)
        for name, value in values.items():
            check_option(
                name, value, type(getattr(self, name)) if getattr(self, name) is not None else None
            )
        for name in ("loss_weights", "aite_options", "detector_noise"):
            if name in values and not isinstance(values[name], dict):
                raise UserError(f"{name}: expected a table of options, got {values[name]!r}")
            if isinstance(values.get(name), dict):
                refuse_unknown(name, values[name], [f.name for f in fields(getattr(self, name))])
                values[name] = replace(getattr(self, name), **values[name])
                _check_numbers(name, values[name])
        return replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What weights trained on each source inherit (recorded in the weights' pretrained config).
LICENCES = {
    "h36m": "Human3.6M: non-commercial research only",
    "humaneva": "HumanEva-I: research use only",
    "bvh": "BVH motion capture under the files' own licence (Bandai Namco Research Motion Dataset: CC BY-NC 4.0)",
}


# Numeric options and their allowed ranges (inclusive); anything else of the wrong type is refused too.
RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, 10**7),
    "epoch_clips": (1, 10**8),
    "batch_size": (1, 65536),
    "clip_stride": (1, 10**6),
    "lr": (1e-12, 10.0),
    "min_lr_ratio": (0.0, 1.0),
    "warmup_steps": (0, 10**7),
    "weight_decay": (0.0, 10.0),
    "grad_clip": (0.0, 1e6),
    "virtual_share": (0.0, 1.0),
    "bone_jitter": (0.0, 1.0),
    "limb_mix": (0.0, 1.0),
    "tilt_balance": (0.0, 1.0),
    "seed": (0, 2**32 - 1),
    "threads": (1, 1024),
    "time_budget": (1e-3, 1e8),
    "step_budget": (1, 10**9),
    "ema_decay": (0.0, 0.999999),
    "val_every": (0, 10**6),
    "val_max_windows": (1, 10**9),
    "log_every": (1, 10**9),
}
_NULLABLE = {
    "init_weights",
    "val_source",
    "train_images",
    "val_images",
    "epoch_clips",
    "clip_stride",
    "threads",
    "time_budget",
    "step_budget",
    "val_max_windows",
}


def check_option(name: str, value: Any, kind: type | None) -> None:
    """Refuse a value of the wrong type or outside :data:`RANGES`, naming the option."""
    if value is None:
        if name in _NULLABLE:
            return
        raise UserError(f"{name}: a value is required")
    if name in RANGES:
        low, high = RANGES[name]
        integral = isinstance(low, int) and isinstance(high, int)
        ok_type = isinstance(value, int) if integral else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            raise UserError(
                f"{name}: expected {'an integer' if integral else 'a number'}, got {value!r}"
            )
        if not low <= value <= high:  # also false for NaN
            raise UserError(f"{name}: expected a value from {low:g} to {high:g}, got {value!r}")
    elif kind in (str, bool, list, dict) and not isinstance(value, kind):
        raise UserError(f"{name}: expected {kind.__name__}, got {value!r}")
    elif kind is None and name in _NULLABLE and not isinstance(value, str):
        raise UserError(f"{name}: expected a string, got {value!r}")


def _check_numbers(name: str, table: Any) -> None:
    """The numeric fields of a nested table (loss weights, detector noise, AITE): numbers of the
    default's kind, finite and not negative; chances (``prob`` in the name) at most 1."""
    defaults = type(table)()
    for f in fields(table):
        value, default = getattr(table, f.name), getattr(defaults, f.name)
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            continue
        kind = int if isinstance(default, int) else (int, float)
        if (
            isinstance(value, bool)
            or not isinstance(value, kind)
            or not math.isfinite(value)
            or value < 0
        ):
            what = "integer" if kind is int else "number"
            raise UserError(f"{name}.{f.name}: expected a finite {what} >= 0, got {value!r}")
        if "prob" in f.name and value > 1:
            raise UserError(f"{name}.{f.name}: a chance, expected at most 1, got {value!r}")


# Settings that define the data, the split or the schedule: a resumed run must keep them, or the
# weights it continues were trained on something else. ``epochs`` and the budgets may grow.
RESUME_FIXED = (
    "model",
    "model_overrides",
    "init_weights",
    "data_dir",
    "dataset",
    "source",
    "train_subjects",
    "val_subjects",
    "train_images",
    "val_images",
    "batch_size",
    "epoch_clips",
    "clip_stride",
    "lr",
    "min_lr_ratio",
    "warmup_steps",
    "weight_decay",
    "seed",
    "aite",
    "flip_augment",
    "codec",
    "motion_sources",
    "virtual_share",
    "virtual_cameras",
    "bone_jitter",
    "limb_mix",
    "tilt_balance",
    "retarget_bones",
    "ema_decay",
)
RESUME_GROWING = ("epochs", "time_budget", "step_budget")


# What a checkpoint written before a setting existed was trained with (the behaviour before it).
_BEFORE_OPTION: dict[str, Any] = {
    "bone_jitter": 0.0,
    "limb_mix": 0.0,
    "tilt_balance": 0.0,
    "retarget_bones": False,
    "ema_decay": 0.0,
}


def resume_changes(saved: dict[str, Any], current: TrainConfig) -> list[str]:
    """What differs between a checkpoint's training config and this run's, as readable lines."""
    now = current.to_dict()
    changes = [
        f"{k}: {saved.get(k, _BEFORE_OPTION.get(k))!r} -> {now[k]!r}"
        for k in RESUME_FIXED
        if saved.get(k, _BEFORE_OPTION.get(k)) != now[k]
    ]
    for k in RESUME_GROWING:
        before, after = saved.get(k), now[k]
        if before is not None and after is not None and after < before:
            changes.append(f"{k}: {before!r} -> {after!r} (can only grow)")
    return changes
