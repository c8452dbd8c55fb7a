import io
from pathlib import Path

import numpy as np
import pytest

import posemoe.export.bvh as bvh_export
from posemoe.camera import Camera
from posemoe.datasets.synthetic import synthesize_motion
from posemoe.export import FORMATS, write_result
from posemoe.inference.result import PersonResult, Result
from posemoe.inference.skeleton import bone_lengths, fit_skeleton
from posemoe.inference.trajectory import estimate_trajectory, fit_ground, to_world, world_transform
from posemoe.io.bvh import forward_kinematics, read_bvh
from posemoe.layouts import H36M17, H36M32, convert

FPS = 25.0
SIZE = (1280, 720)


def _person(frames: int, seed: int, track: int = 0) -> PersonResult:
    """A synthetic walker seen 5 m away by a 1000 px pinhole camera: 2 px noise on the 2D,
    lifted-like 3D (bones stretching 5 %, 1 cm jitter)."""
    rng = np.random.default_rng(seed)
    world = convert(synthesize_motion(frames, rng), H36M32, H36M17).astype(np.float64)
    rotation = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # level camera looking along world +y
    camera = Camera(
        "t",
        rotation,
        np.array([0.0, -5.0, 1.2]),
        np.array([1000.0, 1000.0]),
        np.array([640.0, 360.0]),
        np.zeros(3),
        np.zeros(2),
        *SIZE,
    )
    cam = camera.world_to_camera(world)
    pixels = camera.project(cam) + rng.normal(0, 2.0, cam.shape[:2] + (2,))
    keypoints = np.concatenate([pixels, np.ones(cam.shape[:2] + (1,))], axis=-1).astype(np.float32)
    lifted = (cam - cam[:, :1]) * rng.uniform(0.95, 1.05, (frames, 1, 1)) + rng.normal(
        0, 0.01, cam.shape
    )
    return PersonResult(
        track, keypoints, (lifted - lifted[:, :1]).astype(np.float32), np.ones(frames, bool)
    )


def _result(people: list[PersonResult]) -> Result:
    return Result("walk", "", "test", FPS, SIZE, H36M17, people)


def _read_back(path) -> tuple[np.ndarray, object]:
    """(T, 17, 3) H36M-17 joint positions of a BVH file by posemoe's reader, and the file."""
    motion = read_bvh(path)
    index = [motion.names.index(bvh_export.bvh_name(n)) for n in H36M17.joints]
    return forward_kinematics(motion)[:, index], motion


def test_round_trip_gives_the_fitted_world_positions_and_constant_bones(tmp_path):
    person = _person(60, seed=0)
    fit = fit_skeleton(
        person.joints_3d, confidence=person.keypoints[..., 2], visible=person.visible
    )
    trajectory = estimate_trajectory(
        fit.fitted, person.keypoints, image_size=SIZE, fps=FPS, focal_px=1000.0
    )
    person.root = trajectory.root  # the fields the pipeline adds
    person.fitted = fit.fitted
    camera = fit.fitted + trajectory.root[:, None]
    expected = to_world(camera, world_transform(fit_ground(camera, FPS), trajectory.root[0]))

    (path,) = write_result(_result([person]), tmp_path, ["bvh"])
    assert path.name == "walk.bvh"
    positions, motion = _read_back(path)
    assert np.abs(positions - expected).max() < 1e-3  # within 1 mm
    assert motion.num_frames == 60 and motion.frame_time == pytest.approx(1 / FPS)
    assert np.allclose(
        positions[0, 0, [0, 2]], 0.0, atol=1e-5
    )  # origin on the floor under the first pelvis
    assert 0.8 < positions[:, 0, 1].mean() < 1.1  # pelvis height above the floor, metres, y up
    lengths = bone_lengths(positions)
    np.testing.assert_allclose(lengths, np.broadcast_to(fit.lengths, lengths.shape), atol=1e-5)
    assert motion.channels[0] == (
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Xrotation",
        "Yrotation",
    )
    rotating = [c for c, end in zip(motion.channels[1:], motion.end_sites[1:]) if not end]
    assert sum(motion.end_sites) == 5 and len(rotating) == 16 and all(len(c) == 3 for c in rotating)


def test_independent_parser_reads_one_frame_per_video_frame():
    bvh = pytest.importorskip("bvh")
    person = _person(40, seed=1)
    take = bvh_export.person_take(person, FPS)
    ((path, (write, binary)),) = bvh_export.bvh_files(_result([person]), Path("out")).items()
    buffer = io.StringIO()
    write(buffer)
    parsed = bvh.Bvh(buffer.getvalue())
    assert path == Path("out/walk.bvh") and not binary
    assert parsed.nframes == 40 and parsed.frame_time == pytest.approx(1 / FPS)
    names = parsed.get_joints_names()
    assert names == [bvh_export.bvh_name(n) for n in np.array(H36M17.joints)[_depth_first_order()]]
    assert sum(len(parsed.joint_channels(n)) for n in names) == 6 + 3 * 16
    assert len(parsed.frames) == 40 and all(len(row) == 54 for row in parsed.frames)
    offsets = np.array([parsed.joint_offset(n) for n in names])
    lengths = np.linalg.norm(offsets, axis=-1)
    fitted = take.skeleton.offsets[: H36M17.num_joints][_depth_first_order()]
    np.testing.assert_allclose(lengths, np.linalg.norm(fitted, axis=-1), atol=1e-5)


def _depth_first_order() -> list[int]:
    order, stack = [], [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed([c for c, p in enumerate(H36M17.parents) if p == joint]))
    return order


def test_without_a_root_the_person_stands_in_place_and_several_people_get_one_file_each(tmp_path):
    people = [_person(30, seed=2, track=3), _person(30, seed=4, track=7)]
    assert "bvh" in FORMATS
    paths = write_result(_result(people), tmp_path, ["bvh"])
    assert sorted(p.name for p in paths) == ["walk_person3.bvh", "walk_person7.bvh"]
    positions, _ = _read_back(tmp_path / "walk_person3.bvh")
    take = bvh_export.person_take(people[0], FPS)
    assert np.abs(positions - take.positions).max() < 1e-3
    np.testing.assert_allclose(positions[:, 0, [0, 2]], 0.0, atol=1e-6)  # root fixed over the floor
    assert np.ptp(positions[:, 0, 1]) < 1e-6 and 0.8 < positions[0, 0, 1] < 1.1
    assert (
        positions[:, H36M17.index("Head"), 1].mean() > positions[:, 0, 1].mean() + 0.4
    )  # upright, y up


def test_posemoe_reads_its_own_bvh_as_motion(tmp_path):
    from posemoe.datasets.bvh_motion import choose_rig, load_bvh_motion

    person = _person(30, seed=3)
    (path,) = write_result(_result([person]), tmp_path, ["bvh"])
    positions, motion = _read_back(path)  # y up, metres
    assert choose_rig(motion.names, str(path)).name == "posemoe"
    (clip,) = load_bvh_motion(path)
    assert clip.fps == pytest.approx(FPS) and clip.positions.shape == (30, 17, 3)
    z_up = np.stack([positions[..., 0], -positions[..., 2], positions[..., 1]], axis=-1)
    np.testing.assert_allclose(clip.positions, z_up, atol=1e-5)
