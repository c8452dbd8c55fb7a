"""Several processes under ``torchrun`` (DDP): process group, device per rank, agreement, reductions.

With one process every helper is a no-op, so the training loop reads the same either way.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from posemoe.errors import UserError


@dataclass(frozen=True)
class Ranks:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Ranks:
    """Join the process group when started by torchrun and pick this rank's device (``cuda:<local
    rank>`` made current, so NCCL and autocast use the right GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise UserError(f"device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"device {device}: no CUDA device is available here (torch {torch.__version__})"
        )
    dev = torch.device(
        f"cuda:{local_rank}" if device == "cuda" else device
    )  # each rank its own GPU
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return Ranks(rank, world, local_rank, dev)


def wrap(model: nn.Module, ranks: Ranks) -> nn.Module:
    """DDP around ``model`` when there are several ranks (unused experts are allowed)."""
    if ranks.world == 1:
        return model
    ids = [ranks.device.index] if ranks.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def any_rank(flag: bool, ranks: Ranks) -> bool:
    """True on every rank if it is true on one: every rank must stop on the same step, or the
    next all-reduce hangs."""
    if ranks.world == 1:
        return flag
    value = torch.tensor([float(flag)], device=ranks.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def average_gradients(parameters: list[nn.Parameter], ranks: Ranks) -> None:
    """Average gradients of parameters outside the DDP wrapper (AITE's modules)."""
    if ranks.world == 1:
        return
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= ranks.world


def merge_shards(pred: np.ndarray, ranks: Ranks) -> np.ndarray:
    """Each rank predicted a disjoint share of the rows (NaN elsewhere): the whole, on every rank."""
    if ranks.world == 1:
        return pred
    done = torch.from_numpy((~np.isnan(pred)).astype(np.float32)).to(ranks.device)
    total = torch.from_numpy(np.nan_to_num(pred)).to(ranks.device)
    dist.all_reduce(done)
    dist.all_reduce(total)
    merged = (total / done.clamp_min(1)).cpu().numpy()
    merged[done.cpu().numpy() == 0] = np.nan
    return merged


def barrier(ranks: Ranks) -> None:
    if ranks.world > 1:
        dist.barrier()
