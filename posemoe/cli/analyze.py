"""``posemoe analyze mi``: how much a PoseMoE lifter's 2D and depth streams depend on each other."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from posemoe.cli.common import (
    FORMATTER,
    bounded_int,
    check_out_dir,
    pick_device,
    positive_int,
    set_threads,
)
from posemoe.errors import UserError


def _label(name_or_path: str) -> str:
    """A model's name in the figures: shipped weights by name, files by folder and stem."""
    path = Path(name_or_path)
    if path.suffix in (".pt", ".safetensors") and path.parent.name:
        return f"{path.parent.name}/{path.stem}"
    return path.stem if path.suffix else name_or_path


def _file_stem(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_.") or "model"


def cmd_mi(args: argparse.Namespace) -> None:
    from posemoe.analysis.streams import (
        analysis_windows,
        check_samples,
        is_stream_model,
        plot_reports,
        stream_report,
    )
    from posemoe.codecs import dataset_encoding
    from posemoe.datasets.registry import load_sources
    from posemoe.io.files import write_files
    from posemoe.models.pretrained import load_pretrained

    labels = args.labels or [_label(m) for m in args.models]
    if len(labels) != len(args.models):
        raise UserError(f"--labels names {len(labels)} models but {len(args.models)} are given")
    if len({_file_stem(label) for label in labels}) != len(labels):
        raise UserError(
            f"two models would share a label or file name ({', '.join(labels)}): name them with --labels"
        )
    check_out_dir(args.out)
    set_threads(args.threads)
    device = pick_device(args.device)
    loaded = [
        load_pretrained(m, map_location=device) for m in args.models
    ]  # every file checked before the work
    for name, (model, _) in zip(args.models, loaded):
        if not is_stream_model(model):
            raise UserError(
                f"{name}: analyze mi reads PoseMoE lifters (posemoe-*, posemoe-entangled-*), not "
                f"{type(model).__name__} models"
            )
    data_by_codec = {}
    reports = []
    for label, (model, pretrained) in zip(labels, loaded):
        codec = dataset_encoding(pretrained.codec)[0]
        if codec not in data_by_codec:
            data_by_codec[codec] = load_sources(
                args.data_dir, args.subjects, args.source, dataset=args.dataset, codec=codec
            )
        data = data_by_codec[codec]
        windows = analysis_windows(
            data,
            model.config.num_frames,
            pretrained.codec,
            model.config.in_channels,
            args.max_windows,
        )
        check_samples(len(windows), args.dims)
        print(
            f"{label}: {len(windows)} windows of {' '.join(args.subjects)} ({args.source} 2D)",
            file=sys.stderr,
        )
        report = stream_report(
            model,
            windows,
            label=label,
            estimator=args.estimator,
            dims=args.dims,
            seeds=args.seeds,
            device=device,
        )
        report.settings.update(data=f"{args.dataset} {' '.join(args.subjects)}, {args.source} 2D")
        reports.append(report)
        _print(report)
    out = Path(args.out)
    files = {
        out / f"{_file_stem(r.model)}.mi.json": (lambda f, r=r: f.write(r.to_json() + "\n"))
        for r in reports
    }
    written = write_files(files)
    written.append(plot_reports(reports, out / "mi.png"))
    print("wrote " + ", ".join(str(p) for p in written))


def _print(report) -> None:
    estimator = report.settings["estimator"]
    print(
        f"\n{report.model} ({report.settings['family']}; {estimator} MI of {report.settings['dims']} + "
        f"{report.settings['dims']} principal components, nats, +- spread over halves; linear CKA of all features)"
    )
    print(
        "| layer | streams MI | streams CKA | read-out MI | read-out CKA |\n|---|---:|---:|---:|---:|"
    )
    for layer in report.layers:
        s, r = layer.streams, layer.readout
        streams = (
            f"{s['mi']['value']:.3f} +- {s['mi']['std']:.3f} | {s['cka']:.3f}" if s else "- | -"
        )
        print(
            f"| {layer.name} | {streams} | {r['mi']['value']:.3f} +- {r['mi']['std']:.3f} | {r['cka']:.3f} |"
        )


def cmd_estimators(args: argparse.Namespace) -> None:
    from posemoe.analysis.dependence import ESTIMATORS, estimator_check

    rows = estimator_check(dims=args.dims, samples=args.samples, seeds=args.seeds)
    print(
        f"Gaussian pairs of {args.dims} + {args.dims} dimensions, {args.samples} samples, mean +- std over "
        f"{args.seeds} draws (nats)\n"
    )
    print(
        "| correlation | true MI | "
        + " | ".join(ESTIMATORS)
        + " |\n|---:|---:|"
        + "---:|" * len(ESTIMATORS)
    )
    for row in rows:
        cells = []
        for name in ESTIMATORS:
            mean, std = row[name]["mean"], row[name]["std"]
            error = f" ({100 * (mean / row['true'] - 1):+.1f} %)" if row["true"] > 0 else ""
            cells.append(f"{mean:.3f} +- {std:.3f}{error}")
        print(f"| {row['rho']:g} | {row['true']:.3f} | " + " | ".join(cells) + " |")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyses of trained models (mi: dependence of the 2D and depth streams)",
        formatter_class=FORMATTER,
    )
    analyses = p.add_subparsers(
        dest="analysis", required=True, metavar="ANALYSIS", parser_class=sub._parser_class
    )
    m = analyses.add_parser(
        "mi",
        formatter_class=FORMATTER,
        help="mutual information between PoseMoE's 2D and depth streams, layer by layer",
        description="Runs each model on windows of --subjects, keeps the centre frame's features "
        "after every encoder layer and decoder block (forward hooks), and estimates "
        "the dependence of the 2D-expert and depth-expert streams, and of the head's "
        "2D and depth read-outs (the entangled ablation has one stream). Writes "
        "<label>.mi.json per model and mi.png with every model's curves.",
    )
    m.add_argument(
        "models",
        nargs="+",
        metavar="CHECKPOINT|NAME",
        help="PoseMoE lifters: .pt checkpoints, .safetensors files or names of shipped weights",
    )
    m.add_argument("--data-dir", required=True, help="VideoPose3D-format files")
    m.add_argument(
        "--dataset", default="h36m", help="VideoPose3D dataset name (data_3d_<dataset>.npz)"
    )
    m.add_argument(
        "--subjects", nargs="+", default=["S8"], help="subjects whose windows are used (validation)"
    )
    m.add_argument("--source", default="gt", help="2D source file suffix")
    m.add_argument(
        "--max-windows",
        type=bounded_int(200_000),
        default=3000,
        help="windows (samples) used, evenly spaced; each gives its centre frame",
    )
    m.add_argument(
        "--estimator",
        choices=("gaussian-copula", "ksg"),
        default="gaussian-copula",
        help="mutual information estimator (posemoe.analysis.dependence)",
    )
    m.add_argument(
        "--dims",
        type=bounded_int(64),
        default=8,
        help="principal components per side before estimating (the estimate is a lower bound)",
    )
    m.add_argument("--seeds", type=bounded_int(100), default=5, help="random halves for the spread")
    m.add_argument(
        "--labels", nargs="+", help="names of the models in the figures (default: from the paths)"
    )
    m.add_argument("--threads", type=positive_int, help="CPU threads (default: torch's choice)")
    m.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    m.add_argument(
        "--out", default="posemoe-out/analyze-mi", help="folder for the json files and mi.png"
    )
    m.set_defaults(func=cmd_mi)

    e = analyses.add_parser(
        "estimators",
        formatter_class=FORMATTER,
        help="the mutual information estimators on Gaussian pairs whose value is known",
    )
    e.add_argument("--dims", type=bounded_int(64), default=8, help="dimensions of each side")
    e.add_argument("--samples", type=bounded_int(100_000), default=3000, help="samples per draw")
    e.add_argument(
        "--seeds", type=bounded_int(100), default=5, help="independent draws per correlation"
    )
    e.set_defaults(func=cmd_estimators)
