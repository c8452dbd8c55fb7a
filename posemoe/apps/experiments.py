"""Reproducible comparisons that the README reports: one call, fixed budget, data and seed."""

from __future__ import annotations

from pathlib import Path

from posemoe.datasets.h36m import load_h36m
from posemoe.datasets.images import ImageSet
from posemoe.evaluation.h36m import evaluate
from posemoe.evaluation.images import evaluate_images
from posemoe.training.checkpoint import model_from_checkpoint
from posemoe.training.loop import TrainConfig, train


def compare_aite(
    data_dir: str,
    train_images: str,
    val_images: str,
    *,
    out_dir: str = "runs/aite-compare",
    budget: float = 300.0,
    seed: int = 0,
    lifter: str = "posemoe-t27-s",
    image_model: str = "aitepose-s",
    val_subjects: tuple[str, ...] = ("S8",),
) -> str:
    """Train the lifter and the image model each with and without AITE (same budget of one-thread
    CPU seconds, data and seed), score the lifters on the full validation subjects and the image
    model on every held-out crop; returns a markdown table (also written to ``out_dir/results.md``)."""
    common = dict(
        seed=seed,
        threads=1,
        time_budget=budget,
        epochs=100000,
        val_every=0,
        batch_size=32,
        warmup_steps=30,
        val_subjects=list(val_subjects),
    )
    runs = {
        "lifter": TrainConfig(
            model=lifter,
            data_dir=data_dir,
            lr=2e-3,
            epoch_clips=4096,
            val_max_windows=500,
            **common,
        ),
        "image": TrainConfig(
            model=image_model,
            train_images=train_images,
            val_images=val_images,
            lr=1e-3,
            epoch_clips=4096,
            **common,
        ),
    }
    rows = []
    val_data = load_h36m(data_dir, list(val_subjects), "gt")
    val_crops = ImageSet.load(val_images)
    for kind, base in runs.items():
        for use_aite in (False, True):
            name = f"{base.model}{'-aite' if use_aite else ''}"
            cfg = base.override({"aite": use_aite, "out_dir": str(Path(out_dir) / name)})
            last = Path(cfg.out_dir) / "last.pt"
            summary = train(cfg, resume=last.exists(), restart=not last.exists(), quiet=True)
            model = model_from_checkpoint(Path(cfg.out_dir) / "last.pt")
            report = (
                evaluate(model, val_data) if kind == "lifter" else evaluate_images(model, val_crops)
            )
            data = (
                f"{', '.join(val_subjects)}, GT 2D, {report.frames} frames"
                if kind == "lifter"
                else f"rendered {', '.join(val_subjects)} crops, {report.frames}"
            )
            rows.append(
                f"| {base.model} | {'yes' if use_aite else 'no'} | {data} | {summary['step']} | "
                f"{report.frame_weighted['mpjpe']:.1f} | {report.frame_weighted['p_mpjpe']:.1f} |"
            )
            print(rows[-1], flush=True)
    table = "\n".join(
        [
            f"Budget {budget:.0f} s of one CPU thread per run, seed {seed}, test-time flip on.",
            "",
            "| model | AITE | validation data | steps | MPJPE (mm) | P-MPJPE (mm) |",
            "|---|---|---|---:|---:|---:|",
            *rows,
        ]
    )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "results.md").write_text(table + "\n")
    return table
