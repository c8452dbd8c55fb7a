"""Argument helpers shared by the command modules."""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from posemoe.errors import UserError


def quiet_third_party(verbose: bool) -> None:
    """ONNX Runtime's sessions log errors only, and warnings too when asked for
    (``POSEMOE_VERBOSE=1``, read as each session is made)."""
    if verbose:
        os.environ["POSEMOE_VERBOSE"] = "1"


class FORMATTER(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default, except where there is none (None, or off for a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default == []:
            return action.help or ""
        return super()._get_help_string(action)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def bounded_int(limit: int, *, low: int = 1):
    """An argparse type for integers in ``low``..``limit`` (memory is allocated from these)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= limit:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low} to {limit}, got {text}"
            )
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def float_in(low: float, high: float):
    """An argparse type for finite numbers in ``low``..``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}, got {text}"
            )
        return value

    return parse


def set_threads(threads: int | None) -> None:
    """The process-wide torch thread count: set here, by the CLI, never by library functions."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def set_inference_threads(threads: int | None) -> None:
    """The thread count of the lifters and image models that inference loads from now on (ONNX
    Runtime's sessions; torch's, if the torch runtime loads): set by the CLI, without importing torch."""
    from posemoe.inference.runtime import set_threads as set_runtime_threads

    set_runtime_threads(threads)


def add_runtime_option(p: argparse.ArgumentParser) -> None:
    """``--runtime onnx|torch`` (:func:`posemoe.inference.runtime.load_runner`)."""
    from posemoe.inference.runtime import RUNTIMES

    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="what runs the model: onnx (ONNX Runtime, no torch needed) or torch (needs torch: pip install "
        "'posemoe[train]'); default: onnx for .onnx files and weights shipped as ONNX (the default "
        "lifter and aitepose-s-bodies), torch for .pt / .safetensors files and the other shipped weights",
    )


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask; a container's CPU quota aside): torch's
    own default counts physical cores only, which on machines of 2 logical CPUs can be 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity masks
        return max(1, os.cpu_count() or 1)


class _OldSpelling(argparse.Action):
    """An option's spelling of an earlier version: still read, with a deprecation line on stderr."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(
            f"{parser.prog}: warning: {option_string} is deprecated, use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_out_option(p: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    """``--out``: where a command writes (every command says it so); ``--out-dir``, the spelling of
    ``demo``, ``train`` and ``compare-aite`` before 0.3, is still read, with a deprecation line."""
    p.add_argument("--out", default=default, help=help)
    p.add_argument(
        "--out-dir", dest="out", action=_OldSpelling, new="--out", help=argparse.SUPPRESS
    )


def check_out_dir(path: str | None, flag: str = "--out") -> None:
    """Refuse, before any work, an output folder that names a file, lies under one, or cannot be
    written in (tried with a temporary folder in the nearest one that exists, removed at once)."""
    if not path:
        return
    folder = Path(path)
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                raise UserError(f"{flag} {path}: {place} is a file, not a folder")
            try:
                tempfile.TemporaryDirectory(prefix=".posemoe-", dir=place).cleanup()
            except OSError as err:
                raise UserError(
                    f"{flag} {path}: cannot write in {place} ({err.strerror or err})"
                ) from None
            return


def pick_device(device: str | None) -> str:
    """``--device`` checked, None read as the API reads it
    (:func:`~posemoe.inference.runtime.default_device`: CUDA where available)."""
    if device in (None, "cpu"):
        from posemoe.inference.runtime import default_device

        return default_device(device)
    import torch

    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise UserError(f"--device {device!r}: expected cpu, cuda, cuda:N or mps")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"--device {device}: no CUDA device is available here (torch {torch.__version__})"
        )
    return device


def parse_value(text: str) -> Any:
    """TOML-ish literal: numbers, true/false, lists, quoted or bare strings."""
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    if text.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(
            text
        )  # a number, refused by the option's own check rather than passed on as a word
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def overrides(pairs: list[str]) -> dict[str, Any]:
    """``["lr=1e-3", "loss_weights.velocity=2"]`` -> nested dict."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(f"--set expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        *parents, leaf = key.strip().split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = parse_value(value.strip())
    return out


def add_upright_options(p: argparse.ArgumentParser, where: str = "") -> None:
    """``--upright DEG`` and ``--no-upright`` (:mod:`posemoe.inference.upright`); read by :func:`upright`.
    ``where``: added to both helps when they apply to part of a command only."""
    from posemoe.inference.upright import UPRIGHT_LIMIT

    p.add_argument(
        "--upright",
        type=float_in(0.0, 179.0),
        metavar="DEG",
        help="a body leaning more than this from image-up (lying, a handstand, a camera held askew) is "
        "lifted turned toward upright (leaning at most this much), and its 3D turned back "
        f"(default: {UPRIGHT_LIMIT:g}){where}",
    )
    p.add_argument(
        "--no-upright", action="store_true", help=f"lift every frame as the camera saw it{where}"
    )


def upright(args: argparse.Namespace) -> float | None:
    """The lean limit the options ask for, None for off."""
    from posemoe.inference.upright import UPRIGHT_LIMIT

    if args.no_upright and args.upright is not None:
        raise UserError("--upright and --no-upright contradict each other: give one")
    return None if args.no_upright else UPRIGHT_LIMIT if args.upright is None else args.upright


def upright_given(args: argparse.Namespace) -> bool:
    """Whether ``--upright`` or ``--no-upright`` was on the command line."""
    return args.upright is not None or args.no_upright
