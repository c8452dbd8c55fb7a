"""Lifting speed of the default lifter on ONNX Runtime and on torch (README, "Inference without torch").

The demo's procedural walk (2000 frames at 50 fps, flip averaging, half-overlapping windows) is
lifted by ``posemoe.load(runtime=...)``, one thread each, the two runtimes alternating ``--rounds``
times so that a busy machine slows both alike; prints each round's ms per frame and the medians.

    python3 docs/scripts/runtime_speed.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

from posemoe.apps.demo import virtual_camera_clip
from posemoe.inference.lifter import load
from posemoe.inference.runtime import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    set_threads(1)
    keypoints, _, camera = virtual_camera_clip(args.frames)
    kwargs = dict(image_size=(camera.width, camera.height), intrinsics=camera.intrinsics)
    lifters = {runtime: load(runtime=runtime) for runtime in ("onnx", "torch")}
    for lifter in lifters.values():
        lifter.lift(keypoints[:100], **kwargs)  # warm up
    times: dict[str, list[float]] = {name: [] for name in lifters}
    for k in range(args.rounds):
        for name, lifter in lifters.items():
            start = time.perf_counter()
            lifter.lift(keypoints, **kwargs)
            times[name].append((time.perf_counter() - start) / len(keypoints) * 1e3)
        print(
            f"round {k + 1}: "
            + ", ".join(f"{name} {t[-1]:.3f} ms/frame" for name, t in times.items())
        )
    print(
        "median: "
        + ", ".join(f"{name} {statistics.median(t):.3f} ms/frame" for name, t in times.items())
    )


if __name__ == "__main__":
    main()
