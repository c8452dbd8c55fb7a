"""Argument helpers shared by the command modules."""

from __future__ import annotations

import argparse
import ast
from typing import Any

from posemoe.errors import UserError

FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def set_threads(threads: int | None) -> None:
    """The process-wide torch thread count: set here, by the CLI, never by library functions."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def pick_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device is available here (torch {torch.__version__})")
    return device


def parse_value(text: str) -> Any:
    """TOML-ish literal: numbers, true/false, lists, quoted or bare strings."""
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
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
