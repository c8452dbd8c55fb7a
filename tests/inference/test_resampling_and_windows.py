"""The lifter resamples to its weights' frame rate, and overlapping windows leave no seams."""

import numpy as np
import pytest

from posemoe.camera import load_h36m_cameras
from posemoe.datasets.synthetic import synthesize_motion
from posemoe.evaluation.metrics import mpjpe
from posemoe.inference.lifter import Lifter, load
from posemoe.inference.windows import sequence_windows
from posemoe.layouts import H36M17, H36M32, convert


def _walk_2d(frames: int, step: int = 1) -> tuple[np.ndarray, tuple[int, int]]:
    """A procedural walk at 50 fps seen by a Human3.6M camera, every ``step``-th frame: (T, 17, 3) pixels."""
    world = convert(synthesize_motion(frames, np.random.default_rng(3), "Walking"), H36M32, H36M17)[
        ::step
    ]
    camera = load_h36m_cameras()["S1"][0]
    pixels = camera.project(camera.world_to_camera(world))
    return np.concatenate([pixels, np.ones((len(pixels), 17, 1))], -1).astype(np.float32), (
        camera.width,
        camera.height,
    )


def test_a_track_at_25_fps_gives_the_3d_of_the_same_motion_at_50():
    lifter = load()  # the default lifter: ONNX Runtime, no torch
    assert lifter.pretrained.fps == 50.0
    at_50, size = _walk_2d(400)
    at_25, _ = _walk_2d(400, step=2)
    lifted_50 = lifter.lift(at_50, layout="h36m17", image_size=size, fps=50)
    lifted_25 = lifter.lift(at_25, layout="h36m17", image_size=size, fps=25)
    assert lifted_25.shape == (200, 17, 3)
    error_mm = float(mpjpe(lifted_25, lifted_50[::2]).mean() * 1000)
    assert error_mm < 2.0, error_mm
    # Without resampling the model would see the motion twice as fast: a different answer.
    naive = lifter.lift(at_25, layout="h36m17", image_size=size, fps=50)
    assert float(mpjpe(naive, lifted_50[::2]).mean() * 1000) > 2 * error_mm


def test_window_boundaries_leave_no_seam():
    lifter = load()  # the default lifter: ONNX Runtime, no torch
    track, size = _walk_2d(300)
    steps = {}
    for name, stride in (("blended", None), ("end to end", 27)):
        lifted = Lifter(lifter.model, lifter.pretrained, stride=stride).lift(
            track, layout="h36m17", image_size=size, fps=50
        )
        step = np.linalg.norm(np.diff(lifted, axis=0), axis=-1).mean(
            -1
        )  # (T-1,) mean joint step, metres
        boundary = np.zeros(len(step), bool)
        boundary[np.arange(26, len(step), 27)] = (
            True  # the step from the last frame of a window to the next
        )
        steps[name] = (step[boundary].mean(), np.median(step[~boundary]))
    blended_at, blended_elsewhere = steps["blended"]
    assert blended_at <= 1.25 * blended_elsewhere, steps
    seam_at, seam_elsewhere = steps["end to end"]
    assert seam_at > 1.5 * seam_elsewhere, steps  # the old layout's seams, for contrast


def test_short_track_frames_keep_their_own_prediction():
    rows, weights = sequence_windows(0, 5, 9)
    assert rows.tolist() == [[0, 1, 2, 3, 4, 4, 4, 4, 4]]
    assert weights.tolist() == [
        [1, 1, 1, 1, 1, 0, 0, 0, 0]
    ]  # the repeats of frame 4 carry no weight
    rows, weights = sequence_windows(0, 40, 9)
    covered = np.bincount(rows.ravel(), weights=weights.ravel(), minlength=40)
    assert (covered > 0).all() and rows[-1, -1] == 39


def test_bad_rates_and_sizes_are_refused():
    lifter = load()  # the default lifter: ONNX Runtime, no torch
    track, size = _walk_2d(30)
    with pytest.raises(ValueError, match="fps must be positive"):
        lifter.lift(track, layout="h36m17", image_size=size, fps=0)
    with pytest.raises(ValueError, match="image size"):
        lifter.lift(track, layout="h36m17", image_size=(-640, 480))
    track[3, 2, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        lifter.lift(track, layout="h36m17", image_size=size)


def test_windowed_prediction_shows_progress_only_when_asked(capsys):
    from posemoe.inference.windows import predict_windows

    class Zeros:  # a runner (posemoe.inference.runtime.Runner): numpy in, numpy out
        config, task = None, "lifting"

        def predict(self, x):
            return {"pose": self(x)}

        def __call__(self, x):
            return np.zeros((*x.shape[:3], 3), np.float32)

    windows, weights = sequence_windows(0, 100, 9)
    keypoints = np.zeros((100, 17, 2), np.float32)
    quiet = predict_windows(Zeros(), keypoints, windows, weights, batch_size=4)
    assert capsys.readouterr().err == ""
    shown = predict_windows(Zeros(), keypoints, windows, weights, batch_size=4, progress=True)
    err = capsys.readouterr().err
    assert f"{len(windows)}/{len(windows)}" in err and "window" in err, err
    np.testing.assert_array_equal(quiet, shown)
