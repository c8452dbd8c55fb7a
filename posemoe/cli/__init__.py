"""The ``posemoe`` command: train, eval, infer, bench, models, prepare-2d, synth, render-bodies,
import-images, export, demo."""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Any


def _parse_value(text: str) -> Any:
    """TOML-ish literal: numbers, true/false, lists, quoted or bare strings."""
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``["lr=1e-3", "loss_weights.velocity=2"]`` -> nested dict."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"error: --set expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        *parents, leaf = key.strip().split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = _parse_value(value.strip())
    return out


def cmd_train(args: argparse.Namespace) -> None:
    from posemoe.training.loop import TrainConfig, train

    cfg = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    values = _overrides(args.set)
    for name in ("data_dir", "out_dir", "model", "epochs", "time_budget", "threads", "device", "source"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.aite:
        values["aite"] = True
    cfg = cfg.override(values)
    summary = train(cfg, resume=args.resume)
    print(json.dumps(summary, indent=2, default=str))


def cmd_eval(args: argparse.Namespace) -> None:
    import torch

    from posemoe.datasets.h36m import load_h36m
    from posemoe.datasets.images import ImageSet
    from posemoe.evaluation.h36m import evaluate, evaluate_images
    from posemoe.models import is_image_model
    from posemoe.models.pretrained import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_model(args.checkpoint, map_location=device)
    if is_image_model(model.config):
        if not args.images:
            raise ValueError("an image model is evaluated on --images SET.npz (posemoe render-bodies / import-images)")
        report = evaluate_images(model, ImageSet.load(args.images), flip=not args.no_flip, device=device,
                                 batch_size=args.batch_size)
    else:
        if not args.data_dir:
            raise ValueError("a lifting model is evaluated on --data-dir (VideoPose3D-format files)")
        data = load_h36m(args.data_dir, args.subjects, args.source, dataset=args.dataset)
        for line in data.report:
            print("data:", line, file=sys.stderr)
        report = evaluate(model, data, flip=not args.no_flip, device=device, batch_size=args.batch_size)
    report.extra["checkpoint"] = str(args.checkpoint)
    markdown = report.to_markdown()
    print(markdown)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "eval.md").write_text(markdown + "\n")
        (out / "eval.json").write_text(report.to_json() + "\n")
        print(f"\nwrote {out / 'eval.md'} and {out / 'eval.json'}")


def cmd_models(args: argparse.Namespace) -> None:
    from posemoe.models import (
        count_parameters,
        create_model,
        is_image_model,
        list_models,
        macs_per_frame,
    )

    print("| model | input | params (M) | MMACs/frame |\n|---|---|---:|---:|")
    for name in list_models():
        model = create_model(name)
        cfg = model.config
        what = f"{cfg.image_size} px crop" if is_image_model(cfg) else f"{cfg.num_frames} frames"
        print(f"| {name} | {what} | {count_parameters(model) / 1e6:.2f} | {macs_per_frame(model) / 1e6:.1f} |")


def cmd_infer(args: argparse.Namespace) -> None:
    from posemoe.inference.pipeline import (
        DEFAULT_LIFTER,
        infer_image,
        infer_keypoints,
        infer_stream,
        infer_video,
    )
    from posemoe.io.video import IMAGE_SUFFIXES

    text, path = str(args.input), Path(args.input)
    model = args.model or DEFAULT_LIFTER
    if text.isdigit() or "://" in text:
        infer_stream(text, model, out_dir=args.out, max_frames=args.max_frames)
        return
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    keypoint_input = path.suffix.lower() in (".json", ".npy", ".npz") or (
        path.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()))
    if keypoint_input:
        if args.image_size is None:
            raise ValueError("keypoint files need --image-size WIDTH HEIGHT (of the video they came from)")
        infer_keypoints(path, model, image_size=tuple(args.image_size), layout=args.layout, fps=args.fps or 50.0,
                        track=args.track, smooth=args.smooth, out_dir=args.out)
        return
    if args.track is not None:
        raise ValueError("--track applies to keypoint files; BlazePose follows one person per video")
    if path.suffix.lower() in IMAGE_SUFFIXES and args.model:
        from posemoe.models import is_image_model
        from posemoe.models.pretrained import load_model

        if is_image_model(load_model(args.model).config):
            infer_image(path, args.model, out_dir=args.out, bbox=args.bbox, flip=not args.no_flip)
            return
    infer_video(path, model, out_dir=args.out, smooth=args.smooth, render=tuple(args.render), fps=args.fps,
                max_frames=args.max_frames)


