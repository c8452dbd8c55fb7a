"""The measurements of docs/results/lean-runtime.md: a venv's size per distribution, and
``posemoe infer``'s start-up to the first detected frame, in any venv where posemoe is installed.

    python3 docs/scripts/lean_runtime.py install VENV PYTHON SRC video   # fresh venv, timed pip install
    python3 docs/scripts/lean_runtime.py sizes VENV                      # MB per distribution, du -sm
    python3 docs/scripts/lean_runtime.py first-frame VENV infer CLIP --out OUT [--max-frames 1]
    python3 docs/scripts/lean_runtime.py first-frame --preimport-scipy VENV infer CLIP --out OUT

``first-frame`` runs ``posemoe ARGS`` with VENV's Python (PYTHONPATH cleared, so that the venv's
own posemoe runs) through this file's ``inside`` mode, which wraps ``BlazePose.__call__`` and
prints the seconds from process start to the first frame the detector returns, and the process's
CPU seconds by then; then the command's own output. ``--preimport-scipy`` imports what the
commit before the lean runtime imported at start-up (scipy's ndimage, optimize and rotations), to
time the lift stage without scipy's import in it. ``install`` makes the venv, upgrades pip, then
times ``pip install -e "SRC[EXTRA]"`` with an empty pip cache.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def install(venv: Path, python: str, src: Path, extra: str) -> None:
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        subprocess.run(
            [*pip, "install", "--quiet", "-e", f"{src}[{extra}]"],
            check=True,
            env={**os.environ, "PIP_CACHE_DIR": cache},
        )
        seconds = time.perf_counter() - start
    print(f"{venv}: pip install {seconds:.1f} s, load {os.getloadavg()[0]:.1f}")


def sizes(venv: Path) -> None:
    """MB per installed distribution (its RECORD's files, .pyc written at install time included),
    then the whole venv as ``du -sm`` counts it."""
    code = (
        "import sys\n"
        "from importlib.metadata import distributions\n"
        "from pathlib import Path\n"
        "rows = []\n"
        "for d in distributions():\n"
        "    files = [Path(d.locate_file(f)) for f in d.files or []]\n"
        "    mb = sum(p.stat().st_size for p in files if p.is_file()) / 2**20\n"
        "    rows.append((mb, d.metadata['Name'], d.version))\n"
        "for mb, name, version in sorted(rows, reverse=True):\n"
        "    print(f'{name} {version}: {mb:.0f} MB')\n"
        "print(f'sum of distributions: {sum(r[0] for r in rows):.0f} MB')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, env=env)
    du = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True, check=True)
    print(f"du -sm: {du.stdout.split()[0]} MB")


def first_frame(venv: Path, args: list[str], preimport_scipy: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["LEAN_RUNTIME_T0"] = repr(time.time())
    command = [str(venv / "bin" / "python"), os.path.abspath(__file__), "inside"]
    command += ["--preimport-scipy"] if preimport_scipy else []
    run = subprocess.run([*command, *args], env=env, capture_output=True, text=True)
    wall = time.time() - float(env["LEAN_RUNTIME_T0"])
    first = re.findall(r"FIRST_FRAME [^\n]*people", run.stderr)  # tqdm may share its line
    print(
        f"{venv}: rc {run.returncode}, whole command {wall:.2f} s, "
        f"{first[0] if first else 'no frame detected'}, load {os.getloadavg()[0]:.1f}"
    )
    print(run.stdout if run.returncode == 0 else run.stderr[-2000:])


def inside(args: list[str], preimport_scipy: bool) -> None:
    """In the measured venv: time the first frame of ``posemoe ARGS``."""
    if preimport_scipy:
        import scipy.ndimage  # noqa: F401
        import scipy.optimize  # noqa: F401
        import scipy.spatial.transform  # noqa: F401
    import posemoe.inference.detectors as detectors
    from posemoe.cli import main

    start, call, seen = float(os.environ["LEAN_RUNTIME_T0"]), detectors.BlazePose.__call__, []

    def first(self, rgb):
        out = call(self, rgb)
        if not seen:
            seen.append(time.time() - start)
            cpu = sum(os.times()[:2])
            print(
                f"FIRST_FRAME {seen[0]:.3f} s (cpu {cpu:.3f} s), {len(out)} people",
                file=sys.stderr,
                flush=True,
            )
        return out

    detectors.BlazePose.__call__ = first
    main(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("install")
    p.add_argument("venv", type=Path)
    p.add_argument("python")
    p.add_argument("src", type=Path)
    p.add_argument("extra")
    sub.add_parser("sizes").add_argument("venv", type=Path)
    for name in ("first-frame", "inside"):
        p = sub.add_parser(name)
        p.add_argument("--preimport-scipy", action="store_true")
        if name == "first-frame":
            p.add_argument("venv", type=Path)
        p.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.what == "install":
        install(args.venv.absolute(), args.python, args.src.absolute(), args.extra)
    elif args.what == "sizes":
        sizes(args.venv)
    elif args.what == "first-frame":
        first_frame(args.venv.absolute(), args.args, args.preimport_scipy)
    else:
        inside(args.args, args.preimport_scipy)


if __name__ == "__main__":
    main()
