"""The 3D panel stands in the ground's frame: an upright person filmed from above is drawn upright,
the floor grid under the feet."""

import numpy as np
import pytest

from posemoe.datasets.synthetic import synthesize_motion
from posemoe.inference.result import PersonResult, Result
from posemoe.layouts import H36M17, H36M32, convert
from posemoe.viz.draw import fit_view
from posemoe.viz.render import result_people, scene_view

T, FPS, SIZE = 150, 50.0, (640, 480)


def _filmed_from_above(pitch_deg: float) -> tuple[Result, np.ndarray, np.ndarray]:
    """A synthetic walk (z up, metres) seen by a camera 3.5 m away looking down by ``pitch_deg``:
    a Result with the person's camera-frame joints and root, the camera-frame joints, and the true
    world_from_camera (y up, -z the camera's forward on the floor, origin on the floor)."""
    world = convert(synthesize_motion(T, np.random.default_rng(3)), H36M32, H36M17).astype(float)
    world = world - [world[0, 0, 0], world[0, 0, 1], 0.0]  # start over the origin, feet on z = 0
    pitch = np.radians(pitch_deg)
    forward = np.array(
        [0.0, np.cos(pitch), -np.sin(pitch)]
    )  # the camera looks along +y, down by pitch
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(forward, right)
    centre = -3.5 * forward + [0.0, 0.0, 0.9]
    camera = (world - centre) @ np.stack([right, down, forward]).T  # x right, y down, z forward
    pixels = camera[..., :2] / camera[..., 2:] * 500 + np.array(SIZE) / 2
    keypoints = np.concatenate([pixels, np.ones((T, 17, 1))], -1)
    person = PersonResult(
        0,
        keypoints,
        camera - camera[:, :1],
        np.ones(T, bool),
        np.zeros((T, 17), bool),
        root=camera[:, 0],
    )
    turn = np.array(
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]
    )  # z up -> y up, forward -> -z
    world = np.eye(4)
    world[:3, :3], world[:3, 3] = turn @ np.stack([right, down, forward]).T, turn @ centre
    return Result("walk", "walk.mp4", "test", FPS, SIZE, H36M17, [person]), camera, world


def _lean_deg(joints: np.ndarray, view) -> float:
    """Median angle (degrees) between the drawn pelvis -> thorax line and the panel's vertical."""
    px = view.projection((480, 480))(joints)
    up = px[:, H36M17.index("Thorax")] - px[:, H36M17.index("Hip")]
    return float(np.median(np.degrees(np.arctan2(np.abs(up[:, 0]), -up[:, 1]))))


@pytest.mark.parametrize("pitch", [20.0, 30.0, 40.0])
def test_an_upright_person_filmed_from_above_is_drawn_upright(pitch: float) -> None:
    result, camera, world = _filmed_from_above(pitch)
    leaning = _lean_deg(camera, fit_view(camera))  # drawn in camera coordinates, as before
    assert leaning > 0.5 * pitch
    people = result_people(result)  # the ground fitted to the feet
    view = scene_view(people)
    assert _lean_deg(people[0].joints, view) < min(8.0, 0.7 * leaning)
    feet = (
        people[0].joints[:, [H36M17.index("RFoot"), H36M17.index("LFoot")], 1].max(axis=1)
    )  # y down: lower foot
    assert (
        abs(float(np.median(feet)) - view.floor_y) < 0.12
    )  # the grid under the feet (ankles 7 cm above it)
    result.people[
        0
    ].world_from_camera = world  # the true floor, as --world would store a perfect fit
    people = result_people(result)
    assert _lean_deg(people[0].joints, scene_view(people)) < 1.0


def test_the_result_s_own_world_frame_is_used_when_it_has_one() -> None:
    from posemoe.viz.render import level_from_camera

    result, _, _ = _filmed_from_above(30.0)
    world = np.eye(4)
    world[:3, 3] = [1.0, 2.0, 3.0]
    result.people[0].world_from_camera = world
    level = level_from_camera([result.people[0].joints_3d], [None], FPS, world)
    np.testing.assert_allclose(level, np.diag([1.0, -1.0, -1.0, 1.0]) @ world)
    drawn = result_people(result)[0].joints
    np.testing.assert_allclose(
        drawn[:, 0], (result.people[0].root + [1.0, 2.0, 3.0]) * [1, -1, -1], atol=1e-9
    )
