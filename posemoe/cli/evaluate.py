"""``posemoe eval``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posemoe.cli.common import FORMATTER, pick_device, positive_int, set_threads
from posemoe.errors import UserError


def cmd_eval(args: argparse.Namespace) -> None:
    from posemoe.export.results import write_files
    from posemoe.models import is_image_model
    from posemoe.models.pretrained import load_pretrained

    set_threads(args.threads)
    device = pick_device(args.device)
    model, pretrained = load_pretrained(args.checkpoint, map_location=device)
    if is_image_model(model.config):
        report = _eval_images(args, model, device)
    else:
        report = _eval_lifter(args, model, pretrained.codec, device)
    report.extra["checkpoint"] = str(args.checkpoint)
    markdown = report.to_markdown()
    print(markdown)
    if args.out:
        out = Path(args.out)
        write_files({out / "eval.md": lambda f: f.write(markdown + "\n"),
                     out / "eval.json": lambda f: f.write(report.to_json() + "\n")})
        print(f"\nwrote {out / 'eval.md'} and {out / 'eval.json'}")


def _eval_images(args: argparse.Namespace, model, device: str):
    from posemoe.datasets.images import ImageSet
    from posemoe.evaluation.images import evaluate_images

    if not args.images:
        raise UserError("an image model is evaluated on --images SET.npz (posemoe render-bodies / import-images)")
    return evaluate_images(model, ImageSet.load(args.images), flip=not args.no_flip, device=device,
                           batch_size=args.batch_size)


def _eval_lifter(args: argparse.Namespace, model, codec: str, device: str):
    from posemoe.datasets import get_dataset
    from posemoe.evaluation.h36m import evaluate

    if not args.data_dir:
        raise UserError("a lifting model is evaluated on --data-dir (VideoPose3D-format files)")
    data = get_dataset(args.dataset).load(args.data_dir, args.subjects, args.source)
    for line in data.report:
        print("data:", line, file=sys.stderr)
    stride = model.config.num_frames if args.windows == "end-to-end" else None
    report = evaluate(model, data, flip=not args.no_flip, device=device, batch_size=args.batch_size, stride=stride,
                      codec=codec)
    report.extra["windows"] = args.windows
    return report


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model: Human3.6M protocols for lifters, crops for image models",
                       formatter_class=FORMATTER)
    p.add_argument("checkpoint", help="a .pt checkpoint, a .safetensors file or the name of shipped weights")
    p.add_argument("--data-dir", help="VideoPose3D-format files (lifting models)")
    p.add_argument("--images", help="an ImageSet .npz (image models)")
    p.add_argument("--dataset", default="h36m", help="dataset name in the file names (data_3d_<dataset>.npz)")
    p.add_argument("--source", default="gt", help="2D source file suffix")
    p.add_argument("--subjects", nargs="+", default=["S9", "S11"], help="subjects to score (default: the test subjects)")
    p.add_argument("--windows", choices=["blended", "end-to-end"], default="blended",
                   help="lifters: overlapping windows blended (as inference runs) or laid end to end (each frame once)")
    p.add_argument("--no-flip", action="store_true", help="disable test-time flip augmentation")
    p.add_argument("--batch-size", type=positive_int, default=64, help="windows (or crops) per forward pass")
    p.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's choice)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--out", help="folder for eval.md and eval.json")
    p.set_defaults(func=cmd_eval)
