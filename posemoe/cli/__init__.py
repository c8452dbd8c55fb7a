"""The ``posemoe`` command. One module per command group:

- ``train.py``: train, export (weights);
- ``evaluate.py``: eval;
- ``analyze.py``: analyze mi (the 2D and depth streams' dependence);
- ``infer.py``: infer (videos, images, webcams/streams, keypoint files);
- ``data.py``: prepare-2d, synth, render-bodies, import-images;
- ``models.py``: models, bench;
- ``apps.py``: demo, compare-aite.

User errors (bad input, options or files; :class:`~posemoe.errors.UserError`) print one line and
exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
import warnings
from pathlib import Path

from posemoe.cli.common import quiet_third_party
from posemoe.errors import UserError


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line (the usage is in --help), exit status 2."""

    def error(self, message: str) -> None:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from posemoe import __version__
    from posemoe.cli import analyze, apps, data, evaluate, infer, models, train

    parser = _Parser(
        prog="posemoe",
        description="Monocular 3D human pose estimation toolkit.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"posemoe {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show third-party log messages (ONNX Runtime's warnings)",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for module in (infer, train, evaluate, analyze, models, data, apps):
        module.add_commands(sub)
    return parser


_TRAINING_MODULES = (
    "torch",
    "einops",
    "h5py",
    "onnx",
    "onnxscript",
)  # the train extra's: training, eval, analyses


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    quiet_third_party(args.verbose)
    try:
        with warnings.catch_warnings():  # posemoe's own warnings as one line each, like its errors
            plain, package = warnings.showwarning, Path(__file__).resolve().parent.parent

            def show(message, category, filename, lineno, file=None, line=None) -> None:
                if issubclass(category, UserWarning) and Path(filename).resolve().is_relative_to(
                    package
                ):
                    print(f"posemoe {args.command}: warning: {message}", file=sys.stderr)
                else:
                    plain(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            args.func(args)
    except (
        UserError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    ) as err:
        _fail(args.command, err)
    except ModuleNotFoundError as err:
        if err.name not in _TRAINING_MODULES:
            raise
        _fail(
            args.command,
            f"this command runs models in torch ({err.name} is not installed): pip install "
            "'posemoe[train]'",
        )
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        _fail(
            args.command,
            f"{err.strerror}: {err.filename or ''} (free some space or choose another --out)",
        )


def _fail(command: str, err: object) -> None:
    print(f"posemoe {command}: error: {err}", file=sys.stderr)
    raise SystemExit(2) from None
