"""``posemoe demo`` and ``posemoe compare-aite``."""

from __future__ import annotations

import argparse

from posemoe.cli.common import (
    FORMATTER,
    add_out_option,
    add_runtime_option,
    check_out_dir,
    positive_float,
    set_inference_threads,
    set_threads,
)


def cmd_demo(args: argparse.Namespace) -> None:
    from posemoe.apps.demo import DEMO_LIFTER, run_demo, run_training_demo

    check_out_dir(args.out)
    if args.train:
        set_threads(1)  # the budget is CPU time
        run_training_demo(args.out or "posemoe-demo-train", seconds=args.seconds)
    else:
        set_inference_threads(1)  # one thread beside the detector
        run_demo(args.out or "posemoe-demo", model=args.model or DEMO_LIFTER, runtime=args.runtime)


def cmd_compare_aite(args: argparse.Namespace) -> None:
    from posemoe.apps.experiments import compare_aite

    check_out_dir(args.out)
    set_threads(1)  # budgets are seconds of one CPU thread
    print(
        compare_aite(
            args.data_dir,
            args.train_images,
            args.val_images,
            out_dir=args.out,
            budget=args.budget,
            seed=args.seed,
        )
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the whole pipeline on built-in inputs, no downloads: a procedural walk lifted "
        "against its truth, and a video of a real person to 3D, rendered",
        formatter_class=FORMATTER,
    )
    add_out_option(
        p, "folder for the outputs (default: posemoe-demo; posemoe-demo-train with --train)"
    )
    p.add_argument("--model", help="lifter to use (default: the shipped default lifter)")
    p.add_argument(
        "--train",
        action="store_true",
        help="instead: train a small PoseMoE on synthetic data, evaluate it",
    )
    p.add_argument(
        "--seconds",
        type=positive_float,
        default=60.0,
        help="--train: training budget (CPU seconds)",
    )
    add_runtime_option(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "compare-aite",
        help="PoseMoE and AITEPose, each with and without AITE, same budget/data/seed",
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "--data-dir",
        required=True,
        help="VideoPose3D-format files (train S1 S5 S6 S7, validate S8)",
    )
    p.add_argument(
        "--train-images", required=True, help="rendered training crops (posemoe render-bodies)"
    )
    p.add_argument("--val-images", required=True, help="rendered validation crops")
    p.add_argument(
        "--budget", type=positive_float, default=300.0, help="CPU seconds (one thread) per run"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_out_option(p, "folder for the four runs and results.md", default="runs/aite-compare")
    p.set_defaults(func=cmd_compare_aite)
