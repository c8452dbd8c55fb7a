"""ms per frame of BlazePose detection: the whole detector (scheduling included) per backend and
thread count, on the bundled walking clip (one person) and on the bundled photo three times side by
side (1280x720), then each model alone per runtime (ONNX Runtime; LiteRT where ``ai-edge-litert`` is
installed). Needs mediapipe 0.10.21 for the reference rows: run it in the venv
tools/blazepose_agreement.py describes.

    PYTHONPATH=. /tmp/mp/bin/python tools/blazepose_speed.py --rounds 5

Configurations run alternately, ``--rounds`` times; each row is the fastest and the median of its
rounds' means (other processes share the machine). The first frame of each run is left out (the
models' first run). "lone person: 2 ONNX Runtime threads" runs the landmark model of a lone person on
two intra-op threads that do not spin (the shipped setting, ``SOLO_THREADS``, is one).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable

import numpy as np
from blazepose_mediapipe import (
    LANDMARK_MODEL,
    MediapipeBackend,
    MediapipeBlazePose,
    require_mediapipe,
)

from posemoe.apps.bench import crowd
from posemoe.assets import astronaut, walking_clip
from posemoe.inference import blazepose, detectors
from posemoe.inference.detectors import BlazePose
from posemoe.io.video import moving_still, open_frames

DETECTORS = {"mediapipe": MediapipeBlazePose, "onnx": BlazePose}


def ms_per_call(call: Callable[[int], object], count: int) -> float:
    call(0)
    start = time.perf_counter()
    for k in range(count):
        call(k)
    return 1000 * (time.perf_counter() - start) / count


def unspun_session(model, threads: int):
    """An ONNX Runtime session whose intra-op threads sleep instead of spinning while they wait."""
    ort = blazepose.require_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = (
        threads,
        1,
        3,
    )
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )


def detector_rows(clips: dict[str, list[np.ndarray]], results: dict[str, list[float]]) -> None:
    configs = [
        ("mediapipe", 1, False),
        ("onnx", 1, False),
        ("mediapipe", 2, False),
        ("onnx", 2, False),
        ("onnx", 2, True),
    ]
    shipped_session, shipped_solo = blazepose.session, detectors.SOLO_THREADS
    for clip, frames in clips.items():
        for backend, threads, lone_two in configs:
            blazepose.session = unspun_session if lone_two else shipped_session
            detectors.SOLO_THREADS = 2 if lone_two else shipped_solo
            try:
                with DETECTORS[backend](threads=threads) as detector:
                    ms = ms_per_call(lambda k: detector(frames[k + 1]), len(frames) - 1)
            finally:
                blazepose.session, detectors.SOLO_THREADS = shipped_session, shipped_solo
            note = ", lone person: 2 ONNX Runtime threads" if lone_two else ""
            results.setdefault(f"{clip} | {backend} | {threads}{note}", []).append(ms)


def model_rows(frames: list[np.ndarray], results: dict[str, list[float]]) -> None:
    reference = MediapipeBackend(threads=1)
    try:
        images = [reference.image(frame) for frame in frames]
        (_, _, roi), *_ = reference.look(images[0])
        landmarks, detector = (
            blazepose.LandmarkModel(threads=1),
            blazepose.PersonDetector(threads=1),
        )
        crop, _ = blazepose.crop(
            frames[0], roi, blazepose.LANDMARK_SIZE, (0.0, 1.0), replicate=True
        )
        whole, _ = blazepose.crop(
            frames[0], blazepose.WHOLE_FRAME, blazepose.DETECTOR_SIZE, (-1.0, 1.0), replicate=False
        )
        n = len(frames)
        rows = {
            "landmark stage (crop, model, decoding), mediapipe's graph": lambda k: reference.solo(
                images[k], roi
            ),
            "landmark stage (crop, model, decoding), ONNX Runtime + numpy": lambda k: landmarks(
                frames[k], roi
            ),
            "landmark model alone, ONNX Runtime": lambda k: landmarks._session.run(
                None, {"input_1": crop}
            ),
            "person detector stage, mediapipe's graph": lambda k: reference.look(images[k]),
            "person detector stage, ONNX Runtime + numpy": lambda k: detector(frames[k]),
            "person detector alone, ONNX Runtime": lambda k: detector._session.run(
                None, {"input_1": whole}
            ),
        }
        try:
            from ai_edge_litert.interpreter import Interpreter

            wheel = (
                require_mediapipe().__file__.rsplit("/", 1)[0]
                + "/modules/pose_detection/pose_detection.tflite"
            )
            for name, path, tensor in (
                ("landmark model alone, LiteRT", LANDMARK_MODEL, crop),
                ("person detector alone, LiteRT", wheel, whole),
            ):
                interpreter = Interpreter(model_path=str(path), num_threads=1)
                interpreter.allocate_tensors()
                index = interpreter.get_input_details()[0]["index"]
                rows[name] = lambda k, i=interpreter, x=tensor, j=index: (
                    i.set_tensor(j, x),
                    i.invoke(),
                )
        except ImportError:
            pass
        for name, call in rows.items():
            results.setdefault(f"one call, one thread | {name} |", []).append(ms_per_call(call, n))
    finally:
        reference.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with open_frames(walking_clip()) as video:
        walk = list(itertools.islice(video, 60))
    three = list(itertools.islice(moving_still(crowd(astronaut(), 3), 150, (1280, 720)), 40))
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        detector_rows(
            {"bundled walk, 854x480, one person": walk, "the photo three times, 1280x720": three},
            results,
        )
        model_rows(walk[:40], results)
    print("| what | backend | threads | ms, fastest round | median round |")
    print("|---|---|---|---:|---:|")
    for name, values in results.items():
        print(f"| {name} | {min(values):.1f} | {np.median(values):.1f} |")


if __name__ == "__main__":
    main()
