"""``posemoe models`` and ``posemoe bench``."""

from __future__ import annotations

import argparse
import json

from posemoe.cli.common import FORMATTER, bounded_int, positive_float, positive_int, set_threads
from posemoe.errors import UserError


def cmd_models(args: argparse.Namespace) -> None:
    from posemoe.models import (
        count_parameters,
        create_model,
        describe_input,
        get_config,
        list_models,
        macs_per_frame,
    )

    if not args.details:
        for name in list_models():
            cfg = get_config(name)
            print(f"{name:<28} {describe_input(cfg)}")
        print("\n`posemoe models --details` adds params and MACs per frame")
    else:
        print("| model | input | params (M) | MMACs/frame |\n|---|---|---:|---:|")
        for name in list_models():
            model = create_model(name)
            print(
                f"| {name} | {describe_input(model.config)} | {count_parameters(model) / 1e6:.2f} | {macs_per_frame(model) / 1e6:.1f} |"
            )
    print("\n" + weights_licences())


def non_commercial(training_data: str, licence: str) -> bool:
    """Whether weights of this training data and licence are for non-commercial research only:
    anything trained on Human3.6M (or renders of its poses) or on a CC BY-NC source."""
    text = f"{training_data} {licence}".lower()
    return any(key in text for key in ("non-commercial", "by-nc", "human3.6m", "h36m"))


def weights_licences() -> str:
    """Per shipped weight file: what it was trained on and under which terms, the bundled BlazePose
    models' licence, and what a commercial user can do instead. Reads metadata only (no torch)."""
    from safetensors import safe_open

    from posemoe.models.pretrained import PretrainedConfig, available, available_onnx
    from posemoe.weights import DEFAULT_LIFTER, WEIGHTS_DIR

    lines = ["shipped weights: what each was trained on, and under which terms (posemoe/weights/)"]
    onnx = set(available_onnx())
    for name in available():
        with safe_open(str(WEIGHTS_DIR / f"{name}.safetensors"), framework="numpy") as f:
            meta = f.metadata() or {}
        try:
            pretrained = PretrainedConfig.from_dict(json.loads(meta.get("pretrained_config", "{}")))
        except (json.JSONDecodeError, TypeError) as err:
            raise UserError(f"{name}.safetensors: unreadable pretrained_config ({err})") from None
        files = ".safetensors, .onnx" if name in onnx else ".safetensors"
        default = " (the default lifter)" if name == DEFAULT_LIFTER else ""
        terms = pretrained.licence
        if non_commercial(pretrained.training_data, pretrained.licence):
            terms = f"NON-COMMERCIAL RESEARCH ONLY ({terms})"
        lines += [
            f"  {name}{default} [{files}]",
            f"      trained on: {pretrained.training_data}",
            f"      terms: {terms}",
        ]
    lines += [
        "  BlazePose person detector and landmark model (posemoe/assets/pose_detection.onnx, "
        "pose_landmark_full_body.onnx): Apache-2.0 (posemoe/assets/LICENSES.md)",
        "posemoe's code: MIT. Commercial use: the shipped lifters and image models above may not be "
        "used commercially; train your own on motion you may use: BVH files as a training motion "
        'source ([[motion_sources]] kind = "bvh", virtual_share = 1.0) with `posemoe train`, from '
        "random weights (docs/licences.md).",
    ]
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> None:
    from posemoe.apps.bench import benchmark_busy_core, benchmark_video, run_benchmarks

    set_threads(args.threads)
    if args.swaps:
        from posemoe.apps.swap_bench import run_swap_benchmark

        if not args.data_dir:
            raise UserError(
                "--swaps needs --data-dir: a folder of BVH motion (the Bandai Namco set's file names)"
            )
        print(
            run_swap_benchmark(
                args.data_dir, clips_per_type=args.clips_per_type, views=args.views, fps=args.fps
            )
        )
        return
    if args.video:
        benchmark_video(args.model, frames=args.frames)
        benchmark_busy_core(args.model, frames=args.frames, rounds=args.rounds)
        return
    run_benchmarks(args.models or None, batch_size=args.batch_size, seconds=args.seconds)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list registered models (--details: params and MACs per frame)",
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "--details", action="store_true", help="build each model to count params and MACs (slow)"
    )
    p.set_defaults(func=cmd_models)

    from posemoe.weights import DEFAULT_LIFTER

    p = sub.add_parser(
        "bench",
        help="throughput, params and MACs of registered models; --video: the video pipeline; "
        "--swaps: the left/right clean-up",
        formatter_class=FORMATTER,
    )
    p.add_argument("models", nargs="*", help="model names (default: all registered lifters)")
    p.add_argument(
        "--video",
        action="store_true",
        help="speed of `posemoe infer VIDEO` on a 720p clip, stage by stage",
    )
    p.add_argument("--model", default=DEFAULT_LIFTER, help="--video: the lifter")
    p.add_argument("--frames", type=positive_int, default=300, help="--video: clip length")
    p.add_argument(
        "--rounds",
        type=bounded_int(100),
        default=3,
        help="--video: rounds of the quiet and busy-core rows (one core kept busy by another "
        "process), alternated; each row shows the median",
    )
    p.add_argument(
        "--swaps",
        action="store_true",
        help="the left/right clean-up on BVH motion through virtual cameras with injected swaps: swapped "
        "frames restored, correct frames changed, per motion type",
    )
    p.add_argument(
        "--data-dir", help="--swaps: folder of BVH files named dataset-1_<content>_<style>_<id>.bvh"
    )
    p.add_argument(
        "--clips-per-type", type=positive_int, default=4, help="--swaps: clips per motion type"
    )
    p.add_argument(
        "--views", type=positive_int, default=3, help="--swaps: virtual cameras per clip"
    )
    p.add_argument(
        "--fps",
        type=positive_float,
        help="--swaps: resample the motion to this rate (default: the files')",
    )
    p.add_argument("--threads", type=positive_int, help="torch threads (default: torch's choice)")
    p.add_argument("--batch-size", type=bounded_int(4096), default=8, help="clips per step")
    p.add_argument("--seconds", type=positive_float, default=3.0, help="time per measurement")
    p.set_defaults(func=cmd_bench)
