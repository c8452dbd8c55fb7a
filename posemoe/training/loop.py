"""Training loop for the lifting models: one screen, top to bottom.

Runs on CPU, one GPU, or many GPUs/machines under ``torchrun`` (DDP). Every epoch ends with
an atomic checkpoint (``last.pt``) holding model, optimiser, schedule position and RNG
state, so ``resume=True`` continues exactly; ``best.pt`` is the best validation MPJPE.
"""

from __future__ import annotations

import csv
import math
import os
import time
import tomllib
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from posemoe.datasets.h36m import Protocol, load_h36m, load_sources
from posemoe.datasets.images import ImageSet
from posemoe.evaluation.h36m import evaluate, evaluate_images
from posemoe.layouts import get_layout
from posemoe.models import (
    AITEPoseConfig,
    build_model,
    count_parameters,
    get_config,
    is_image_model,
)
from posemoe.training.aite import AITE, AITEConfig
from posemoe.training.augment import DetectorNoise
from posemoe.training.checkpoint import load_checkpoint, save_atomic
from posemoe.training.losses import LossWeights, keypoint_loss, lifting_loss
from posemoe.training.samplers import ClipSampler, ImageSampler


@dataclass
class TrainConfig:
    """Everything a training run depends on. Loaded from TOML, overridable per field."""

    model: str = "posemoe-t27-s"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    data_dir: str = "data/h36m"
    dataset: str = "h36m"
    source: str = "gt"  # 2D file suffix; "gt+sh" trains on both (each frame once per source)
    val_source: str | None = None  # 2D source for validation (None: the first training source)
    train_subjects: list[str] = field(default_factory=lambda: list(Protocol().train))
    val_subjects: list[str] = field(default_factory=lambda: list(Protocol().val))
    train_images: str | None = None  # image models: an ImageSet .npz (posemoe render-bodies / import-images)
    val_images: str | None = None
    out_dir: str = "runs/posemoe"
    epochs: int = 80
    epoch_clips: int | None = None  # clips (images) per epoch (None: every clip position / image once)
    batch_size: int = 32
    clip_stride: int | None = None  # frames between training clips (None: clip length)
    lr: float = 1e-3
    min_lr_ratio: float = 0.02
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    loss_weights: LossWeights = field(default_factory=LossWeights)
    aite: bool = False  # train with the AITE adjustment network (training only; see posemoe/aite.py)
    aite_options: AITEConfig = field(default_factory=AITEConfig)
    flip_augment: bool = True
    detector_noise: DetectorNoise = field(default_factory=DetectorNoise)  # prob 0 = off
    flip_test: bool = True
    # Seconds of training: process CPU time on CPU (all threads count, so set threads=1 for a
    # one-thread budget), wall time on GPU. The learning-rate schedule follows the share spent.
    time_budget: float | None = None
    val_every: int = 1  # epochs between validations; 0 validates only at the end
    val_max_windows: int | None = None  # thin validation to this many evenly spaced windows (speed)
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    amp: str = "auto"  # none | bf16 | fp16 | auto (bf16 on CUDA, none on CPU)
    log_every: int = 50

    @classmethod
    def from_toml(cls, path: str | Path) -> "TrainConfig":
        with open(path, "rb") as f:
            return cls().override(tomllib.load(f))

    def override(self, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training options {unknown}; known: {sorted(known)}")
        values = dict(values)
        for name in ("loss_weights", "aite_options", "detector_noise"):
            if isinstance(values.get(name), dict):
                values[name] = replace(getattr(self, name), **values[name])
        return replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _distributed() -> tuple[int, int, int]:
    """(rank, world_size, local_rank), initialising the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


def _all_agree_out_of_time(mine: bool, world: int, device: torch.device) -> bool:
    """Under DDP every rank must stop on the same step, or the next all-reduce hangs."""
    if world == 1:
        return mine
    flag = torch.tensor([float(mine)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _device(cfg: TrainConfig, local_rank: int) -> torch.device:
    if cfg.device == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def _autocast(cfg: TrainConfig, device: torch.device):
    amp = cfg.amp if cfg.amp != "auto" else ("bf16" if device.type == "cuda" else "none")
    if amp == "none":
        return nullcontext(), False
    if amp not in ("bf16", "fp16"):
        raise ValueError(f"amp must be none, bf16, fp16 or auto, got {cfg.amp!r}")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype), amp == "fp16"


def learning_rate(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` as ``progress`` goes 0 -> 1."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


class _Log:
    """CSV log of training and validation rows (rank 0 only); AITE columns stay empty without ``--aite``."""

    COLUMNS = ["kind", "epoch", "step", "lr", "loss", "mpjpe", "n_mpjpe", "velocity", "balance", "train_seconds",
               "val_mpjpe", "val_p_mpjpe", "aite_adjusted", "aite_distill"]

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=_Log.COLUMNS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def _load_images(cfg: TrainConfig, model_cfg: AITEPoseConfig) -> tuple[ImageSet, ImageSet | None]:
    if not cfg.train_images:
        raise ValueError(f"model {cfg.model} trains on images: set train_images (and val_images) to an ImageSet "
                         ".npz made by `posemoe render-bodies` or `posemoe import-images`")
    sets = [ImageSet.load(cfg.train_images), ImageSet.load(cfg.val_images) if cfg.val_images else None]
    for path, data in zip((cfg.train_images, cfg.val_images), sets):
        if data is not None and data.images.shape[1] != model_cfg.image_size:
            raise ValueError(f"{path}: crops are {data.images.shape[1]} px but {cfg.model} takes {model_cfg.image_size} px")
    return sets[0], sets[1]


def _loss(cfg: TrainConfig, pred: torch.Tensor, y: torch.Tensor, balance: torch.Tensor, aite: AITE | None,
          confidence: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, float]]:
    """The model's loss plus, with AITE, the adjustment network's terms.

    pred/y: (B, T, J, 3) clips, (B, J, 3) image poses, or (B, J, 2) image keypoints with
    y (B, J, 2|3) (third channel: visibility).
    """
    visible = None
    if pred.shape[-1] == 2:
        loss = keypoint_loss(pred, y)
        terms = {"mpjpe": float(loss.detach())}
        visible = y[..., 2] if y.shape[-1] == 3 else None
        y = y[..., :2]
    else:
        clips = (pred, y) if pred.ndim == 4 else (pred.unsqueeze(1), y.unsqueeze(1))
        loss, terms = lifting_loss(*clips, balance, cfg.loss_weights)
    if aite is not None:
        extra, aite_terms = aite.loss(pred, y, confidence, visible)
        loss, terms = loss + extra, terms | aite_terms
    return loss, terms


def train(cfg: TrainConfig, *, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train, validate each ``val_every`` epochs, checkpoint each epoch. Returns a summary."""
    Protocol(train=tuple(cfg.train_subjects), val=tuple(cfg.val_subjects)).check_no_test_leak()
    rank, world, local_rank = _distributed()
    device = _device(cfg, local_rank)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out / "last.pt", out / "best.pt"

    model_cfg = get_config(cfg.model, **cfg.model_overrides)
    torch.manual_seed(cfg.seed)
    model = build_model(model_cfg).to(device)
    layout = get_layout(getattr(model_cfg, "layout", "h36m17"))
    aite = AITE(cfg.aite_options, layout).to(device) if cfg.aite else None
    trainable = list(model.parameters()) + (list(aite.parameters()) if aite else [])
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    autocast, use_scaler = _autocast(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    state = {"epoch": 0, "step": 0, "train_seconds": 0.0, "best": math.inf, "done": False}
    if resume and last_path.exists():
        ckpt = load_checkpoint(last_path, map_location=device)
        if ckpt["model_config"] != model_cfg.to_dict():
            raise ValueError(f"{last_path}: checkpoint model config differs from this run's; use another out_dir")
        model.load_state_dict(ckpt["model"])
        if aite is not None:
            aite.load_state_dict(ckpt["aite"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        state.update(ckpt["state"])
        torch.set_rng_state(ckpt["rng"]["torch"].cpu())
        if device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"].cpu(), device)
    else:
        torch.manual_seed(cfg.seed + rank)
    out_of_budget = bool(cfg.time_budget) and state["train_seconds"] >= cfg.time_budget
    if state["done"] and (out_of_budget or state["epoch"] >= cfg.epochs):
        return {"out_dir": str(out), **state}
    state["done"] = False  # a finished run resumed with a larger budget or more epochs goes on

    image_model = is_image_model(model_cfg)
    if image_model:
        train_data, val_data = _load_images(cfg, model_cfg)
        sampler = ImageSampler(train_data, get_layout(model_cfg.layout), flip=cfg.flip_augment)
        n_train, data_report = len(train_data.images), []
    else:
        train_data = load_sources(cfg.data_dir, cfg.train_subjects, cfg.source, dataset=cfg.dataset,
                                  channels=model_cfg.in_channels)
        val_source = cfg.val_source or cfg.source.split("+")[0]
        val_data = load_h36m(cfg.data_dir, cfg.val_subjects, val_source, dataset=cfg.dataset) if cfg.val_subjects else None
        sampler = ClipSampler(train_data, model_cfg.num_frames, stride=cfg.clip_stride, flip=cfg.flip_augment,
                              channels=model_cfg.in_channels)
        n_train, data_report = train_data.num_frames, train_data.report

    def batches_of(epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return sampler.epoch(cfg.seed, epoch, cfg.batch_size, max_clips=cfg.epoch_clips, rank=rank, world_size=world)

    steps_per_epoch = len(batches_of(0))
    if steps_per_epoch == 0:
        raise ValueError(f"no full batch of {cfg.batch_size} samples in the training data; lower batch_size")
    total_steps = cfg.epochs * steps_per_epoch
    log = _Log(out / "log.csv", rank == 0)
    if rank == 0 and not quiet:
        print(f"model {cfg.model}: {count_parameters(model) / 1e6:.2f}M params; train {n_train} {'images' if image_model else 'frames'} "
              f"({cfg.train_images if image_model else ', '.join(cfg.train_subjects)}), {steps_per_epoch} steps/epoch; "
              f"device {device}")
        for line in data_report:
            print("data:", line)
    net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if world > 1 else model
    clock = time.process_time if device.type == "cpu" else time.perf_counter

    def checkpoint(epoch: int, done: bool) -> dict[str, Any]:
        state.update(epoch=epoch, done=done)
        # "model" holds the plain network only: AITE's modules are training state, kept apart.
        payload = {"model_config": model_cfg.to_dict(), "model_name": cfg.model, "model": model.state_dict(),
                   "aite": aite.state_dict() if aite is not None else None,
                   "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "state": dict(state),
                   "train_config": cfg.to_dict(),
                   "rng": {"torch": torch.get_rng_state(),
                           "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}}
        save_atomic(payload, last_path)
        return payload

    for epoch in range(state["epoch"], cfg.epochs):
        model.train()
        batches = batches_of(epoch)
        out_of_time = False
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=quiet or rank != 0, leave=False)
        for frames, flips in bar:  # frames: (B, T) clip frame indices, or (B,) image indices
            start = clock()
            progress = state["step"] / total_steps
            if cfg.time_budget:
                progress = max(progress, state["train_seconds"] / cfg.time_budget)
            lr = learning_rate(cfg, state["step"], progress)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if image_model:
                inputs, targets = sampler.gather(frames, flips, model_cfg.out_dims)
            else:
                inputs, targets = sampler.gather(frames, flips)
                noise_rng = np.random.default_rng([cfg.seed, epoch, state["step"], rank])
                inputs = cfg.detector_noise(inputs, sampler.flip_perm, noise_rng)
            x = torch.from_numpy(inputs).to(device, non_blocking=True)
            y = torch.from_numpy(targets).to(device, non_blocking=True)
            with autocast:
                if image_model:
                    pred, confidence = net(x, with_confidence=True)
                else:
                    pred, confidence = net(x), (x[..., 2] if x.shape[-1] == 3 else None)
            loss, terms = _loss(cfg, pred.float(), y, model.balance_loss(), aite,
                                None if confidence is None else confidence.float())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if aite is not None and world > 1:  # AITE sits outside the DDP wrapper: average its gradients
                for p in aite.parameters():
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad /= world
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            state["step"] += 1
            state["train_seconds"] += clock() - start
            if state["step"] % cfg.log_every == 0:
                log.write({"kind": "train", "epoch": epoch, "step": state["step"], "lr": lr, "loss": float(loss.detach()),
                           **terms, "train_seconds": round(state["train_seconds"], 2)})
                bar.set_postfix(mpjpe_mm=f"{terms['mpjpe'] * 1000:.1f}", lr=f"{lr:.2e}")
            if cfg.time_budget and _all_agree_out_of_time(state["train_seconds"] >= cfg.time_budget, world, device):
                out_of_time = True
                break
        finished = out_of_time or epoch + 1 == cfg.epochs
        validate = val_data is not None and (finished or (cfg.val_every and (epoch + 1) % cfg.val_every == 0))
        if rank == 0:
            payload = None
            if validate:
                if image_model:
                    report = evaluate_images(model, val_data, flip=cfg.flip_test, device=device)
                else:
                    report = evaluate(model, val_data, flip=cfg.flip_test, device=device, max_windows=cfg.val_max_windows)
                val = report.frame_weighted
                # 2D models: the score is the keypoint error (% of crop side) in the MPJPE column.
                score, second = (val["mpjpe"], val["p_mpjpe"]) if "mpjpe" in val else (val["keypoint_error"], val["pck10"])
                log.write({"kind": "val", "epoch": epoch, "step": state["step"], "train_seconds": round(state["train_seconds"], 2),
                           "val_mpjpe": round(score, 3), "val_p_mpjpe": round(second, 3)})
                if not quiet:
                    what = (f"val MPJPE {score:.2f} mm, P-MPJPE {second:.2f} mm" if "mpjpe" in val else
                            f"val keypoint error {score:.2f}% of crop, PCK@10% {second:.1f}%")
                    print(f"epoch {epoch + 1}: {what} ({state['train_seconds']:.0f} s of training)")
                improved = score < state["best"]
                if improved:
                    state["best"] = score
                payload = checkpoint(epoch + 1, finished)
                if improved:
                    save_atomic(payload, best_path)
            else:
                checkpoint(epoch + 1, finished)
        if world > 1:
            dist.barrier()
        if finished:
            break
    return {"out_dir": str(out), "steps_per_epoch": steps_per_epoch, **state}
