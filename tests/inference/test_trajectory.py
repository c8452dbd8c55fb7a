import numpy as np
import pytest

from posemoe.camera import Camera
from posemoe.datasets.synthetic import synthesize_motion
from posemoe.errors import UserError
from posemoe.inference.skeleton import fit_skeleton
from posemoe.inference.trajectory import (
    Ground,
    estimate_trajectory,
    fit_ground,
    focal_from_fov,
    robust_smooth,
    solve_root,
    to_world,
    world_transform,
)
from posemoe.layouts import H36M17, H36M32, convert

SIZE = (1280, 720)
FOCAL = 1000.0


def _camera(pitch_deg: float = 8.0) -> Camera:
    """A pinhole camera 5 m from the capture volume's centre, 1.5 m high, looking along world +y,
    pitched down; world z up."""
    s, c = np.sin(np.radians(pitch_deg)), np.cos(np.radians(pitch_deg))
    rotation = np.array([[1.0, 0, 0], [0, -s, -c], [0, c, -s]])  # rows: camera right, down, forward
    return Camera(
        "test",
        rotation,
        np.array([0.3, -5.0, 1.5]),
        np.array([FOCAL, FOCAL]),
        np.array([640.0, 360.0]),
        np.zeros(3),
        np.zeros(2),
        *SIZE,
    )


def _seen_walk(frames: int = 150, seed: int = 0, noise_px: float = 2.0):
    """(world (T, 17, 3) z up, camera-frame joints, lifted-like root-relative joints, keypoints (T, 17, 3))."""
    rng = np.random.default_rng(seed)
    world = convert(synthesize_motion(frames, rng), H36M32, H36M17).astype(np.float64)
    camera = _camera()
    cam = camera.world_to_camera(world)
    pixels = camera.project(cam) + rng.normal(0, noise_px, cam.shape[:2] + (2,))
    keypoints = np.concatenate([pixels, rng.uniform(0.5, 1.0, cam.shape[:2] + (1,))], axis=-1)
    lifted = cam - cam[:, :1] + rng.normal(0, 0.01, cam.shape)
    return world, cam, lifted - lifted[:, :1], keypoints


def test_root_trajectory_is_recovered_from_2px_noise_and_outlier_frames_are_dropped():
    _, cam, lifted, keypoints = _seen_walk()
    bad = slice(
        60, 63
    )  # a detection that shrinks for three frames: the skeleton looks 1.4x farther away
    keypoints[bad, :, :2] = (
        0.7 * (keypoints[bad, :, :2] - keypoints[bad, :1, :2]) + keypoints[bad, :1, :2]
    )
    fit = fit_skeleton(lifted, confidence=keypoints[..., 2])
    trajectory = estimate_trajectory(fit.fitted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL)
    truth = cam[:, 0]
    error = np.linalg.norm(trajectory.root - truth, axis=-1)
    distance = np.linalg.norm(truth, axis=-1).mean()
    print(
        f"\n{trajectory.report()}\nroot error: mean {100 * error.mean():.1f} cm, max {100 * error.max():.1f} cm, "
        f"{100 * error.mean() / distance:.2f} % of the {distance:.2f} m distance; walked "
        f"{np.linalg.norm(np.diff(truth, axis=0), axis=-1).sum():.2f} m"
    )
    assert error.mean() < 0.05 * distance
    assert error[bad].max() < 0.05 * distance
    assert trajectory.outliers[bad].all()
    assert trajectory.focal_px == FOCAL and trajectory.root.shape == (150, 3)


