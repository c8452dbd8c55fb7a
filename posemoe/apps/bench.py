"""``posemoe bench``: params, MACs per frame, training and inference throughput per model.

Training steps use the real input pipeline (``ClipSampler`` over packed arrays of
Human3.6M size), so the printed data share is the fraction of a step spent cutting clips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from posemoe.datasets.sequences import PoseSequences, SequenceInfo
from posemoe.errors import UserError

if TYPE_CHECKING:  # torch and training are imported by the model benchmarks only (crowd() serves tests without torch)
    import torch


def _packed_random_data(
    frames_per_sequence: int = 5000, sequences: int = 60, seed: int = 0
) -> PoseSequences:
    """Random arrays shaped like a Human3.6M training split (300k frames)."""
    rng = np.random.default_rng(seed)
    n = frames_per_sequence * sequences
    infos = [
        SequenceInfo("S1", f"Walking {i}", 0, i * frames_per_sequence, frames_per_sequence)
        for i in range(sequences)
    ]
    return PoseSequences(
        keypoints=rng.standard_normal((n, 17, 2), dtype=np.float32),
        poses=rng.standard_normal((n, 17, 3), dtype=np.float32) * 0.3,
        sequences=infos,
        source="random",
    )


def _timed(fn, seconds: float) -> tuple[float, int]:
    """Run ``fn`` after one warm-up call for about ``seconds``; returns (seconds taken, calls)."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or calls < 2:
        fn()
        calls += 1
    return time.perf_counter() - start, calls


