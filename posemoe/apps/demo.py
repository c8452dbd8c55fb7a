"""``posemoe demo``: the whole pipeline on built-in inputs, offline.

1. A procedural person (``posemoe.synthetic``) walks in front of a virtual Human3.6M camera; its
   2D projection, with detector-like noise, is lifted by the shipped lifter and rendered against
   the true 3D (MPJPE printed). 2. The bundled clip of a real person walking (an excerpt of the
   Sports2D demo video, BSD-3-Clause, see ``posemoe.assets``) goes through decoding, BlazePose,
   lifting and rendering, with the per-stage speed printed.

``run_training_demo`` is the older demo: train a small PoseMoE on a synthetic dataset for a short
CPU budget, select on the validation subject, evaluate on S9/S11 (``posemoe demo --train``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posemoe.weights import DEFAULT_LIFTER

DEMO_LIFTER = DEFAULT_LIFTER


def virtual_camera_clip(frames: int = 200, *, seed: int = 0, noise_px: float = 2.0):
    """A walking procedural person seen by Human3.6M camera 1 of S1. Returns (2D (T, 17, 3)
    pixels + confidence with Gaussian detector noise, true 3D (T, 17, 3) metres, camera frame,
    root-relative, the camera)."""
    from posemoe.camera import load_h36m_cameras
    from posemoe.datasets.synthetic import synthesize_motion
    from posemoe.layouts import H36M17, H36M32, convert

    rng = np.random.default_rng(seed)
    world = convert(synthesize_motion(frames, rng, "Walking"), H36M32, H36M17)
    camera = load_h36m_cameras()["S1"][1]
    cam = camera.world_to_camera(world)
    pixels = camera.project(cam) + rng.normal(0, noise_px, (frames, 17, 2))
    keypoints = np.concatenate([pixels, np.ones((frames, 17, 1))], -1).astype(np.float32)
    return keypoints, (cam - cam[:, :1]).astype(np.float32), camera


def _blank_frames(count: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    for _ in range(count):
        yield np.full((size[1], size[0], 3), 235, np.uint8)


def run_demo(
    out_dir: str | Path = "posemoe-demo",
    *,
    model: str = DEMO_LIFTER,
    frames: int = 200,
    runtime: str | None = None,
) -> dict[str, Path]:
    """Run both parts; print MPJPE, speed and where every output is. ``runtime``: what runs the
    lifter (:func:`~posemoe.inference.lifter.load`). Returns the output paths."""
    out = Path(out_dir)
    paths = _procedural_walk(out, model, frames, runtime)
    paths.update(_real_clip(out, model, runtime))
    print("\noutputs:")
    for name, path in paths.items():
        print(f"  {name:<28} {path}")
    return paths


def _procedural_walk(out: Path, model: str, frames: int, runtime: str | None) -> dict[str, Path]:
    """Part 1: lift a procedural walk seen by a virtual camera, compare with its true 3D, render."""
    from posemoe.evaluation.metrics import mpjpe, p_mpjpe
    from posemoe.export import write_outputs
    from posemoe.inference.lifter import load
    from posemoe.viz.render import render_outputs

    print(f"1/2 a procedural walk seen by a virtual camera, lifted by {model}")
    keypoints, truth, camera = virtual_camera_clip(frames)
    pred = load(model, runtime=runtime).lift(
        keypoints,
        layout="h36m17",
        image_size=(camera.width, camera.height),
        intrinsics=camera.intrinsics,
    )
    error, aligned = (
        float(mpjpe(pred, truth).mean() * 1000),
        float(p_mpjpe(pred, truth).mean() * 1000),
    )
    print(
        f"    MPJPE against the truth: {error:.1f} mm (P-MPJPE {aligned:.1f} mm) over {frames} frames; the "
        "procedural body's proportions are not a Human3.6M subject's"
    )
    written = write_outputs(
        out,
        "walk",
        pred,
        keypoints,
        fps=50.0,
        extra={
            "source": "procedural walk, Human3.6M camera S1/1",
            "model": model,
            "mpjpe_mm": round(error, 2),
            "p_mpjpe_mm": round(aligned, 2),
        },
    )
    np.save(out / "walk_truth.npy", truth)
    mp4, html = render_outputs(
        out,
        "walk",
        None,
        keypoints,
        pred,
        fps=50.0,
        render=("mp4", "html"),
        truth=truth,
        frames=_blank_frames(frames, (camera.width, camera.height)),
        quiet=True,
    )
    return {"walk 3D (npz/json/csv)": written[0], "walk video": mp4, "walk 3D viewer": html}


def _real_clip(out: Path, model: str, runtime: str | None) -> dict[str, Path]:
    """Part 2: the bundled clip of a real person through decoding, BlazePose, lifting and rendering."""
    from posemoe.assets import WALKING_CLIP_CREDIT, walking_clip
    from posemoe.export import write_result
    from posemoe.inference.pipeline import infer_video
    from posemoe.viz.render import render_result

    clip = walking_clip()
    print(f"2/2 a real person walking ({WALKING_CLIP_CREDIT}) -> BlazePose -> {model}")
    result = infer_video(clip, model, runtime=runtime)
    with result.stages.time("write"):
        written = write_result(result, out)
    for line in (
        result.report
        + ["speed (decode + 2D detection + lifting + writing):"]
        + result.stages.report(result.frames)
    ):
        print("    " + line)
    mp4, html = render_result(out, result, ("mp4", "html"), quiet=True)
    return {
        "real clip input": clip,
        "real clip 3D (npz/json/csv)": written[0],
        "real clip video": mp4,
        "real clip 3D viewer": html,
    }


def run_training_demo(
    out_dir: str | Path = "posemoe-demo-train", *, seconds: float = 60.0
) -> dict[str, Path]:
    """Write a synthetic Human3.6M-format dataset, train a small PoseMoE for ``seconds`` of CPU,
    select on S8, evaluate on S9/S11."""
    import torch

    from posemoe.datasets.h36m import load_h36m
    from posemoe.datasets.synthetic import write_synthetic_dataset
    from posemoe.evaluation.h36m import evaluate
    from posemoe.training.checkpoint import model_from_checkpoint
    from posemoe.training.loop import TrainConfig, train

    out = Path(out_dir)
    data_dir = out / "data"
    print(f"1/3 writing synthetic dataset to {data_dir}")
    write_synthetic_dataset(data_dir, frames=400)
    cfg = TrainConfig(
        model="posemoe-t27-s",
        data_dir=str(data_dir),
        out_dir=str(out / "run"),
        epochs=1000,
        epoch_clips=512,
        batch_size=16,
        lr=2e-3,
        warmup_steps=30,
        time_budget=seconds,
        val_every=5,
        threads=1,
    )  # one thread: the budget is CPU time, which idle OpenMP threads would inflate
    print(
        f"2/3 training {cfg.model} for {seconds:.0f} CPU seconds (one thread) on {', '.join(cfg.train_subjects)} "
        f"(validating on {', '.join(cfg.val_subjects)})"
    )
    train(cfg, restart=True)  # the demo's own folder: a second demo replaces the first
    print("3/3 evaluating best.pt on the test subjects S9, S11")
    model = model_from_checkpoint(out / "run" / "best.pt")
    report = evaluate(model, load_h36m(data_dir, ["S9", "S11"], "gt"), device=torch.device("cpu"))
    (out / "eval.md").write_text(report.to_markdown() + "\n")
    (out / "eval.json").write_text(report.to_json() + "\n")
    print(report.to_markdown())
    paths = {
        "data": data_dir,
        "checkpoint": out / "run" / "best.pt",
        "log": out / "run" / "log.csv",
        "report": out / "eval.md",
    }
    print("\noutputs:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
    return paths