def test_a_body_leaving_the_frame_is_bridged_not_placed_from_its_cut_2d():
    """The last 20 frames: the walker leaves the frame, and the detector's guesses at the joints
    outside it huddle at the hips (a cut body looks twice as far away). Marked unseen, they are
    left out of the solve; once most of the body is out, those frames are held, not placed."""
    _, cam, lifted, keypoints = _seen_walk()
    unseen = np.zeros(keypoints.shape[:2], bool)
    unseen[130:, 9:] = True  # the upper body, 8 of 17 joints, out of the frame: still solvable
    unseen[140:, 4:9] = True  # then all but 4: no longer placed
    keypoints[unseen, :2] = 0.5 * (
        keypoints[unseen, :2] + np.repeat(keypoints[:, :1, :2], 17, axis=1)[unseen]
    )
    fit = fit_skeleton(lifted, confidence=keypoints[..., 2])
    placed = estimate_trajectory(
        fit.fitted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL, unseen=unseen
    )
    blind = estimate_trajectory(fit.fitted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL)
    depth = cam[:, 0, 2]
    assert np.abs(blind.root[140:, 2] - depth[140:]).max() > 1.0
    assert (
        np.isnan(placed.per_frame[140:, 2]).all()
        and np.isfinite(placed.per_frame[130:140, 2]).all()
    )
    assert np.abs(placed.root[130:, 2] - depth[130:]).max() < 0.25


def test_focal_sets_the_depth_not_the_position_across_the_image():
    _, _, lifted, keypoints = _seen_walk(80, seed=1)
    right = estimate_trajectory(lifted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL).root
    long = estimate_trajectory(
        lifted, keypoints, image_size=SIZE, fps=50, focal_px=1.2 * FOCAL
    ).root
    np.testing.assert_allclose(long[:, 2] / right[:, 2], 1.2, rtol=0.02)
    np.testing.assert_allclose(long[:, 0], right[:, 0], atol=0.02)
    assert focal_from_fov(SIZE, 60.0) == pytest.approx(640 / np.tan(np.radians(30)))
    assert focal_from_fov((720, 1280)) == focal_from_fov(
        SIZE
    )  # the longer side, portrait or landscape
    default = estimate_trajectory(lifted, keypoints, image_size=SIZE, fps=50)
    assert "default" in default.report() and default.focal_px == pytest.approx(focal_from_fov(SIZE))
    with pytest.raises(UserError, match="field of view"):
        focal_from_fov(SIZE, 0.0)


def test_per_frame_solve_is_exact_without_noise_and_refuses_frames_with_too_few_joints():
    _, cam, _, _ = _seen_walk(10, seed=2, noise_px=0.0)
    pixels = FOCAL * cam[..., :2] / cam[..., 2:] + np.array([640.0, 360.0])
    weights = np.ones(cam.shape[:2])
    weights[3, 3:] = 0.0  # three joints left in frame 3
    root, rms = solve_root(cam - cam[:, :1], pixels, FOCAL, (640.0, 360.0), weights)
    ok = np.arange(10) != 3
    np.testing.assert_allclose(root[ok], cam[ok, 0], atol=1e-6)
    assert np.isnan(root[3]).all() and np.isnan(rms[3]) and np.nanmax(rms) < 1e-6


def test_robust_smooth_follows_a_line_bridges_gaps_and_ignores_spikes():
    t = np.arange(100, dtype=np.float64)
    line = np.stack([0.5 + 0.01 * t, 2.0 - 0.02 * t], axis=-1)
    values = line + np.random.default_rng(0).normal(0, 0.01, line.shape)
    values[40] += 1.0
    values[70:75] = np.nan
    weights = np.ones(100)
    weights[20] = 0.0
    smooth, robust = robust_smooth(values, weights, sigma_frames=5.0)
    assert (
        np.abs(smooth - line).max() < 0.015
    )  # noise 0.01, no pull from the spike, no lag at the ends
    assert (robust[40] == 0).all() and (robust[70:75] == 0).all() and (robust[20] == 0).all()
    assert (robust[[10, 30, 50, 90]] > 0).all()
    exact, _ = robust_smooth(line, np.ones(100), sigma_frames=5.0)
    np.testing.assert_allclose(exact, line, atol=1e-9)


