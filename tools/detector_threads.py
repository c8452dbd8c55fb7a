"""Wall and CPU ms per frame of BlazePose (ONNX Runtime) on one and two threads, and of the default
lifter on ONNX Runtime's thread count with pool threads that spin while they wait (ONNX Runtime's
default, posemoe's before) and that sleep (posemoe's now), on a quiet machine and with one core kept
busy by another process (``posemoe.apps.bench.busy_cores``).

    PYTHONPATH=. python tools/detector_threads.py --rounds 6

Rounds alternate the order of the machine states and of the settings (the machine's own load
drifts); each line gives the median over rounds and the range, then the per-round ratios. CPU time
(this process, all threads) shows cycles spent spinning: it grows with threads that spin and not
with threads that sleep. Detection runs on frames held in memory (no decoding): the photo once and
three times side by side, 1280x720; lifting on 600 frames of random keypoints.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnxruntime as ort

from posemoe.apps.bench import busy_cores, crowd
from posemoe.assets import astronaut
from posemoe.inference import runtime
from posemoe.inference.detectors import BlazePose
from posemoe.inference.lifter import load
from posemoe.io.video import moving_still
from posemoe.weights import DEFAULT_LIFTER


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def timed(run, count: int) -> tuple[float, float]:
    """(wall, CPU) ms per item of ``run()`` over ``count`` items."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    run()
    return 1000 * (time.perf_counter() - wall) / count, 1000 * (cpu_seconds() - cpu) / count


def detect(frames: list[np.ndarray], threads: int) -> tuple[float, float]:
    with BlazePose(threads=threads) as detector:
        detector(frames[0])
        return timed(lambda: [detector(frame) for frame in frames], len(frames))


def lift(keypoints: np.ndarray, spin: bool) -> tuple[float, float]:
    made = runtime.cpu_session_options

    def spinning(threads=None):
        options = made(threads)
        for pool in ("intra_op", "inter_op"):
            options.add_session_config_entry(f"session.{pool}.allow_spinning", "1")
        return options

    ort.set_default_logger_severity(3)  # not the warning that the entries are overwritten
    runtime.cpu_session_options = spinning if spin else made
    try:
        lifter = load(DEFAULT_LIFTER)
    finally:
        runtime.cpu_session_options = made
    lifter.lift(keypoints[:50], image_size=(1280, 720))
    return timed(lambda: lifter.lift(keypoints, image_size=(1280, 720)), len(keypoints))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    clips = {n: list(moving_still(crowd(astronaut(), n), args.frames)) for n in (1, 3)}
    rng = np.random.default_rng(0)
    keypoints = np.concatenate(
        [rng.uniform(400, 800, (600, 17, 2)), np.ones((600, 17, 1))], -1
    ).astype(np.float32)
    runs = {
        **{
            f"detect, {n} people, {t} thread(s)": (lambda n=n, t=t: detect(clips[n], t))
            for n in (1, 3)
            for t in (1, 2)
        },
        "lift, pool threads spin": lambda: lift(keypoints, True),
        "lift, pool threads sleep": lambda: lift(keypoints, False),
    }
    measured: dict[tuple[str, str], list[tuple[float, float]]] = {}
    loads = []
    for round_ in range(args.rounds):
        flip = -1 if round_ % 2 else 1
        for state in ("quiet", "busy core")[::flip]:
            with busy_cores(1 if state == "busy core" else 0):
                for name, run in list(runs.items())[::flip]:
                    loads.append(os.getloadavg()[0])
                    measured.setdefault((name, state), []).append(run())
    print(
        f"{args.rounds} rounds; 1-minute load average {min(loads):.1f}-{max(loads):.1f} "
        f"(median {np.median(loads):.1f}) over the runs\n"
    )
    print("| what | machine | wall ms/frame, median [range] | CPU ms/frame, median |")
    print("|---|---|---:|---:|")
    for (name, state), values in measured.items():
        wall, cpu = np.array(values).T
        print(
            f"| {name} | {state} | {np.median(wall):.2f} [{wall.min():.2f}-{wall.max():.2f}] "
            f"| {np.median(cpu):.2f} |"
        )
    print()
    pairs = [
        ("detect, 1 people, 2 thread(s)", "detect, 1 people, 1 thread(s)"),
        ("detect, 3 people, 2 thread(s)", "detect, 3 people, 1 thread(s)"),
        ("lift, pool threads spin", "lift, pool threads sleep"),
    ]
    for state in ("quiet", "busy core"):
        for a, b in pairs:
            ratios = [x[0] / y[0] for x, y in zip(measured[a, state], measured[b, state])]
            print(
                f"{state}: {a} / {b}, per round: {' '.join(f'{r:.2f}' for r in ratios)}, "
                f"median {np.median(ratios):.2f}"
            )


if __name__ == "__main__":
    main()
