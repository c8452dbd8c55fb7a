"""``posemoe models`` and ``posemoe bench``."""

from __future__ import annotations

import argparse

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
    from posemoe.models.pretrained import available
    from posemoe.weights import DEFAULT_LIFTER

    if not args.details:
        for name in list_models():
            cfg = get_config(name)
            print(f"{name:<28} {describe_input(cfg)}")
        shipped = [
            f"{name} (the default lifter)" if name == DEFAULT_LIFTER else name
            for name in available()
        ]
        print(
            f"\nshipped weights: {', '.join(shipped)} (`posemoe models --details` adds params and MACs)"
        )
        return
    print("| model | input | params (M) | MMACs/frame |\n|---|---|---:|---:|")
    for name in list_models():
        model = create_model(name)
        print(
            f"| {name} | {describe_input(model.config)} | {count_parameters(model) / 1e6:.2f} | {macs_per_frame(model) / 1e6:.1f} |"
        )


def cmd_bench(args: argparse.Namespace) -> None:
    from posemoe.apps.bench import benchmark_video, run_benchmarks

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