def cmd_render_bodies(args: argparse.Namespace) -> None:
    from posemoe.datasets.bodies import RenderOptions, render_dataset
    from posemoe.datasets.h36m import Protocol, load_h36m

    if not args.allow_test:
        Protocol(train=(), val=tuple(args.subjects)).check_no_test_leak()
    data = load_h36m(args.data_dir, args.subjects, "gt", dataset=args.dataset)
    images = render_dataset(data, args.count, seed=args.seed, options=RenderOptions(size=args.size), progress=True)
    images.save(args.out)
    print(f"wrote {len(images.images)} crops of {args.size} px ({', '.join(args.subjects)}) to {args.out}")


def cmd_import_images(args: argparse.Namespace) -> None:
    from posemoe.datasets.images import load_coco_json, load_h36m_json

    loader = {"h36m": load_h36m_json, "coco": load_coco_json}[args.format]
    images = loader(args.json, args.images, args.size, limit=args.limit)
    images.save(args.out)
    print(f"wrote {len(images.images)} crops of {args.size} px to {args.out}")


def cmd_compare_aite(args: argparse.Namespace) -> None:
    from posemoe.apps.experiments import compare_aite

    print(compare_aite(args.data_dir, args.train_images, args.val_images, out_dir=args.out_dir, budget=args.budget,
                       seed=args.seed))


def cmd_export(args: argparse.Namespace) -> None:
    from posemoe.models.pretrained import export_weights

    path = export_weights(args.checkpoint, args.out, description=args.description, half=args.half)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def cmd_bench(args: argparse.Namespace) -> None:
    from posemoe.apps.bench import benchmark_video, run_benchmarks

    if args.video:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        benchmark_video(args.model, frames=args.frames)
        return
    run_benchmarks(args.models or None, threads=args.threads, batch_size=args.batch_size, seconds=args.seconds)


def cmd_prepare_2d(args: argparse.Namespace) -> None:
    from posemoe.datasets.h36m import write_gt_2d

    print(f"wrote {write_gt_2d(args.data_dir, args.dataset, args.cameras)}")


def cmd_synth(args: argparse.Namespace) -> None:
    from posemoe.datasets.synthetic import write_synthetic_dataset

    paths = write_synthetic_dataset(args.out_dir, subjects=args.subjects, frames=args.frames, seed=args.seed)
    for path in paths:
        print(f"wrote {path}")


