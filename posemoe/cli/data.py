"""Data commands: ``prepare-2d``, ``synth``, ``render-bodies``, ``import-images``."""

from __future__ import annotations

import argparse
from pathlib import Path

from posemoe.cli.common import FORMATTER, bounded_int, positive_int


def cmd_prepare_2d(args: argparse.Namespace) -> None:
    from posemoe.datasets.h36m import write_gt_2d

    print(f"wrote {write_gt_2d(args.data_dir, args.dataset, args.cameras)}")


def cmd_synth(args: argparse.Namespace) -> None:
    from posemoe.datasets.synthetic import write_synthetic_dataset

    for path in write_synthetic_dataset(
        args.out_dir, subjects=args.subjects, frames=args.frames, seed=args.seed
    ):
        print(f"wrote {path}")


def cmd_render_bodies(args: argparse.Namespace) -> None:
    from posemoe.datasets.bodies import RenderOptions, render_dataset
    from posemoe.datasets.h36m import Protocol, load_h36m
    from posemoe.io.files import refuse_inputs

    if not args.allow_test:
        Protocol(train=(), val=tuple(args.subjects)).check_no_test_leak()
    refuse_inputs([_npz_name(args.out)], list(Path(args.data_dir).glob("data_*.npz")))
    data = load_h36m(args.data_dir, args.subjects, "gt", dataset=args.dataset)
    images = render_dataset(
        data, args.count, seed=args.seed, options=RenderOptions(size=args.size), progress=True
    )
    path = images.save(args.out)
    print(
        f"wrote {len(images.images)} crops of {args.size} px ({', '.join(args.subjects)}) to {path}"
    )


def cmd_import_images(args: argparse.Namespace) -> None:
    from posemoe.datasets.images import load_coco_json, load_h36m_json
    from posemoe.io.files import refuse_inputs

    loader = {"h36m": load_h36m_json, "coco": load_coco_json}[args.format]
    refuse_inputs([_npz_name(args.out)], [args.json])
    images = loader(args.json, args.images, args.size, limit=args.limit)
    path = images.save(args.out)
    print(f"wrote {len(images.images)} crops of {args.size} px to {path}")


def _npz_name(out: str) -> Path:
    return Path(out if out.endswith(".npz") else out + ".npz")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare-2d",
        help="write data_2d_<dataset>_gt.npz from the 3D file and the cameras",
        formatter_class=FORMATTER,
    )
    p.add_argument("--data-dir", required=True, help="folder with data_3d_<dataset>.npz")
    p.add_argument("--dataset", default="h36m", help="dataset name in the file names")
    p.add_argument(
        "--cameras", help="camera JSON (default: the Human3.6M cameras shipped with posemoe)"
    )
    p.set_defaults(func=cmd_prepare_2d)

    p = sub.add_parser(
        "synth",
        help="write a small synthetic dataset in the VideoPose3D formats",
        formatter_class=FORMATTER,
    )
    p.add_argument("out_dir", help="folder to write the .npz files to")
    p.add_argument(
        "--subjects",
        nargs="+",
        default=["S1", "S5", "S6", "S7", "S8", "S9", "S11"],
        help="subjects to make",
    )
    p.add_argument("--frames", type=bounded_int(100_000), default=300, help="frames per sequence")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "render-bodies",
        help="render capsule-body crops with 3D labels from real 3D poses",
        formatter_class=FORMATTER,
    )
    p.add_argument("--data-dir", required=True, help="folder with the VideoPose3D-format files")
    p.add_argument("--dataset", default="h36m", help="dataset name in the file names")
    p.add_argument("--subjects", nargs="+", required=True, help="subjects whose poses are rendered")
    p.add_argument(
        "--count",
        type=positive_int,
        default=20000,
        help="about this many crops, spread over all sequences",
    )
    p.add_argument("--size", type=bounded_int(2048), default=128, help="crop side in pixels")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument(
        "--allow-test",
        action="store_true",
        help="allow the test subjects S9/S11 (final evaluation only)",
    )
    p.set_defaults(func=cmd_render_bodies)

    p = sub.add_parser(
        "import-images",
        help="crop annotated images (Human3.6M JSON or COCO) into an ImageSet .npz",
        formatter_class=FORMATTER,
    )
    p.add_argument("--format", choices=["h36m", "coco"], required=True, help="annotation format")
    p.add_argument("--json", required=True, help="annotation file")
    p.add_argument("--images", required=True, help="folder the file names are relative to")
    p.add_argument("--size", type=positive_int, default=128, help="crop side in pixels")
    p.add_argument("--limit", type=positive_int, help="at most this many annotations")
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=cmd_import_images)
