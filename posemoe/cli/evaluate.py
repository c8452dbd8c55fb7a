"""``posemoe eval``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posemoe.cli.common import (
    FORMATTER,
    add_upright_options,
    bounded_int,
    check_out_dir,
    float_in,
    pick_device,
    positive_int,
    set_threads,
    upright,
    upright_given,
    usable_cpus,
)
from posemoe.errors import UserError


def cmd_eval(args: argparse.Namespace) -> None:
    from posemoe.io.files import write_files
    from posemoe.models import task_of
    from posemoe.models.pretrained import load_pretrained

    _refuse_what_does_not_apply(args)
    limit = upright(args)  # refuses --upright with --no-upright before anything loads
    if upright_given(args) and args.dataset not in CROSS_DATASET:
        raise UserError(_NOTHING_TURNS)
    check_out_dir(args.out)
    set_threads(args.threads or usable_cpus())
    device = pick_device(args.device)
    model, pretrained = load_pretrained(args.checkpoint, map_location=device)
    image = task_of(model.config) == "image"  # the image models' own evaluation: crops
    if image and upright_given(args):
        raise UserError(_NOTHING_TURNS)
    cross = args.dataset in CROSS_DATASET and not image
    if image:
        report = _eval_images(args, model, device)
    elif cross:
        report = _eval_cross_dataset(args, model, pretrained, limit)
    else:
        report = _eval_lifter(args, model, pretrained.codec, device)
    markdown = report.to_markdown()
    if cross:  # the settings that change these figures, in what is printed and written
        settings = [
            f"upright turning {'off' if limit is None else f'past {limit:g} degrees'}",
            f"windows {args.windows}",
            f"test-time flip {'off' if args.no_flip else 'on'}",
        ]
        if args.dataset != "humaneva":
            settings.append(f"intrinsics {args.intrinsics}")
        if args.dataset == "mpi-inf-3dhp" and args.subjects:
            settings.append(f"sequences {' '.join(args.subjects)}")
        if args.dataset == "h36m-virtual":
            settings += [
                f"subjects {' '.join(args.subjects or ['S8'])}",
                f"seed {args.seed}",
                f"roll {args.roll:g} degrees",
            ]
        markdown = f"{args.checkpoint}: {args.dataset}; {', '.join(settings)}\n\n{markdown}"
    print(markdown)
    if args.out:
        out = Path(args.out)
        files = {out / "eval.md": lambda f: f.write(markdown + "\n")}
        if hasattr(report, "to_json"):
            report.extra["checkpoint"] = str(args.checkpoint)
            files[out / "eval.json"] = lambda f: f.write(report.to_json() + "\n")
        elif cross:
            files[out / "eval.json"] = lambda f: f.write(
                _as_json(report, markdown.split("\n")[0]) + "\n"
            )
        print("\nwrote " + ", ".join(str(p) for p in write_files(files)))


def _eval_images(args: argparse.Namespace, model, device: str):
    from posemoe.datasets.images import ImageSet
    from posemoe.evaluation.images import evaluate_images

    if not args.images:
        raise UserError(
            "an image model is evaluated on --images SET.npz (posemoe render-bodies / import-images)"
        )
    images = ImageSet.load(args.images)
    size = images.images.shape[1]
    if size != model.config.image_size:
        raise UserError(
            f"--images {args.images}: crops of {size} px, but the model takes {model.config.image_size} px "
            f"(write the set with --size {model.config.image_size})"
        )
    return evaluate_images(
        model, images, flip=not args.no_flip, device=device, batch_size=args.batch_size
    )


CROSS_DATASET = ("mpi-inf-3dhp", "humaneva", "h36m-virtual")
_NOTHING_TURNS = (
    f"--upright / --no-upright apply to lifting through the Lifter (--dataset {', '.join(CROSS_DATASET)}); "
    "the Human3.6M protocol and image models do not turn bodies"
)


def _refuse_what_does_not_apply(args: argparse.Namespace) -> None:
    """Options a dataset does not use are refused, so that no figure is taken for what it is not."""
    dataset = args.dataset
    if args.roll and dataset != "h36m-virtual":
        raise UserError(
            f"--roll turns the cameras of --dataset h36m-virtual; {dataset} has its own cameras"
        )
    if args.seed != 0 and dataset != "h36m-virtual":
        raise UserError(
            f"--seed draws the cameras of --dataset h36m-virtual; {dataset} has its own"
        )
    if dataset in CROSS_DATASET and args.source != "gt":
        raise UserError(
            f"--dataset {dataset} is scored from ground-truth 2D; --source {args.source} applies to "
            "VideoPose3D-format 2D files (--dataset h36m)"
        )
    if dataset == "humaneva" and args.subjects:
        raise UserError(
            "--dataset humaneva scores Validate/S1-S3 (the standard protocol) and the held-out chunks of "
            "every Train subject; --subjects does not apply"
        )
    if args.intrinsics != "known" and dataset not in ("mpi-inf-3dhp", "h36m-virtual"):
        raise UserError(
            f"--intrinsics applies to --dataset mpi-inf-3dhp and h36m-virtual, not {dataset}"
        )


def _as_json(report, settings: str) -> str:
    """A cross-dataset report (dataclasses of scores) as JSON, with the line of settings behind it."""
    import dataclasses
    import json

    import numpy as np

    def plain(x):
        if dataclasses.is_dataclass(x):
            return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, dict):
            return {
                (" ".join(k) if isinstance(k, tuple) else str(k)): plain(v) for k, v in x.items()
            }
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x.item() if isinstance(x, np.generic) else x

    return json.dumps({"settings": settings, **plain(report)}, indent=2)


def _eval_cross_dataset(args: argparse.Namespace, model, pretrained, limit: float | None):
    from posemoe.evaluation import cross_dataset
    from posemoe.inference.lifter import Lifter

    if not args.data_dir:
        raise UserError(f"--dataset {args.dataset} needs --data-dir")
    lifter = Lifter(
        model,
        pretrained,
        stride=model.config.num_frames if args.windows == "end-to-end" else None,
        flip=not args.no_flip,
        upright=limit,
    )
    known = args.intrinsics == "known"
    if args.dataset == "mpi-inf-3dhp":
        report = cross_dataset.evaluate_mpi_inf_3dhp(
            lifter, args.data_dir, args.subjects, known_intrinsics=known, quiet=False
        )
    elif args.dataset == "humaneva":
        report = cross_dataset.evaluate_humaneva(lifter, args.data_dir, quiet=False)
    else:
        report = cross_dataset.evaluate_virtual_views(
            lifter,
            args.data_dir,
            args.subjects or ["S8"],
            seed=args.seed,
            known_intrinsics=known,
            roll=args.roll,
            quiet=False,
        )
    return report


def _eval_lifter(args: argparse.Namespace, model, codec: str, device: str):
    from posemoe.codecs import dataset_encoding
    from posemoe.datasets.registry import load_sources
    from posemoe.evaluation.h36m import evaluate

    if not args.data_dir:
        raise UserError("a lifting model is evaluated on --data-dir (VideoPose3D-format files)")
    data = load_sources(
        args.data_dir,
        args.subjects or ["S9", "S11"],
        args.source,
        dataset=args.dataset,
        codec=dataset_encoding(codec)[0],
    )
    for line in data.report:
        print("data:", line, file=sys.stderr)
    stride = model.config.num_frames if args.windows == "end-to-end" else None
    report = evaluate(
        model,
        data,
        flip=not args.no_flip,
        device=device,
        batch_size=args.batch_size,
        stride=stride,
        codec=codec,
        quiet=False,
    )
    report.extra["windows"] = args.windows
    return report


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model: Human3.6M protocols for lifters, crops for image models",
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "checkpoint", help="a .pt checkpoint, a .safetensors file or the name of shipped weights"
    )
    p.add_argument("--data-dir", help="VideoPose3D-format files (lifting models)")
    p.add_argument("--images", help="an ImageSet .npz (image models)")
    p.add_argument(
        "--dataset",
        default="h36m",
        help="h36m (or another VideoPose3D-format name); mpi-inf-3dhp (TS*/annot_data.mat, GT 2D), "
        "humaneva (VideoPose3D files: the standard protocol on Validate/S1-S3, Walking and Jog, and our "
        "validation chunks of Train), h36m-virtual (Human3.6M motion seen by "
        "seeded virtual cameras; --subjects, default S8)",
    )
    p.add_argument(
        "--seed",
        type=bounded_int(2**31 - 1, low=0),
        default=0,
        help="h36m-virtual: the cameras' seed",
    )
    p.add_argument(
        "--roll",
        type=float_in(-180.0, 180.0),
        default=0.0,
        metavar="DEG",
        help="h36m-virtual: turn every camera this much further about its optical axis (held askew)",
    )
    p.add_argument(
        "--intrinsics",
        choices=("known", "guess"),
        default="known",
        help="mpi-inf-3dhp, h36m-virtual: give camera-codec lifters each camera's focal length and "
        "principal point, or let them guess (60 degrees, image centre) as for an unknown video",
    )
    p.add_argument(
        "--source",
        default="gt",
        help="2D source file suffix (--dataset h36m and other VideoPose3D names)",
    )
    p.add_argument(
        "--subjects",
        nargs="+",
        help="subjects to score (default: the test subjects S9 S11; S8 for h36m-virtual); sequences (TS5 ...) "
        "for mpi-inf-3dhp (default: every TS* folder)",
    )
    p.add_argument(
        "--windows",
        choices=["blended", "end-to-end"],
        default="blended",
        help="lifters: overlapping windows blended (as inference runs) or laid end to end (each frame once)",
    )
    p.add_argument("--no-flip", action="store_true", help="disable test-time flip augmentation")
    add_upright_options(
        p, f" (--dataset {', '.join(CROSS_DATASET)})"
    )  # these lift through the Lifter as inference does
    p.add_argument(
        "--batch-size", type=positive_int, default=64, help="windows (or crops) per forward pass"
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        help=f"CPU threads (default: every CPU this process may use, {usable_cpus()} here)",
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--out", help="folder for eval.md and eval.json")
    p.set_defaults(func=cmd_eval)
