"""The left/right clean-up benchmark (`posemoe bench --swaps`) for the clean-up at an earlier git
revision beside the one checked out, on the same views, with and without the detector's whole-frame
glitches. Needs the Bandai Namco BVH files (research-only, not in the repository).

    python3 docs/scripts/cleanup_before_after.py ../shared/data/bandai-namco-1 REV \
        [--fps F] [--clips-per-type N --views V]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from posemoe.apps import swap_bench
from posemoe.inference.cleanup import fix_left_right_swaps


def cleanup_at(revision: str):
    """``fix_left_right_swaps`` as it was at ``revision`` (its module loaded from git)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:posemoe/inference/cleanup.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cleanup_then.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("cleanup_then", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.fix_left_right_swaps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("revision")
    parser.add_argument("--fps", type=float)
    parser.add_argument("--clips-per-type", type=int, default=4)
    parser.add_argument("--views", type=int, default=3)
    args = parser.parse_args()
    then = cleanup_at(args.revision)
    fixers = {
        f"clean-up at {args.revision}": lambda track: then(track)[0],
        "clean-up now": lambda track: fix_left_right_swaps(track)[0],
    }
    for glitches in (True, False):
        results = swap_bench.swap_benchmark(
            args.data_dir,
            fixers,
            clips_per_type=args.clips_per_type,
            views=args.views,
            fps=args.fps,
            glitches=glitches,
        )
        print(f"\n## {'with' if glitches else 'without'} whole-frame glitches")
        print(swap_bench.swap_table(results))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
