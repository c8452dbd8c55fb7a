"""``posemoe demo``: the whole lifting pipeline on built-in synthetic data, offline.

Writes a synthetic Human3.6M-format dataset, trains a small PoseMoE on its training subjects
for a short CPU budget, selects on the validation subject and evaluates on the test subjects.
"""

from __future__ import annotations

from pathlib import Path

import torch

from posemoe.checkpoint import model_from_checkpoint
from posemoe.data import load_h36m
from posemoe.evaluate import evaluate
from posemoe.synthetic import write_synthetic_dataset
from posemoe.train import TrainConfig, train


def run_demo(out_dir: str | Path = "posemoe-demo", *, seconds: float = 60.0) -> dict[str, Path]:
    out = Path(out_dir)
    data_dir = out / "data"
    print(f"1/3 writing synthetic dataset to {data_dir}")
    write_synthetic_dataset(data_dir, frames=400)
    cfg = TrainConfig(model="posemoe-t27-s", data_dir=str(data_dir), out_dir=str(out / "run"), epochs=1000,
                      epoch_clips=512, batch_size=16, lr=2e-3, warmup_steps=30, time_budget=seconds, val_every=5,
                      threads=1)  # one thread: the budget is CPU time, which idle OpenMP threads would inflate
    print(f"2/3 training {cfg.model} for {seconds:.0f} CPU seconds (one thread) on {', '.join(cfg.train_subjects)} "
          f"(validating on {', '.join(cfg.val_subjects)})")
    train(cfg)
    print("3/3 evaluating best.pt on the test subjects S9, S11")
    model = model_from_checkpoint(out / "run" / "best.pt")
    report = evaluate(model, load_h36m(data_dir, ["S9", "S11"], "gt"), device=torch.device("cpu"))
    (out / "eval.md").write_text(report.to_markdown() + "\n")
    (out / "eval.json").write_text(report.to_json() + "\n")
    print(report.to_markdown())
    paths = {"data": data_dir, "checkpoint": out / "run" / "best.pt", "log": out / "run" / "log.csv",
             "report": out / "eval.md"}
    print("\noutputs:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
    return paths