def cmd_demo(args: argparse.Namespace) -> None:
    from posemoe.apps.demo import DEMO_LIFTER, run_demo, run_training_demo

    if args.train:
        run_training_demo(args.out_dir or "posemoe-demo-train", seconds=args.seconds)
    else:
        run_demo(args.out_dir or "posemoe-demo", model=args.model or DEMO_LIFTER)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posemoe", description="Monocular 3D human pose estimation toolkit.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a lifting model")
    p.add_argument("--config", type=Path, help="TOML file of training options (see configs/)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override an option (repeatable)")
    p.add_argument("--data-dir")
    p.add_argument("--out-dir")
    p.add_argument("--model", help="registered model name (see `posemoe models`)")
    p.add_argument("--source", help="2D source: gt, sh, cpn_ft_h36m_dbb, ...")
    p.add_argument("--epochs", type=int)
    p.add_argument("--time-budget", type=float, help="stop after this many seconds of training (CPU time on CPU)")
    p.add_argument("--threads", type=int, help="CPU threads")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    p.add_argument("--aite", action="store_true", help="train with AITE (disturbance-correction modules, training only)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint under the Human3.6M protocols")
    p.add_argument("checkpoint", help="a .pt checkpoint, a .safetensors file or the name of shipped weights")
    p.add_argument("--data-dir", help="VideoPose3D-format files (lifting models)")
    p.add_argument("--images", help="an ImageSet .npz (image models)")
    p.add_argument("--dataset", default="h36m")
    p.add_argument("--source", default="gt", help="2D source file suffix (default gt)")
    p.add_argument("--subjects", nargs="+", default=["S9", "S11"], help="default: the test subjects S9 S11")
    p.add_argument("--no-flip", action="store_true", help="disable test-time flip augmentation")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int)
    p.add_argument("--device")
    p.add_argument("--out", help="folder for eval.md and eval.json")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("infer", help="3D pose from a video, images, a webcam or stream, or 2D keypoint files")
    p.add_argument("input", help="a video file; an image or a folder of frames; a webcam index (0) or stream URL "
                                 "(lifted online); or keypoints: COCO/MMPose or AlphaPose .json, an OpenPose folder, "
                                 ".npy/.npz")
    p.add_argument("--model", help="lifter (default posemoe-t27-s-h36m) or an image model (aitepose-*) for one "
                                   "image; shipped weights name, or a .safetensors / .pt file")
    p.add_argument("--render", nargs="*", default=[], choices=["mp4", "html"],
                   help="also write <name>.mp4 (2D over the video beside 3D) and/or <name>.html (rotatable 3D)")
    p.add_argument("--smooth", action="store_true", help="One-Euro smoothing of the 3D joints")
    p.add_argument("--fps", type=float, help="frame rate (default: the video's; 30 for image folders; 50 for keypoints)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--layout", help="joint layout of keypoint files (halpe26 for AlphaPose; needed for arrays)")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), help="frame size of the keypoints' video")
    p.add_argument("--track", type=int, help="keypoint files: lift this track instead of the largest, most persistent person")
    p.add_argument("--bbox", type=float, nargs=4, metavar=("X", "Y", "W", "H"),
                   help="image models: the person's box in pixels (default: the whole image)")
    p.add_argument("--out", default="posemoe-out", help="folder for the outputs")
    p.add_argument("--no-flip", action="store_true", help="image models: disable test-time flip augmentation")
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("render-bodies", help="render capsule-body crops with 3D labels from real 3D poses")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="h36m")
    p.add_argument("--subjects", nargs="+", required=True)
    p.add_argument("--count", type=int, default=20000, help="about this many crops, spread over all sequences")
    p.add_argument("--size", type=int, default=128, help="crop side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--allow-test", action="store_true", help="allow the test subjects S9/S11 (final evaluation only)")
    p.set_defaults(func=cmd_render_bodies)

    p = sub.add_parser("import-images", help="crop annotated images (Human3.6M JSON or COCO) into an ImageSet .npz")
    p.add_argument("--format", choices=["h36m", "coco"], required=True)
    p.add_argument("--json", required=True, help="annotation file")
    p.add_argument("--images", required=True, help="folder the file names are relative to")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--limit", type=int, help="at most this many annotations")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_images)

    p = sub.add_parser("compare-aite", help="PoseMoE and AITEPose, each with and without AITE, same budget/data/seed")
    p.add_argument("--data-dir", required=True, help="VideoPose3D-format files (train S1 S5 S6 S7, validate S8)")
    p.add_argument("--train-images", required=True, help="rendered training crops (posemoe render-bodies)")
    p.add_argument("--val-images", required=True, help="rendered validation crops")
    p.add_argument("--budget", type=float, default=300.0, help="CPU seconds (one thread) per run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default="runs/aite-compare")
    p.set_defaults(func=cmd_compare_aite)

    p = sub.add_parser("export", help="write a checkpoint's plain network as .safetensors (for shipping)")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--description", default="")
    p.add_argument("--half", action="store_true", help="store float16 (half the size)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("models", help="list registered models with params and MACs per frame")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("bench", help="throughput, params and MACs of registered models; --video: the video pipeline")
    p.add_argument("models", nargs="*", help="model names (default: all registered)")
    p.add_argument("--video", action="store_true", help="speed of `posemoe infer VIDEO` on a 720p clip, stage by stage")
    p.add_argument("--model", default="posemoe-t27-s-h36m", help="--video: the lifter")
    p.add_argument("--frames", type=int, default=300, help="--video: clip length")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("prepare-2d", help="write data_2d_<dataset>_gt.npz from the 3D file and the cameras")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="h36m")
    p.add_argument("--cameras", help="camera JSON (default: the Human3.6M cameras shipped with posemoe)")
    p.set_defaults(func=cmd_prepare_2d)

    p = sub.add_parser("synth", help="write a small synthetic dataset in the VideoPose3D formats")
    p.add_argument("out_dir")
    p.add_argument("--subjects", nargs="+", default=["S1", "S5", "S6", "S7", "S8", "S9", "S11"])
    p.add_argument("--frames", type=int, default=300, help="frames per sequence")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("demo", help="the whole pipeline on built-in inputs, no downloads: a procedural walk lifted "
                                    "against its truth, and a video of a real person to 3D, rendered")
    p.add_argument("--out-dir", help="default: posemoe-demo (posemoe-demo-train with --train)")
    p.add_argument("--model", help="lifter to use (default: the shipped posemoe-t27-s-h36m)")
    p.add_argument("--train", action="store_true", help="instead: train a small PoseMoE on synthetic data, evaluate it")
    p.add_argument("--seconds", type=float, default=60.0, help="--train: training budget (CPU seconds)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, KeyError, FileNotFoundError, ImportError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"posemoe {args.command}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
