"""``posemoe train`` and ``posemoe export``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from posemoe.cli.common import (
    FORMATTER,
    add_out_option,
    overrides,
    positive_float,
    positive_int,
    set_threads,
)
from posemoe.errors import UserError


def cmd_train(args: argparse.Namespace) -> None:
    from posemoe.training import TrainConfig, train

    cfg = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    values = overrides(args.set)
    for name in (
        "data_dir",
        "model",
        "epochs",
        "time_budget",
        "step_budget",
        "threads",
        "device",
        "source",
        "seed",
    ):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.out is not None:
        values["out_dir"] = args.out
    if args.aite:
        values["aite"] = True
    cfg = cfg.override(values)
    set_threads(cfg.threads)
    summary = train(cfg, resume=args.resume, allow_changes=args.allow_changes, restart=args.restart)
    print(json.dumps(summary, indent=2, default=str))


def cmd_export(args: argparse.Namespace) -> None:
    if args.onnx:
        return _export_onnx(args)
    from posemoe.export.weights import export_weights

    if args.average_weight is not None and args.average_with is None:
        raise UserError("--average-weight is the share of --average-with's weights: give both")
    path = export_weights(
        args.checkpoint,
        args.out,
        description=args.description,
        half=args.half,
        average_with=args.average_with,
        weight=0.5 if args.average_weight is None else args.average_weight,
        raw=args.raw_weights,
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def _export_onnx(args: argparse.Namespace) -> None:
    from posemoe.export.onnx import export_onnx

    given = [
        flag
        for flag, value in (
            ("--average-with", args.average_with),
            ("--average-weight", args.average_weight),
            ("--raw-weights", args.raw_weights),
        )
        if value
    ]
    if given:
        raise UserError(
            f"{' and '.join(given)} shape the weights of a training checkpoint: export it as .safetensors "
            "with them first, then that file with --onnx"
        )
    set_threads(1)
    path, difference = export_onnx(
        args.checkpoint, args.out, half=args.half, description=args.description
    )
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB); ONNX Runtime's outputs differ from torch's by at most "
        f"{difference:.2g} on random inputs"
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model (lifter or image model)",
        formatter_class=FORMATTER,
        description="Options come from --config (TOML, see configs/), then --set, then the flags below.",
    )
    p.add_argument("--config", type=Path, help="TOML file of training options (see configs/)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any training option, e.g. --set lr=5e-4 --set loss_weights.velocity=2 (repeatable)",
    )
    p.add_argument(
        "--data-dir",
        help="folder with the VideoPose3D-format files (default from the config: data/h36m)",
    )
    add_out_option(
        p, "folder for checkpoints and log.csv (default from the config's out_dir: runs/posemoe)"
    )
    p.add_argument("--model", help="registered model name (see `posemoe models`)")
    p.add_argument(
        "--source", help="2D source file suffix: gt, sh, cpn_ft_h36m_dbb, ...; gt+sh trains on both"
    )
    p.add_argument(
        "--epochs", type=positive_int, help="epochs to train (default from the config: 80)"
    )
    p.add_argument(
        "--time-budget",
        type=positive_float,
        help="stop after this many seconds of training (CPU time on CPU)",
    )
    p.add_argument(
        "--step-budget",
        type=positive_int,
        help="stop after this many optimiser steps (the schedule follows them, the same on any machine; "
        "keep it well above warmup_steps)",
    )
    p.add_argument("--seed", type=int, help="random seed (default from the config: 0)")
    p.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's choice)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--restart",
        action="store_true",
        help="start afresh in an OUT that holds a run, deleting its last.pt, best.pt and log.csv "
        "(without it, or --resume, such a folder is refused)",
    )
    p.add_argument(
        "--allow-changes",
        action="store_true",
        help="with --resume: continue although data, split or schedule settings differ from the checkpoint's",
    )
    p.add_argument(
        "--aite",
        action="store_true",
        help="train with AITE (disturbance-correction modules, training only)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "export",
        help="write a checkpoint's plain network as .safetensors (for shipping), or any "
        "weights as .onnx (--onnx: run without torch)",
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "checkpoint",
        help="a training checkpoint (.pt); with --onnx also .safetensors or a shipped name",
    )
    p.add_argument("out", help="the .safetensors file to write (.onnx with --onnx)")
    p.add_argument(
        "--onnx",
        action="store_true",
        help="write ONNX (dynamic batch; the model and pretrained configs in its metadata), checked against "
        "torch; posemoe infer --model FILE.onnx runs it on ONNX Runtime",
    )
    p.add_argument("--description", default="", help="free text stored in the file's metadata")
    p.add_argument(
        "--half", action="store_true", help="store float16 (half the size; loaded back as float32)"
    )
    p.add_argument(
        "--average-with",
        help="average the weights with these (same architecture; e.g. the weights a "
        "fine-tune started from): shipped name or file",
    )
    p.add_argument(
        "--average-weight",
        type=float,
        help="--average-with: the share of those weights (default: 0.5)",
    )
    p.add_argument(
        "--raw-weights",
        action="store_true",
        help="a run trained with ema_decay: export its trained weights, not their moving average",
    )
    p.set_defaults(func=cmd_export)
