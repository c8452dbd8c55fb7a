import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.camera import Intrinsics  # noqa: E402
from posemoe.datasets.synthetic import synthesize_motion  # noqa: E402
from posemoe.errors import UserError  # noqa: E402
from posemoe.inference.lifter import Lifter  # noqa: E402
from posemoe.inference.upright import body_lean, turn_back, turn_keypoints, upright_turn  # noqa: E402
from posemoe.layouts import H36M17, H36M32, convert  # noqa: E402
from posemoe.models import create_model  # noqa: E402

CAMERA = Intrinsics((900.0, 900.0), (300.0, 260.0))


def _roll(points: np.ndarray, degrees: float) -> np.ndarray:
    """(..., 3) camera-frame points of a camera rolled by ``degrees`` about its optical axis."""
    t = np.radians(degrees)
    out = np.array(points, copy=True)
    out[..., 0] = np.cos(t) * points[..., 0] - np.sin(t) * points[..., 1]
    out[..., 1] = np.sin(t) * points[..., 0] + np.cos(t) * points[..., 1]
    return out


def _walk(frames: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic walk 4 m in front of the camera, upright in the image: (camera 3D, pixels)."""
    world = convert(synthesize_motion(frames, np.random.default_rng(0)), H36M32, H36M17)
    cam = np.stack(
        [world[..., 1], -world[..., 2] + 1.0, world[..., 0] + 4.0], -1
    )  # z-up world -> y-down camera
    pixels = cam[..., :2] / cam[..., 2:] * np.asarray(CAMERA.focal) + np.asarray(CAMERA.centre)
    return cam, pixels


def _pixels(cam: np.ndarray) -> np.ndarray:
    return cam[..., :2] / cam[..., 2:] * np.asarray(CAMERA.focal) + np.asarray(CAMERA.centre)


def test_turning_the_keypoints_is_rolling_the_camera_and_turning_back_undoes_it():
    cam, pixels = _walk()
    angles = np.linspace(-2.5, 2.5, len(cam))
    rolled = np.stack([_roll(c, np.degrees(a)) for c, a in zip(cam, angles)])
    np.testing.assert_allclose(turn_keypoints(pixels, angles, CAMERA), _pixels(rolled), atol=1e-3)
    np.testing.assert_allclose(turn_back(rolled, angles), cam, atol=1e-6)
    with_confidence = np.concatenate([pixels, np.full(pixels.shape[:-1] + (1,), 0.7)], -1)
    assert (turn_keypoints(with_confidence, angles, CAMERA)[..., 2] == np.float32(0.7)).all()


def test_body_lean_reads_the_roll_of_an_upright_body():
    cam, pixels = _walk()
    assert np.abs(np.degrees(body_lean(pixels, H36M17, CAMERA, 50.0))).max() < 10
    for degrees in (40.0, -100.0, 170.0):
        lean = np.degrees(body_lean(_pixels(_roll(cam, degrees)), H36M17, CAMERA, 50.0))
        assert np.abs((lean - degrees + 180) % 360 - 180).max() < 12, degrees


LEGS = [H36M17.index(j) for j in ("LKnee", "RKnee", "LFoot", "RFoot")]


def _guessed_legs(pixels: np.ndarray, frames: slice, seen: int = 0) -> np.ndarray:
    """Confidence 1 everywhere but the legs of ``frames`` (all but ``seen`` of them guessed, at the head)."""
    points = np.concatenate([pixels, np.ones(pixels.shape[:-1] + (1,))], -1)
    guessed = LEGS[seen:]
    points[frames, guessed, :2] = points[frames, [H36M17.index("Head")], :2]
    points[frames, guessed, 2] = 0.1
    return points


def test_frames_with_legs_unseen_take_their_neighbours_lean_and_nothing_seen_leans_zero():
    cam, _ = _walk()
    for seen in (0, 1):  # no leg joint seen, or one: the guessed ones do not move the axis
        points = _guessed_legs(_pixels(_roll(cam, 100.0)), slice(15, 25), seen)
        lean = np.degrees(body_lean(points, H36M17, CAMERA, 50.0))
        assert np.abs(lean[15:25] - 100.0).max() < 12, seen  # the neighbours' lean, smoothed over
    points[..., 2] = 0.0
    np.testing.assert_array_equal(body_lean(points, H36M17, CAMERA, 50.0), 0.0)


def test_a_lifter_reads_the_confidences_even_when_its_model_takes_none():
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    assert model.config.in_channels == 2
    _, pixels = _walk()
    points = _guessed_legs(
        pixels, slice(0, 40)
    )  # legs never seen, guessed at the head: no lean to read
    np.testing.assert_array_equal(
        Lifter(model, upright=15.0).lift(points, layout="h36m17", image_size=(600, 520)),
        Lifter(model, upright=None).lift(points, layout="h36m17", image_size=(600, 520)),
    )


def test_non_square_pixels_turn_and_lean_as_the_camera_rolls():
    camera = Intrinsics((1200.0, 800.0), (300.0, 260.0))
    cam, _ = _walk()

    def project(points):
        return points[..., :2] / points[..., 2:] * np.asarray(camera.focal) + np.asarray(
            camera.centre
        )

    angles = np.full(len(cam), np.radians(70.0))
    np.testing.assert_allclose(
        turn_keypoints(project(cam), angles, camera), project(_roll(cam, 70.0)), atol=1e-3
    )
    lean = np.degrees(body_lean(project(_roll(cam, 70.0)), H36M17, camera, 50.0))
    assert np.abs(lean - 70.0).max() < 12


def test_upright_turn_keeps_small_leans_and_tapers_to_upright_upside_down():
    lean = np.radians([0.0, 20.0, -29.0, 45.0, -90.0, 179.9, -179.9])
    after = np.degrees(lean + upright_turn(lean, 30.0))
    np.testing.assert_allclose(after[:3], [0.0, 20.0, -29.0], atol=1e-9)
    assert after[3] == pytest.approx(30 * 135 / 150) and after[4] == pytest.approx(-30 * 90 / 150)
    assert (
        abs(after[5]) < 0.1 and abs(after[6]) < 0.1
    )  # no jump between the two sides of upside down
    np.testing.assert_allclose(lean + upright_turn(lean, 0.0), 0.0, atol=1e-12)


def test_a_lifter_turned_upright_answers_a_rolled_camera_with_the_rolled_3d():
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    lifter = Lifter(model, upright=0.0)
    cam, pixels = _walk()
    upright = lifter.lift(
        pixels, layout="h36m17", image_size=(600, 520), fps=50.0, intrinsics=CAMERA
    )
    for degrees in (35.0, 120.0, -160.0):
        rolled = lifter.lift(
            _pixels(_roll(cam, degrees)),
            layout="h36m17",
            image_size=(600, 520),
            fps=50.0,
            intrinsics=CAMERA,
        )
        np.testing.assert_allclose(rolled, _roll(upright, degrees), atol=2e-4)
    plain = Lifter(model, upright=None)
    assert not np.allclose(
        plain.lift(
            _pixels(_roll(cam, 120.0)),
            layout="h36m17",
            image_size=(600, 520),
            fps=50.0,
            intrinsics=CAMERA,
        ),
        _roll(upright, 120.0),
        atol=1e-2,
    )


def test_a_lifter_leaves_bodies_within_the_limit_alone():
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    _, pixels = _walk()
    np.testing.assert_array_equal(
        Lifter(model, upright=60.0).lift(pixels, layout="h36m17", image_size=(600, 520)),
        Lifter(model, upright=None).lift(pixels, layout="h36m17", image_size=(600, 520)),
    )
    with pytest.raises(UserError, match="upright"):
        Lifter(model, upright=-5.0)
