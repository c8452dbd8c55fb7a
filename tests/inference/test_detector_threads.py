"""How many threads BlazePose runs on: ``threads`` lanes (the cores this process may use at most),
each an ONNX Runtime session of one thread that never spins, so that a core taken by another
process costs a lane its share of the time and no more (docs/results/detector-threads.md); and the
same default wherever a video is detected."""

import inspect

import pytest

pytest.importorskip("onnxruntime")

from posemoe.inference import detectors  # noqa: E402


@pytest.mark.parametrize(("usable", "asked"), [(1, 1), (1, 2), (2, 1), (2, 2), (2, 4), (16, 4)])
def test_lanes_are_the_threads_asked_for_up_to_the_usable_cores(monkeypatch, usable, asked):
    monkeypatch.setattr(detectors, "usable_cores", lambda: usable)
    with detectors.BlazePose(threads=asked) as detector:
        lanes = min(asked, usable)
        assert len(detector._follow) == lanes
        assert (detector._pool is None) if lanes == 1 else detector._pool._max_workers == lanes - 1
        sessions = [lane._session for lane in detector._follow]
        sessions += [detector._solo._session, detector.backend._detector._session]
        for session in sessions:
            options = session.get_session_options()
            assert options.intra_op_num_threads == 1
            assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_infer_demo_and_the_python_api_detect_with_one_default():
    """`posemoe infer`, `posemoe demo` (through infer_video), infer_video, detect_video and streams
    all default to DETECT_WORKERS threads, which BlazePose caps at the usable cores."""
    from posemoe.cli import build_parser
    from posemoe.inference import pipeline, stream

    for function in (pipeline.infer_video, pipeline.detect_video, stream.infer_stream):
        default = inspect.signature(function).parameters["detect_workers"].default
        assert default == detectors.DETECT_WORKERS, function.__name__
    args = build_parser().parse_args(["infer", "clip.mp4"])
    assert args.detect_workers == detectors.DETECT_WORKERS
    assert (
        build_parser().parse_args(["infer", "clip.mp4", "--detect-workers", "1"]).detect_workers
        == 1
    )
