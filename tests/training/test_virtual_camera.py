"""Virtual cameras around a person and frame-rate augmentation."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest

from posemoe.camera import Camera
from posemoe.errors import UserError
from posemoe.layouts import H36M17, H36M32, convert
from posemoe.training.virtual_camera import (
    VirtualCameraConfig,
    VirtualCameras,
    aim_at,
    clip_frame,
    interpolate_frames,
    look_at,
    project,
    resample_clip,
    sample_cameras,
    sample_frame_indices,
    sample_rigs,
)

STILL = {
    "aim_offset": 0.0,
    "partial": 0.0,
    "moving": 0.0,
    "roll": 0.0,
    "big_roll_share": 0.0,
    "distorted": 0.0,
}


@cache
def _walks(batch: int, frames: int) -> np.ndarray:
    try:
        from posemoe.datasets.synthetic import synthesize_motion
    except ImportError:
        from posemoe.synthetic import synthesize_motion
    clips = [synthesize_motion(frames, np.random.default_rng(i)) for i in range(batch)]
    return convert(np.stack(clips), H36M32, H36M17).astype(np.float64)


def walks(batch: int = 32, frames: int = 81) -> np.ndarray:
    """(B, T, 17, 3) procedural walks, world metres, z up, 50 fps."""
    return _walks(batch, frames).copy()


def joint(name: str) -> int:
    return H36M17.index(name)


def test_projection_is_a_pinhole_camera():
    rng = np.random.default_rng(0)
    eye = np.array([[3.0, -4.0, 1.5], [-1.0, 2.0, 4.0]])
    R = look_at(eye, np.array([0.0, 0.0, 1.0]))
    cams = VirtualCameras(
        focal=np.array([900.0, 1500.0]),
        centre=np.array([[640.0, 360.0], [500.0, 900.0]]),
        image_size=np.array([[1280, 720], [1080, 1920]]),
        k1=np.zeros(2),
        R=np.repeat(R[:, None], 4, 1),
        C=np.repeat(eye[:, None], 4, 1),
        moving=np.zeros(2, bool),
        whole=np.ones(2, bool),
    )
    world = rng.uniform(-0.8, 0.8, (2, 4, 17, 3)) + np.array([0.0, 0.0, 1.0])
    pixels, camera = project(world, cams)
    for b in range(2):
        by_hand = (world[b] - eye[b]) @ R[b].T
        np.testing.assert_allclose(camera[b], by_hand, atol=1e-9)
        expected = cams.focal[b] * by_hand[..., :2] / by_hand[..., 2:] + cams.centre[b]
        np.testing.assert_allclose(pixels[b], expected, atol=1e-6)
        h36m_style = Camera(
            id="v",
            R=R[b],
            T=eye[b],
            f=np.full(2, cams.focal[b]),
            c=cams.centre[b],
            k=np.zeros(3),
            p=np.zeros(2),
            width=int(cams.image_size[b, 0]),
            height=int(cams.image_size[b, 1]),
        )
        np.testing.assert_allclose(
            pixels[b], h36m_style.project(h36m_style.world_to_camera(world[b])), atol=1e-6
        )
    np.testing.assert_allclose(
        np.einsum("btij,btkj->btki", cams.R, world) + cams.t[:, :, None], camera, atol=1e-9
    )
    bent = VirtualCameras(**{**cams.__dict__, "k1": np.array([-0.05, 0.02])})
    distorted, _ = project(world, bent)
    u = camera[..., :2] / camera[..., 2:]
    r2 = (u**2).sum(-1, keepdims=True)
    expected = (
        bent.focal[:, None, None, None] * u * (1 + bent.k1[:, None, None, None] * r2)
        + bent.centre[:, None, None]
    )
    np.testing.assert_allclose(distorted, expected, atol=1e-6)


def test_elevation_puts_the_camera_above_or_below():
    world = walks()
    head, feet = joint("Head"), [joint("LFoot"), joint("RFoot")]
    for elevation, sign in (((40.0, 60.0), 1), ((-20.0, -10.0), -1)):
        cfg = VirtualCameraConfig(elevation=elevation, **STILL)
        cams = sample_cameras(cfg, np.random.default_rng(1), world)
        pixels, camera = project(world, cams)
        assert (np.sign(cams.C[:, 0, 2] - world[:, :, 0, 2].mean(1)) == sign).all()
        # Seen from above the head is nearer than the feet; from below, further.
        nearer = camera[..., head, 2] - camera[..., feet, 2].mean(-1)
        assert (np.sign(nearer.mean(1)) == -sign).all()
        # Either way the head shows above the feet.
        assert (pixels[..., head, 1] < pixels[..., feet, 1].min(-1)).mean() > 0.99
    pixels, _ = project(
        world, sample_cameras(VirtualCameraConfig(), np.random.default_rng(2), world)
    )
    assert (pixels[..., head, 1] < pixels[..., feet, 1].min(-1)).mean() > 0.99


def test_azimuth_puts_the_camera_in_front_or_behind():
    world = walks()
    left, right = [joint("LHip"), joint("LShoulder")], [joint("RHip"), joint("RShoulder")]
    for azimuth, left_on_image_right in (((-20.0, 20.0), True), ((160.0, 200.0), False)):
        cfg = VirtualCameraConfig(azimuth=azimuth, elevation=(0.0, 10.0), **STILL)
        pixels, _ = project(world, sample_cameras(cfg, np.random.default_rng(3), world))
        on_right = pixels[..., left, 0] > pixels[..., right, 0]
        assert (on_right == left_on_image_right).mean() > 0.95
    origin, basis = clip_frame(world)
    facing = basis[:, 1]
    to_camera = (
        sample_cameras(
            VirtualCameraConfig(azimuth=(-20.0, 20.0), **STILL), np.random.default_rng(4), world
        ).C[:, 0]
        - origin
    )
    assert (np.sum(facing * to_camera, -1) > 0).all()


def test_frames_lenses_and_principal_points_are_varied():
    cams = sample_rigs(VirtualCameraConfig(), np.random.default_rng(5), 2000, 2)
    width, height = cams.image_size.T
    assert 0.3 < (height > width).mean() < 0.5  # portrait
    assert width.min() >= 478 and width.max() <= 3840 and (cams.image_size % 2 == 0).all()
    ratio = width / height
    for w, h in VirtualCameraConfig().aspects:
        assert (np.abs(ratio - w / h) < 0.01).any()
    assert (np.min(np.abs(ratio[:, None] - [16 / 9, 4 / 3, 1, 3 / 4, 9 / 16]), 1) < 0.01).all()
    fov = np.degrees(2 * np.arctan(cams.image_size.max(1) / 2 / cams.focal))
    assert fov.min() >= 25 - 1e-6 and fov.max() <= 100 + 1e-6 and fov.min() < 35 and fov.max() > 90
    off = np.abs(cams.centre / cams.image_size - 0.5)
    assert off.max() <= 0.03 + 1e-9 and off.max() > 0.02
    assert 0.2 < (cams.k1 != 0).mean() < 0.4 and cams.k1.min() >= -0.08 and cams.k1.max() <= 0.03


def test_most_clips_show_the_whole_person_some_are_cut_off():
    world = walks(64)
    cams = sample_cameras(VirtualCameraConfig(), np.random.default_rng(6), world)
    pixels, _ = project(world, cams)
    inside = ((pixels >= 0) & (pixels <= cams.image_size[:, None, None])).all(axis=(1, 2, 3))
    assert 0.75 < inside.mean() < 1.0
    assert inside[cams.whole].all()
    print(f"\nclips with every joint in the frame: {inside.mean():.0%}")


def test_no_joint_behind_or_close_to_the_camera():
    world = walks()
    close = VirtualCameraConfig(fill=(1.0, 1.0), hfov=(100.0, 100.0), body_height=0.3, partial=1.0)
    for cfg in (VirtualCameraConfig(), close):
        cams = sample_cameras(cfg, np.random.default_rng(7), world)
        _, camera = project(world, cams)
        assert camera[..., 2].min() >= 0.3


def test_fixed_cameras_stay_and_moving_ones_move_slowly():
    world = walks(16)
    fixed = sample_cameras(VirtualCameraConfig(moving=0.0), np.random.default_rng(8), world)
    np.testing.assert_array_equal(fixed.R, np.repeat(fixed.R[:, :1], world.shape[1], 1))
    np.testing.assert_array_equal(fixed.C, np.repeat(fixed.C[:, :1], world.shape[1], 1))
    cfg = VirtualCameraConfig(moving=1.0)
    moving = sample_cameras(cfg, np.random.default_rng(8), world)
    steps = world.shape[1] - 1
    turn = np.einsum("btij,btkj->btik", moving.R[:, 1:], moving.R[:, :-1])
    angle = np.degrees(np.arccos(np.clip((np.trace(turn, axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
    assert angle.max() <= (cfg.pan * 1.5 + cfg.orbit) / steps + 1e-6
    distance = np.linalg.norm(moving.C[:, 0] - world[:, :, 0].mean(1), axis=-1)
    travel = np.linalg.norm(np.diff(moving.C, axis=1), axis=-1)
    assert (
        travel.max(1) <= (cfg.dolly * 1.1 + distance * np.radians(cfg.orbit)) / steps + 1e-6
    ).all()
    assert (angle.sum(1) > 0.5).mean() > 0.5 and moving.moving.all() and not fixed.moving.any()


def test_sampling_is_reproducible():
    world = walks(8)
    first = sample_cameras(VirtualCameraConfig(), np.random.default_rng(9), world)
    again = sample_cameras(VirtualCameraConfig(), np.random.default_rng(9), world)
    other = sample_cameras(VirtualCameraConfig(), np.random.default_rng(10), world)
    for name in ("focal", "centre", "image_size", "k1", "R", "C", "moving", "whole"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.allclose(first.C, other.C)


def test_rigs_are_placed_around_each_clip():
    world = walks(4)
    rigs = sample_rigs(VirtualCameraConfig(), np.random.default_rng(11), 4, world.shape[1])
    shifted = world + np.array([10.0, -3.0, 0.0])
    a, b = aim_at(rigs, world), aim_at(rigs, shifted)
    np.testing.assert_allclose(b.C - a.C, np.broadcast_to([10.0, -3.0, 0.0], a.C.shape), atol=1e-9)
    np.testing.assert_allclose(project(world, a)[0], project(shifted, b)[0], atol=1e-6)
    with pytest.raises(UserError, match=r"expected world motion of 4 clips of 81 frames"):
        aim_at(rigs, world[:, :10])


def test_resampling_linear_motion_is_exact():
    frames = np.arange(100)
    motion = (
        np.array([0.5, -1.0, 2.0]) + np.array([0.3, 0.1, -0.2]) * (frames / 50.0)[:, None]
    )  # 50 fps
    for target in (30.0, 24.0, 60.0, 12.5):
        out = resample_clip(motion, 50.0, target)
        seconds = np.arange(len(out)) / target
        np.testing.assert_allclose(
            out,
            np.array([0.5, -1.0, 2.0]) + np.array([0.3, 0.1, -0.2]) * seconds[:, None],
            atol=1e-12,
        )
        assert seconds[-1] <= 99 / 50 + 1e-9 < seconds[-1] + 1 / target
    assert resample_clip(motion, 50.0, 50.0).shape == motion.shape


def test_frame_indices_play_the_motion_at_other_rates():
    rng = np.random.default_rng(12)
    indices, fps = sample_frame_indices(rng, 500, 81, 400, 50.0)
    assert indices.shape == (500, 81) and fps.min() >= 12.0 and fps.max() <= 60.0
    assert indices.min() >= 0 and indices.max() <= 399
    np.testing.assert_allclose(
        np.diff(indices, axis=1), np.broadcast_to((50.0 / fps)[:, None], (500, 80)), atol=1e-9
    )
    assert (fps < 25).mean() > 0.2 and (fps > 50).mean() > 0.05
    motion = np.arange(400.0)[:, None, None] * np.ones((1, 17, 3))
    np.testing.assert_allclose(interpolate_frames(motion, indices)[..., 0, 0], indices, atol=1e-12)
    short, fps = sample_frame_indices(rng, 50, 81, 120, 50.0)  # too short for 12 fps
    assert fps.min() >= 50.0 * 80 / 119 - 1e-9 and short.max() <= 119
    with pytest.raises(UserError, match="needs 68 frames at 50.0 fps, the sequence has 40"):
        sample_frame_indices(rng, 4, 81, 40, 50.0)


def test_bad_configurations_and_inputs_are_refused():
    with pytest.raises(UserError, match=r"VirtualCameraConfig.elevation: expected \(low, high\)"):
        VirtualCameraConfig(elevation=(30.0, -10.0))
    with pytest.raises(UserError, match="VirtualCameraConfig.moving: out of range"):
        VirtualCameraConfig(moving=1.5)
    with pytest.raises(UserError, match=r"expected world motion of shape \(B, T, 17, 3\)"):
        sample_cameras(VirtualCameraConfig(), np.random.default_rng(0), np.zeros((4, 9, 32, 3)))


def test_a_batch_takes_milliseconds():
    world = walks(64).astype(np.float32)
    cfg, rng = VirtualCameraConfig(), np.random.default_rng(13)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        pixels, camera = project(world, sample_cameras(cfg, rng, world))
        times.append(time.perf_counter() - start)
    assert pixels.dtype == camera.dtype == np.float32
    print(f"\nB=64, T=81, J=17: sample + project {min(times) * 1e3:.1f} ms")
    assert min(times) < 0.25  # a few ms alone; loose, the machine is shared