def test_ground_and_world_frame_from_foot_contacts():
    world, cam, lifted, keypoints = _seen_walk()
    fit = fit_skeleton(lifted, confidence=keypoints[..., 2])
    root = estimate_trajectory(fit.fitted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL).root
    ground = fit_ground(fit.fitted + root[:, None], fps=50, ankle_height=0.04)
    true_up = _camera().R @ np.array([0.0, 0.0, 1.0])
    tilt = np.degrees(np.arccos(ground.normal @ true_up))
    print(f"\n{ground.report()}; normal {tilt:.2f} deg from the truth")
    assert ground.method == "contacts" and tilt < 3.0
    transform = world_transform(ground, root[0])
    placed = to_world(fit.fitted + root[:, None], transform)
    assert np.allclose(placed[0, 0, [0, 2]], 0.0)  # origin under the first frame's pelvis
    assert placed[:, 0, 1].mean() == pytest.approx(
        world[:, 0, 2].mean(), abs=0.05
    )  # pelvis height above the floor
    np.testing.assert_allclose(transform[:3, :3] @ transform[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.linalg.det(transform[:3, :3]) == pytest.approx(1.0)
    forward = transform[:3, :3] @ np.array(
        [0.0, 0.0, 1.0]
    )  # the camera's forward axis, in the world
    assert forward[2] < -0.9 and abs(forward[0]) < 1e-9  # -z, no sideways part

    # two people on one floor (the same walk 1 m to the side): one plane from both, each in its own place
    beside = fit.fitted + (root + np.array([1.0, 0.0, 0.0]))[:, None]
    shared = fit_ground(
        [fit.fitted + root[:, None], beside],
        fps=50,
        visible=[None, np.arange(len(root)) < 100],
        ankle_height=0.04,
    )
    assert shared.method == "contacts" and np.degrees(np.arccos(shared.normal @ true_up)) < 3.0
    assert shared.contacts.sum() > ground.contacts.sum()  # pooled
    both = to_world(
        np.stack([fit.fitted + root[:, None], beside]), world_transform(shared, root[0])
    )
    assert abs(both[0, :, 0, 1].mean() - both[1, :, 0, 1].mean()) < 0.05  # on the same floor
    assert np.linalg.norm(both[1, 0, 0, [0, 2]] - both[0, 0, 0, [0, 2]]) == pytest.approx(
        1.0, abs=0.05
    )

    floor = Ground(
        true_up, _camera().world_to_camera(np.zeros(3)), np.zeros((150, 2), bool), "truth"
    )
    expected = to_world(cam, world_transform(floor, cam[0, 0]))
    assert np.linalg.norm(placed - expected, axis=-1).mean() < 0.05


def test_people_on_parallel_planes_share_the_normal_not_the_height():
    """One person on a 0.8 m box, another 1.5 m further away than their estimate says: pooled as
    they are, their contacts would tilt the floor between them; each is measured from their own
    centroid, so the normal stays the floor's."""
    world, cam, lifted, keypoints = _seen_walk()
    fit = fit_skeleton(lifted, confidence=keypoints[..., 2])
    root = estimate_trajectory(fit.fitted, keypoints, image_size=SIZE, fps=50, focal_px=FOCAL).root
    true_up = _camera().R @ np.array([0.0, 0.0, 1.0])
    alone = fit_ground(fit.fitted + root[:, None], fps=50)
    on_box = fit.fitted + (root + 0.8 * true_up)[:, None]
    further = fit.fitted + (root + np.array([0.5, 0.0, 1.5]))[:, None]
    shared = fit_ground([fit.fitted + root[:, None], on_box, further], fps=50)
    error = np.degrees(np.arccos(shared.normal @ true_up))
    assert shared.method == "contacts" and error < 3.0
    assert error <= np.degrees(np.arccos(alone.normal @ true_up)) + 1.0
    low = [
        float(np.percentile(shared.height(person[:, 3]), 10))
        for person in (fit.fitted + root[:, None], on_box, further)
    ]
    assert (
        min(low) > -0.05 and min(low) < 0.15
    )  # the floor under the lowest person's feet: nobody sinks into it
    assert low[1] > 0.7  # the person on the box stands above it