def benchmark_model(
    name: str, data: PoseSequences, *, batch_size: int, seconds: float, device: torch.device
) -> dict[str, float]:
    import torch

    from posemoe.models import count_parameters, create_model, macs_per_frame
    from posemoe.training.losses import LossWeights, lifting_loss
    from posemoe.training.samplers import ClipSampler

    model = create_model(name).to(device)
    cfg = model.config
    sampler = ClipSampler(data, cfg.num_frames, channels=cfg.in_channels)
    batches = iter(sampler.epoch(0, 0, batch_size) * 100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    data_seconds = 0.0

    def train_step() -> None:
        nonlocal data_seconds
        start = time.perf_counter()
        keypoints, poses = sampler.gather(*next(batches))
        x, y = torch.from_numpy(keypoints).to(device), torch.from_numpy(poses).to(device)
        data_seconds += time.perf_counter() - start
        pred, aux = model(x, aux=True)
        loss, _ = lifting_loss(pred, y, aux["balance"], LossWeights())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    train_time, train_calls = _timed(train_step, seconds)
    data_share = data_seconds / (
        train_time + 1e-12
    )  # includes the warm-up call's gather: an upper bound

    model.eval()
    x = torch.from_numpy(sampler.gather(*next(batches))[0]).to(device)

    def infer() -> None:
        with torch.no_grad():
            model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    infer_time, infer_calls = _timed(infer, seconds)
    return {
        "params_m": count_parameters(model) / 1e6,
        "mmacs_per_frame": macs_per_frame(model) / 1e6,
        "train_clips_per_s": train_calls * batch_size / train_time,
        "data_share": data_share,
        "infer_frames_per_s": infer_calls * batch_size * cfg.num_frames / infer_time,
    }


def run_benchmarks(
    models: list[str] | None = None,
    *,
    batch_size: int = 8,
    seconds: float = 3.0,
    device: str | None = None,
) -> dict[str, dict[str, float]]:
    import torch

    from posemoe.models import get_config, list_models, task_of

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    data = _packed_random_data()
    print(
        f"device {dev}, {torch.get_num_threads()} threads, batch {batch_size} clips, no test-time flip\n"
    )
    print(
        "| model | params (M) | MMACs/frame | train clips/s | data share of step | inference frames/s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    lifters = [name for name in list_models() if task_of(get_config(name)) == "lifting"]
    for name in models or []:
        if name not in lifters:
            raise UserError(
                f"bench measures lifting models; {name!r} is not one ({', '.join(lifters)})"
            )
    results = {}
    for name in models or lifters:
        r = benchmark_model(name, data, batch_size=batch_size, seconds=seconds, device=dev)
        results[name] = r
        print(
            f"| {name} | {r['params_m']:.2f} | {r['mmacs_per_frame']:.1f} | {r['train_clips_per_s']:.1f} | "
            f"{100 * r['data_share']:.1f}% | {r['infer_frames_per_s']:.0f} |",
            flush=True,
        )
    return results


def crowd(image: np.ndarray, people: int, background: int = 90) -> np.ndarray:
    """``people`` copies of a photo side by side (every other one mirrored), padded top and bottom
    to a 16:9 picture, the shape of the frames :func:`~posemoe.io.video.moving_still` makes of it."""
    row = np.concatenate([image if k % 2 == 0 else image[:, ::-1] for k in range(people)], 1)
    if people == 1:
        return row
    pad = max(0, round(row.shape[1] * 9 / 16) - row.shape[0]) // 2
    return np.pad(row, ((pad, pad), (0, 0), (0, 0)), constant_values=background)


def benchmark_video(
    model: str,
    *,
    frames: int = 300,
    size: tuple[int, int] = (1280, 720),
    people: tuple[int, ...] = (1, 3),
    workdir: str | None = None,
) -> dict[str, float]:
    """Speed of ``posemoe infer VIDEO`` (decode + BlazePose + lifting + writing; rendering apart)
    on clips made from the bundled photo of a real person, one and several people in the frame,
    and each stage alone for one person. Prints a table."""
    import tempfile
    from pathlib import Path

    import torch

    from posemoe.assets import astronaut
    from posemoe.export import write_result
    from posemoe.inference.detectors import DETECT_WORKERS, BlazePose
    from posemoe.inference.lifter import load
    from posemoe.inference.pipeline import infer_video
    from posemoe.io.video import moving_still, open_frames, write_video

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        runs = [
            (count, w)
            for count in people
            for w in ((DETECT_WORKERS, 1) if count == people[0] else (DETECT_WORKERS,))
        ]
        for count, workers in runs:
            clip = Path(tmp) / f"clip{count}.mp4"
            if not clip.exists():
                write_video(clip, moving_still(crowd(astronaut(), count), frames, size), 30)
            result = infer_video(clip, model, detect_workers=workers)
            with result.stages.time("write"):
                write_result(result, Path(tmp) / f"out{count}-{workers}")
            total = sum(result.stages.seconds.values())
            figures[f"fps {count} people, {workers} detect worker(s)"] = result.frames / total
            found = [int(p.visible.sum()) for p in result.people]
            print(
                f"{count} in the frame, --detect-workers {workers}, {len(found)} lifted (frames seen: {found}): "
                f"posemoe infer end to end {result.frames / total:.1f} frames/s"
            )
            for line in result.stages.report(result.frames)[1:]:
                print("  " + line.strip())
            if (count, workers) == runs[0]:
                keypoints = result.people[0].keypoints
        with open_frames(Path(tmp) / f"clip{people[0]}.mp4") as video:
            held = [frame for _, frame in zip(range(min(frames, 100)), video)]
        start = time.perf_counter()
        with open_frames(Path(tmp) / f"clip{people[0]}.mp4") as video:
            decoded = sum(1 for _ in video)
        decode = (time.perf_counter() - start) / decoded
        alone = {"decode": decode}
        for threads in (1, DETECT_WORKERS):
            with BlazePose(threads=threads) as detector:
                detector(held[0])
                start = time.perf_counter()
                for frame in held:
                    detector(frame)
                alone[
                    f"detect (BlazePose full, ONNX Runtime, {threads} thread{'s' if threads > 1 else ''})"
                ] = (time.perf_counter() - start) / len(held)
    lifter = load(model)
    lifter.lift(keypoints[:50], layout="h36m17", image_size=size)
    start = time.perf_counter()
    lifter.lift(keypoints, layout="h36m17", image_size=size)
    alone["lift (flip-averaged)"] = (time.perf_counter() - start) / len(keypoints)
    print(
        f"\nvideo {size[0]}x{size[1]}, {frames} frames, {torch.get_num_threads()} torch threads, model {model}; "
        f"{people[0]} person, each stage alone:\n"
    )
    print("| stage | ms/frame alone |")
    print("|---|---:|")
    for stage, sec in alone.items():
        print(f"| {stage} | {1000 * sec:.2f} |")
    return {**figures, **{f"{k} ms": 1000 * v for k, v in alone.items()}}


# A loop that keeps one core busy and ends by itself once the process that started it (argv[1]) is
# gone, so that even a killed benchmark leaves none behind.
_BUSY_LOOP = (
    "import os, sys\n"
    "parent = int(sys.argv[1])\n"
    "while os.getppid() == parent:\n"
    "    for _ in range(100_000):\n"
    "        pass\n"
)


@contextmanager
def busy_cores(count: int = 1) -> Iterator[list[subprocess.Popen]]:
    """``count`` processes, each keeping one core busy while the block runs (another program's
    work); stopped when the block ends, also on an error or Ctrl-C."""
    processes: list[subprocess.Popen] = []
    try:
        for _ in range(count):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", _BUSY_LOOP, str(os.getpid())],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
            )
        yield processes
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()


def slowdown(seconds: dict[int, float], default: int) -> float:
    """How many times slower the ``default`` setting ran than the fastest of ``seconds`` (setting ->
    seconds per frame): 1.0 when the default is the best."""
    return seconds[default] / min(seconds.values())


def benchmark_busy_core(
    model: str,
    *,
    frames: int = 300,
    size: tuple[int, int] = (1280, 720),
    people: tuple[int, ...] = (1, 3),
    rounds: int = 3,
    workdir: str | None = None,
) -> dict[str, float]:
    """``posemoe infer VIDEO`` (decode + BlazePose + lifting) with each ``--detect-workers`` setting,
    on a quiet machine and with one core kept busy by another process (:func:`busy_cores`): the
    median over ``rounds`` rounds that alternate the order of machine states and settings, since
    the machine's own load drifts. Prints a table and the load average before and after; returns
    {"<people> people, <quiet|busy>, <workers> detect worker(s)": seconds per frame}."""
    import tempfile
    from pathlib import Path

    from posemoe.assets import astronaut
    from posemoe.inference.detectors import DETECT_WORKERS
    from posemoe.inference.pipeline import infer_video
    from posemoe.io.video import moving_still, write_video

    if rounds < 1:
        raise UserError(f"rounds must be >= 1, got {rounds}")
    settings = sorted({1, 2, DETECT_WORKERS})
    states = ("quiet", "busy")
    measured: dict[tuple[int, str, int], list[float]] = {}  # seconds per frame, end to end
    detect: dict[tuple[int, str, int], list[float]] = {}  # of which detection
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        clips = {count: Path(tmp) / f"clip{count}.mp4" for count in people}
        for count, clip in clips.items():
            write_video(clip, moving_still(crowd(astronaut(), count), frames, size), 30)
        for round_ in range(rounds):
            flip = -1 if round_ % 2 else 1
            for state in states[::flip]:
                with busy_cores(1 if state == "busy" else 0):
                    for count in people[::flip]:
                        for workers in settings[::flip]:
                            result = infer_video(clips[count], model, detect_workers=workers)
                            seconds = result.stages.seconds
                            measured.setdefault((count, state, workers), []).append(
                                sum(seconds.values()) / result.frames
                            )
                            detect.setdefault((count, state, workers), []).append(
                                seconds["detect"] / result.frames
                            )
    after = os.getloadavg()
    median = {key: float(np.median(times)) for key, times in measured.items()}
    print(
        f"\none core kept busy by another process: video {size[0]}x{size[1]}, {frames} frames, "
        f"model {model}; median of {rounds} alternated round(s); load average (1, 5, 15 min) "
        f"{' '.join(f'{v:.2f}' for v in before)} before, {' '.join(f'{v:.2f}' for v in after)} "
        "after; frames/s end to end (detection ms/frame)\n"
    )
    names = [f"--detect-workers {w}{' (default)' if w == DETECT_WORKERS else ''}" for w in settings]
    print(f"| people | machine | {' | '.join(names)} | default / best |")
    print(f"|---|---|{'---:|' * len(settings)}---:|")
    for count in people:
        for state in states:
            row = {w: median[count, state, w] for w in settings}
            cells = " | ".join(
                f"{1 / row[w]:.1f} ({1000 * np.median(detect[count, state, w]):.1f} ms)"
                for w in settings
            )
            print(f"| {count} | {state} | {cells} | {slowdown(row, DETECT_WORKERS):.2f} |")
    return {
        f"{count} people, {state}, {workers} detect worker(s)": seconds
        for (count, state, workers), seconds in median.items()
    }
