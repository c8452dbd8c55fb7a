"""The training loop: one screen, top to bottom, the same for every model family.

Runs on CPU, one GPU, or many under ``torchrun`` (DDP). What differs between families (data,
forward pass, loss, validation) lives in :mod:`posemoe.training.tasks`. Every epoch ends with an
atomic checkpoint (``last.pt``: model, optimiser, schedule position, RNG state) so ``resume=True``
continues exactly; with ``ema_decay`` the weights' moving average is what is validated and saved
as the checkpoint's ``"model"`` (the raw weights as ``"train_model"``, for resuming). ``best.pt``
holds the best validation score and is written before ``last.pt``, so a kill between the two never
leaves ``best.pt`` behind the score ``last.pt`` records.
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from posemoe.datasets.h36m import Protocol
from posemoe.errors import UserError
from posemoe.models import ModelConfig, build_model, count_parameters, get_config
from posemoe.models.posemoe import PoseMoEConfig, resample_frames
from posemoe.models.pretrained import load_checkpoint
from posemoe.training.aite import AITE
from posemoe.training.checkpoint import run_lock, save_atomic
from posemoe.training.config import TrainConfig, resume_changes
from posemoe.training.distributed import Ranks, any_rank, average_gradients, barrier, setup, wrap
from posemoe.training.log import CsvLog
from posemoe.training.tasks import Task, make_task, pretrained_config

__all__ = ["TrainConfig", "train", "learning_rate"]


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    allow_changes: bool = False,
    restart: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train, validate each ``val_every`` epochs, checkpoint each epoch. Returns a summary. A folder
    that holds a run is continued (``resume``) or, with ``restart``, emptied of it; never overwritten silently."""
    Protocol(train=tuple(cfg.train_subjects), val=tuple(cfg.val_subjects)).check_no_test_leak()
    if resume and restart:
        raise UserError(
            "--resume continues the run in the folder and --restart replaces it: give one"
        )
    ranks = setup(cfg.device)
    out = Path(cfg.out_dir)
    with run_lock(out, ranks.main):
        held = [out / name for name in ("last.pt", "best.pt") if (out / name).exists()]
        if any_rank(bool(held) and not resume and not restart, ranks):  # every rank decides alike
            raise UserError(
                f"{out} holds a run ({', '.join(p.name for p in held) or 'on another rank'}): --resume "
                "continues it, --restart replaces it, or give another --out"
            )
        if (
            not resume
        ):  # a fresh start: the checkpoints of a replaced run and the log of any earlier start go
            if ranks.main:
                for path in [*held, out / "log.csv"]:
                    path.unlink(missing_ok=True)
            barrier(ranks)
        run = Run.start(cfg, ranks, out, resume=resume, allow_changes=allow_changes)
        if run.already_finished():
            return {"out_dir": str(out), **run.state}
        task = make_task(cfg, run.model_cfg, ranks)
        steps_per_epoch = len(task.batches(0))
        if steps_per_epoch == 0:
            raise UserError(
                f"no full batch of {cfg.batch_size} samples in the training data; lower batch_size"
            )
        steps = min(cfg.step_budget or math.inf, cfg.epochs * steps_per_epoch)
        if ranks.main and cfg.ema_decay and not resume and cfg.ema_decay**steps > 0.1:
            warnings.warn(
                f"ema_decay {cfg.ema_decay:g} over at most {steps} steps: the moving average, which is "
                f"validated and saved, keeps {cfg.ema_decay**steps:.0%} of the weights after the "
                "first step; lower it (0.999 averages over about 1000 steps)",
                stacklevel=2,
            )
        log = CsvLog(
            out / "log.csv", enabled=ranks.main, resume_step=run.state["step"] if resume else None
        )
        if ranks.main and not quiet:
            print(
                f"model {cfg.model}: {count_parameters(run.model) / 1e6:.2f}M params; train {task.summary}, "
                f"{steps_per_epoch} steps/epoch; device {ranks.device}"
            )
            for line in task.report:
                print("data:", line)
        net = wrap(run.model, ranks)
        for epoch in range(run.state["epoch"], cfg.epochs):
            out_of_budget = run.train_epoch(
                task, net, log, epoch, cfg.epochs * steps_per_epoch, quiet
            )
            finished = out_of_budget or epoch + 1 == cfg.epochs
            run.end_epoch(task, log, epoch, finished, quiet)
            if finished:
                break
    return {"out_dir": str(out), "steps_per_epoch": steps_per_epoch, **run.state}


