"""BlazePose on ONNX Runtime (posemoe's detector) against mediapipe's graphs (the reference it was
converted from): per clip, the people found in each frame by both, the distance between their
landmarks (pixels) and each one's detection time per frame.

A developer's tool: mediapipe 0.10.21 (the last release with BlazePose's graphs) has wheels for
CPython <= 3.12 only and pins numpy < 2, so it runs in a venv of its own, beside posemoe without its
video extra (mediapipe brings OpenCV):

    python3.12 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21 av -e .
    PYTHONPATH=. /tmp/mp/bin/python tools/blazepose_agreement.py posemoe/assets/sports2d_walk.mp4 \
        /work/shared/videos/*.mp4

Three comparisons per clip: following people from frame to frame as ``posemoe infer`` does
(``--threads`` 2, up to 4 people); mediapipe against itself with every followed region moved by
1e-5 of the frame's width (0.01 pixel) once, after the first frame where someone is followed, which shows how far following
carries a difference that small; and each frame looked at afresh (``video=False``: the detector,
then the landmark model, with nothing carried between frames). People are paired frame by frame
by an optimal assignment on the mean landmark distance (each backend lists its people largest
first, and two people of nearly one size may come in either order). Timing (following) alternates
the backends ``--repeats`` times and keeps each one's fastest run, because other processes share
the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from blazepose_mediapipe import MediapipeBlazePose
from scipy.optimize import linear_sum_assignment

from posemoe.inference.detectors import DETECT_PEOPLE, DETECT_WORKERS, BlazePose
from posemoe.io.video import open_frames

DETECTORS = {"mediapipe": MediapipeBlazePose, "onnx": BlazePose}


def run(
    frames: list[np.ndarray], backend: str, threads: int, video: bool, nudge: float = 0.0
) -> tuple[list[np.ndarray], float]:
    """Every frame through a fresh detector -> the people found per frame, seconds per frame (the
    first frame's left out: it pays for the models' first run). ``nudge``: moves the followed regions
    by this much (normalized x) after the first frame where someone is followed."""
    found, seconds = [], []
    with DETECTORS[backend](threads=threads, max_people=DETECT_PEOPLE, video=video) as detector:
        for frame in frames:
            start = time.perf_counter()
            found.append(detector(frame))
            seconds.append(time.perf_counter() - start)
            if nudge and detector._people:
                for person in detector._people:
                    person.roi = dataclasses.replace(person.roi, x=person.roi.x + nudge)
                nudge = 0.0
    return found, float(np.mean(seconds[1:]))


def distances(reference: list[np.ndarray], other: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Landmark distances (pixels) of the people both found, paired per frame -> all distances, and
    the number of frames whose counts differ."""
    out, differ = [], 0
    for a, b in zip(reference, other):
        differ += len(a) != len(b)
        if len(a) and len(b):
            cost = np.linalg.norm(a[:, None, :, :2] - b[None, :, :, :2], axis=-1).mean(-1)
            rows, cols = linear_sum_assignment(cost)
            out.append(np.linalg.norm(a[rows, :, :2] - b[cols, :, :2], axis=-1).ravel())
    return (np.concatenate(out) if out else np.zeros(0)), differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=DETECT_WORKERS)
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed runs of each backend, alternating"
    )
    args = parser.parse_args()
    print(
        "| clip | frames | people per frame | following: frames whose counts differ | median px | p95 px | max px "
        "| mediapipe nudged 0.01 px: counts differ | median px | p95 px | max px | each frame afresh: counts differ "
        "| median px | p95 px | max px | ms/frame mediapipe | ms/frame onnx |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for clip in args.clips:
        with open_frames(clip) as video:
            frames = list(video)
        best = {"mediapipe": np.inf, "onnx": np.inf}
        found = {}
        for _ in range(args.repeats):
            for backend in best:
                found[backend], seconds = run(frames, backend, args.threads, True)
                best[backend] = min(best[backend], seconds)
        nudged, _ = run(frames, "mediapipe", args.threads, True, nudge=1e-5)
        afresh = {backend: run(frames, backend, args.threads, False)[0] for backend in best}
        counts = np.bincount([len(p) for p in found["mediapipe"]])
        people = ", ".join(f"{n}: {c}" for n, c in enumerate(counts) if c)
        cells = [
            f"{clip.name} ({frames[0].shape[1]}x{frames[0].shape[0]})",
            str(len(frames)),
            people,
        ]
        for reference, other in (
            (found["mediapipe"], found["onnx"]),
            (found["mediapipe"], nudged),
            (afresh["mediapipe"], afresh["onnx"]),
        ):
            d, differ = distances(reference, other)
            cells += [
                str(differ),
                f"{np.median(d):.2f}",
                f"{np.percentile(d, 95):.2f}",
                f"{d.max():.1f}",
            ]
        cells += [f"{1000 * best['mediapipe']:.1f}", f"{1000 * best['onnx']:.1f}"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
