"""Camera motion from the background: synthetic pans and zooms of a still photo."""

import numpy as np
import pytest

from posemoe.assets import astronaut
from posemoe.inference.camera_motion import CameraMotionTracker, _background_mask

SIZE = (480, 360)  # width, height of the clips
FOCAL = 420.0  # pixels, the virtual camera's


def _view(scene: np.ndarray, homography: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.warpPerspective(
        scene, homography, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def _rotation(pan_deg: float, tilt_deg: float) -> np.ndarray:
    """Camera-0 to camera-t coordinates of a camera turned by pan (about y) then tilt (about x)."""
    p, q = np.radians(pan_deg), np.radians(tilt_deg)
    pan = np.array([[np.cos(p), 0, -np.sin(p)], [0, 1, 0], [np.sin(p), 0, np.cos(p)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(q), np.sin(q)], [0, -np.sin(q), np.cos(q)]])
    return tilt @ pan


def _clip(homographies: list[np.ndarray], people: list[np.ndarray] | None = None):
    """Frames of the astronaut photo (the scene, seen by the first frame) through each frame's
    homography from the first view; a person box pasted in where given."""
    import cv2

    scene = cv2.resize(astronaut(), SIZE, interpolation=cv2.INTER_AREA)
    tracker = CameraMotionTracker(SIZE)
    for t, h in enumerate(homographies):
        frame = _view(scene, h)
        here = np.zeros((0, 17, 3)) if people is None else people[t]
        for person in here:  # a textured body, moving on its own
            x0, y0 = person[:, :2].min(0).astype(int)
            x1, y1 = person[:, :2].max(0).astype(int)
            frame[y0:y1, x0:x1] = np.random.default_rng(t).integers(
                0, 255, (y1 - y0, x1 - x0, 3), dtype=np.uint8
            )
        tracker.push(frame, here)
    return tracker.result()


K = np.array([[FOCAL, 0, SIZE[0] / 2], [0, FOCAL, SIZE[1] / 2], [0, 0, 1]])


def test_a_pan_is_a_rotation_and_compensating_it_keeps_a_still_point_still():
    rotations = [_rotation(0.4 * t, 0.1 * t) for t in range(30)]
    motion = _clip([K @ r @ np.linalg.inv(K) for r in rotations])
    judged = motion.judge(FOCAL)
    assert judged.kind == "rotating", judged.report()
    pan, tilt = judged.angles()
    assert pan == pytest.approx(0.4 * 29, abs=0.5) and tilt == pytest.approx(0.1 * 29, abs=0.3)
    standing = np.array([0.5, 0.2, 4.0])  # a person standing still, metres, first camera's frame
    seen = np.stack([r @ standing for r in rotations])  # where each turned camera sees them
    np.testing.assert_allclose(judged.compensate(seen), np.tile(standing, (30, 1)), atol=0.05)
    assert (
        f"pans up to {pan:.1f} deg, tilts up to {tilt:.1f} deg with the 420 px focal"
        in judged.report()
    )
    assert judged.to_dict()["root_path"] == "first frame's camera"


def test_a_zoom_makes_the_root_path_camera_relative():
    zooms = [K @ np.diag([1 + 0.01 * t, 1 + 0.01 * t, 1]) @ np.linalg.inv(K) for t in range(20)]
    judged = _clip(zooms).judge(FOCAL)
    assert judged.kind == "moving" and judged.zoom == pytest.approx(np.log(1.19), abs=0.02)
    assert "zooms" in judged.report() and "relative to the moving camera" in judged.report()
    root = np.ones((20, 3))
    assert judged.compensate(root) is root


def test_a_still_camera_with_a_person_walking_across_is_still():
    people = []
    for t in range(25):
        box = np.array([[60 + 12 * t, 80, 1.0], [140 + 12 * t, 300, 1.0]])
        people.append(np.concatenate([box, np.repeat(box[1:], 15, 0)])[None])
    judged = _clip([np.eye(3)] * 25, people).judge(FOCAL)
    assert judged.kind == "still" and judged.shift < 0.005, judged.report()
    assert "camera: still" in judged.report()


def test_people_are_masked_out_with_a_margin():
    person = np.array([[[100.0, 50.0, 1.0], [200.0, 250.0, 1.0], [np.nan, np.nan, 0.0]]])
    mask = _background_mask((180, 240), person, 0.5)
    assert mask[75, 75] == 0 and mask[20, 45] == 0  # inside, and inside the margin
    assert mask[5, 5] == 255 and mask[170, 230] == 255