def learning_rate(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` as ``progress`` goes 0 -> 1."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def _autocast(cfg: TrainConfig, device: torch.device) -> tuple[Any, bool]:
    amp = cfg.amp if cfg.amp != "auto" else ("bf16" if device.type == "cuda" else "none")
    if amp == "none":
        return nullcontext(), False
    if amp not in ("bf16", "fp16"):
        raise UserError(f"amp must be none, bf16, fp16 or auto, got {cfg.amp!r}")
    return torch.autocast(
        device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16
    ), amp == "fp16"


@dataclass
class Run:
    """A run's model, optimiser and position; its checkpoints live in ``out``."""

    cfg: TrainConfig
    ranks: Ranks
    out: Path
    model_cfg: ModelConfig
    model: torch.nn.Module
    aite: AITE | None
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    autocast: Any
    ema: AveragedModel | None = None  # the weights' moving average (cfg.ema_decay > 0)
    state: dict[str, Any] = field(
        default_factory=lambda: {
            "epoch": 0,
            "step": 0,
            "train_seconds": 0.0,
            "best": math.inf,
            "done": False,
        }
    )

    @classmethod
    def start(
        cls, cfg: TrainConfig, ranks: Ranks, out: Path, *, resume: bool, allow_changes: bool
    ) -> Run:
        from posemoe.layouts import get_layout
        from posemoe.models.pretrained import check_size

        model_cfg = get_config(cfg.model, **cfg.model_overrides)
        check_size(model_cfg, f"model {cfg.model} with model_overrides {cfg.model_overrides}")
        torch.manual_seed(cfg.seed)
        model = build_model(model_cfg)
        if cfg.init_weights:
            from posemoe.models.pretrained import load_model

            start = load_model(cfg.init_weights)
            state = start.state_dict()
            if (
                start.config != model_cfg
            ):  # only another window length is taken: frame positions resampled
                if not (
                    isinstance(start.config, PoseMoEConfig)
                    and replace(start.config, num_frames=model_cfg.num_frames) == model_cfg
                ):
                    raise UserError(
                        f"init_weights {cfg.init_weights}: not of the architecture {cfg.model}"
                    )
                state = resample_frames(state, model_cfg.num_frames)
            model.load_state_dict(state)
        model = model.to(ranks.device)
        layout = get_layout(getattr(model_cfg, "layout", "h36m17"))
        aite = AITE(cfg.aite_options, layout).to(ranks.device) if cfg.aite else None
        trainable = list(model.parameters()) + (list(aite.parameters()) if aite else [])
        optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
        autocast, use_scaler = _autocast(cfg, ranks.device)
        ema = (
            AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
            if cfg.ema_decay
            else None
        )
        run = cls(
            cfg,
            ranks,
            out,
            model_cfg,
            model,
            aite,
            optimizer,
            torch.amp.GradScaler(ranks.device.type, enabled=use_scaler),
            autocast,
            ema,
        )
        if resume:
            run.restore(allow_changes)
        else:
            torch.manual_seed(cfg.seed + ranks.rank)
        return run

    def restore(self, allow_changes: bool) -> None:
        """Continue from ``last.pt``: same architecture, data, split and schedule (unless allowed)."""
        last = self.out / "last.pt"
        if not last.exists():
            raise UserError(
                f"--resume: no {last} to continue; run without --resume (or with --restart) to start afresh"
            )
        ckpt = load_checkpoint(last, map_location=self.ranks.device)
        if ckpt["model_config"] != self.model_cfg.to_dict():
            raise UserError(
                f"{last}: checkpoint model config differs from this run's; use another out_dir"
            )
        self._check_training_state(ckpt, last)
        changes = resume_changes(ckpt.get("train_config", {}), self.cfg)
        if changes and not allow_changes:
            raise UserError(
                f"{last}: this run's settings differ from the checkpoint's ({'; '.join(changes)}); "
                "pass --allow-changes to continue anyway"
            )
        self.model.load_state_dict(ckpt.get("train_model", ckpt["model"]))
        if (
            self.ema is not None
        ):  # a checkpoint without an average: it starts afresh at the next step
            self.ema.module.load_state_dict(ckpt["model"])
            self.ema.n_averaged.fill_(int(ckpt.get("ema_steps", 0)))
        if self.aite is not None:
            self.aite.load_state_dict(ckpt["aite"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.state.update(ckpt["state"])
        best = self.out / "best.pt"
        if best.exists():  # a kill after best.pt but before last.pt: keep the better score
            self.state["best"] = min(self.state["best"], load_checkpoint(best)["state"]["best"])
        torch.set_rng_state(ckpt["rng"]["torch"].cpu())
        if self.ranks.device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"].cpu(), self.ranks.device)

    def _check_training_state(self, ckpt: dict, last: Path) -> None:
        """A ``last.pt`` without what a run needs to go on (weights alone, saved by other means) is
        refused before any of it is loaded; --allow-changes cannot make up for it."""
        needed = {
            "optimizer": dict,
            "scaler": dict,
            "state": dict,
            "rng": dict,
            **({"aite": dict} if self.aite else {}),
        }
        missing = [key for key, kind in needed.items() if not isinstance(ckpt.get(key), kind)]
        if missing or not isinstance(ckpt["rng"].get("torch"), torch.Tensor):
            raise UserError(
                f"{last}: expected the training state of a posemoe train run (optimizer, schedule, "
                f"random state), found a model without {', '.join(missing or ['its random state'])}; "
                "it cannot be resumed: --restart starts afresh in this folder (deleting it)"
            )

    def already_finished(self) -> bool:
        cfg, state = self.cfg, self.state
        if state["done"] and (self.out_of_budget() or state["epoch"] >= cfg.epochs):
            return True
        state["done"] = False  # a finished run resumed with a larger budget or more epochs goes on
        return False

    def out_of_budget(self) -> bool:
        """Whether the time or the step budget is spent."""
        cfg, state = self.cfg, self.state
        return (bool(cfg.time_budget) and state["train_seconds"] >= cfg.time_budget) or (
            bool(cfg.step_budget) and state["step"] >= cfg.step_budget
        )

    def train_epoch(
        self,
        task: Task,
        net: torch.nn.Module,
        log: CsvLog,
        epoch: int,
        total_steps: int,
        quiet: bool,
    ) -> bool:
        """One epoch of steps; True when the time or step budget ran out (all ranks agree)."""
        cfg, state = self.cfg, self.state
        clock = time.process_time if self.ranks.device.type == "cpu" else time.perf_counter
        self.model.train()
        bar = tqdm(
            task.batches(epoch),
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=quiet or not self.ranks.main,
            leave=False,
        )
        budgeted = bool(cfg.time_budget or cfg.step_budget)
        if budgeted and any_rank(self.out_of_budget(), self.ranks):  # a run resumed past its budget
            return True
        for batch in bar:
            start = clock()
            progress = state["step"] / min(cfg.step_budget or total_steps, total_steps)
            if cfg.time_budget:
                progress = max(progress, state["train_seconds"] / cfg.time_budget)
            lr = learning_rate(cfg, state["step"], progress)
            terms = self.step(task, net, batch, epoch, lr)
            state["step"] += 1
            state["train_seconds"] += clock() - start
            if state["step"] % cfg.log_every == 0:
                log.write(
                    {
                        "kind": "train",
                        "epoch": epoch + 1,
                        "step": state["step"],
                        "lr": lr,
                        **terms,
                        "train_seconds": round(state["train_seconds"], 2),
                    }
                )
                bar.set_postfix(mpjpe_mm=f"{terms['mpjpe'] * 1000:.1f}", lr=f"{lr:.2e}")
            if budgeted and any_rank(self.out_of_budget(), self.ranks):
                return True
        return False

    def step(
        self, task: Task, net: torch.nn.Module, batch: Any, epoch: int, lr: float
    ) -> dict[str, float]:
        """One optimiser step; stops the run at the first non-finite loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = task.tensors(batch, epoch, self.state["step"])
        loss, terms = task.loss(net, x, y, self.aite, self.autocast)
        if not torch.isfinite(loss):
            raise UserError(
                f"training stopped: the loss is {float(loss.detach())} at step {self.state['step']} (epoch "
                f"{epoch + 1}); look for extreme values in the data or lower the learning rate"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.aite is not None:
            average_gradients(list(self.aite.parameters()), self.ranks)
        self.scaler.unscale_(self.optimizer)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return {"loss": float(loss.detach()), **terms}

    def end_epoch(self, task: Task, log: CsvLog, epoch: int, finished: bool, quiet: bool) -> None:
        """Validate when due (all ranks share the work), then checkpoint on rank 0."""
        cfg, state = self.cfg, self.state
        due = finished or (cfg.val_every and (epoch + 1) % cfg.val_every == 0)
        val = task.validate(self.weights()) if due else None
        state.update(epoch=epoch + 1, done=finished)
        if self.ranks.main:
            improved = val is not None and val.score < state["best"]
            if val is not None:
                log.write(
                    {
                        "kind": "val",
                        "epoch": epoch + 1,
                        "step": state["step"],
                        "val_mpjpe": round(val.score, 3),
                        "val_p_mpjpe": round(val.second, 3),
                        "train_seconds": round(state["train_seconds"], 2),
                    }
                )
                if not quiet:
                    print(
                        f"epoch {epoch + 1}: {val.text} ({state['train_seconds']:.0f} s of training)"
                    )
                state["best"] = min(state["best"], val.score)
            payload = self.payload()
            if improved:
                save_atomic(payload, self.out / "best.pt")
            save_atomic(payload, self.out / "last.pt")
        barrier(self.ranks)

    def weights(self) -> torch.nn.Module:
        """The network to validate and ship: the moving average when kept, else the trained weights."""
        return self.ema.module if self.ema is not None else self.model

    def payload(self) -> dict[str, Any]:
        """The checkpoint. "model" holds the plain network to use (the moving average when kept; the raw
        weights then as "train_model"): AITE's modules are training state."""
        device = self.ranks.device
        averaged = (
            {}
            if self.ema is None
            else {"train_model": self.model.state_dict(), "ema_steps": int(self.ema.n_averaged)}
        )
        return {
            "model_config": self.model_cfg.to_dict(),
            "model_name": self.cfg.model,
            "model": self.weights().state_dict(),
            **averaged,
            "pretrained_config": pretrained_config(self.cfg, self.model_cfg),
            "aite": self.aite.state_dict() if self.aite is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "state": dict(self.state),
            "train_config": self.cfg.to_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            },
        }
