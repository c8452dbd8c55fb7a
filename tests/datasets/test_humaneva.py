import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from posemoe.datasets.humaneva import (
    PROTOCOL,
    fit_cameras,
    load_humaneva,
    load_humaneva_cameras,
    procrustes_errors,
    quaternion_to_matrix,
    score_h36m_on_humaneva,
    score_humaneva,
    split_validation,
)
from posemoe.errors import UserError
from posemoe.io.npz import save_npz
from posemoe.layouts import H36M17, convert
from posemoe.layouts.humaneva import HUMANEVA15

# Camera-to-world rotation of a camera looking along world +y with world z up: -90 degrees about x.
LOOK_ALONG_Y = [np.sqrt(0.5), -np.sqrt(0.5), 0.0, 0.0]
TRUE_INTRINSICS = {
    "f": np.array([720.0, 715.0]),
    "c": np.array([310.0, 230.0]),
    "k": np.array([-0.3, 0.1, 0.0]),
    "p": np.array([0.002, -0.001]),
}
CHUNKS = {
    "Train/S1": {"Walking 1 chunk0": 20, "Jog 1 chunk2": 6, "Jog 1 chunk10": 8},
    "Train/S2": {"Box 1 chunk1": 10, "Walking 1 chunk0": 12},
}
# A standing body facing world -y (towards the cameras), z up, metres: the subject's left is +x.
BODY = {
    "pelvis": (0, 0, 0.9),
    "thorax": (0, 0, 1.35),
    "LShoulder": (0.18, 0, 1.32),
    "LElbow": (0.2, 0, 1.05),
    "LWrist": (0.2, -0.05, 0.8),
    "RShoulder": (-0.18, 0, 1.32),
    "RElbow": (-0.2, 0, 1.05),
    "RWrist": (-0.2, -0.05, 0.8),
    "LHip": (0.05, 0.02, 0.85),
    "LKnee": (0.07, -0.03, 0.47),
    "LAnkle": (0.07, 0, 0.08),
    "RHip": (-0.05, 0.02, 0.85),
    "RKnee": (-0.07, -0.03, 0.47),
    "RAnkle": (-0.07, 0, 0.08),
    "head": (0, 0, 1.65),
}


def _motion(frames: int, seed: int) -> np.ndarray:
    """(T, 15, 3) world metres: the body sweeping across the cameras' view, arms swinging."""
    body = np.array([BODY[j] for j in HUMANEVA15.joints])
    t = np.linspace(0, 1, frames)[:, None]
    world = (
        body[None] + np.concatenate([3.0 * t - 1.5, 0.5 * np.sin(6 * t + seed), 0 * t], 1)[:, None]
    )
    world[:, [HUMANEVA15.index("LWrist"), HUMANEVA15.index("RWrist")], 1] += 0.3 * np.cos(9 * t)
    return world.astype(np.float32)


@pytest.fixture()
def humaneva_dir(tmp_path: Path) -> Path:
    return write_humaneva_dir(tmp_path, CHUNKS)


def write_humaneva_dir(tmp_path: Path, layout: dict[str, dict[str, int]]) -> Path:
    """VideoPose3D's three HumanEva files for ``layout`` ({subject: {chunk key: frames}})."""
    extrinsics = [
        {"orientation": LOOK_ALONG_Y, "translation": [x_mm, -4500.0, 1100.0]}
        for x_mm in (-600, 0, 600)
    ]
    spec = {
        "humaneva_cameras_intrinsic_params": [
            {"id": c, "res_w": 640, "res_h": 480} for c in ("C1", "C2", "C3")
        ],
        "humaneva_cameras_extrinsic_params": {
            "S1": extrinsics,
            "S2": extrinsics,
            "S3": extrinsics,
            "S4": [{}, {}, {}],
        },
    }
    (tmp_path / "humaneva_cameras.json").write_text(json.dumps(spec))
    cameras = {
        s: [replace(c, **TRUE_INTRINSICS) for c in cams]
        for s, cams in load_humaneva_cameras(tmp_path / "humaneva_cameras.json").items()
    }
    positions_3d, positions_2d = {}, {}
    for subject, chunks in layout.items():
        positions_3d[subject] = {k: _motion(t, i) for i, (k, t) in enumerate(chunks.items())}
        positions_2d[subject] = {
            k: [
                cam.project(cam.world_to_camera(w.astype(np.float64))).astype(np.float32)
                for cam in cameras[subject.split("/")[1]]
            ]
            for k, w in positions_3d[subject].items()
        }
    save_npz(tmp_path / "data_3d_humaneva15.npz", positions_3d=positions_3d)
    save_npz(
        tmp_path / "data_2d_humaneva15_gt.npz",
        positions_2d=positions_2d,
        metadata={
            "layout_name": "humaneva15",
            "num_joints": 15,
            "keypoints_symmetry": [list(HUMANEVA15.left), list(HUMANEVA15.right)],
        },
    )
    return tmp_path


def test_quaternion_convention():
    quarter_turn_about_z = [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)]
    np.testing.assert_allclose(
        quaternion_to_matrix(quarter_turn_about_z) @ [1, 0, 0], [0, 1, 0], atol=1e-12
    )
    camera_to_world = quaternion_to_matrix(LOOK_ALONG_Y)
    np.testing.assert_allclose(camera_to_world @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # optical axis
    np.testing.assert_allclose(camera_to_world @ [0, 1, 0], [0, 0, -1], atol=1e-12)  # image down


def test_loads_clips_in_camera_frame_root_relative(humaneva_dir):
    clips = load_humaneva(humaneva_dir)
    assert len(clips) == 3 * 5
    assert [(c.subject, c.chunk) for c in clips[::3]] == [
        ("Train/S1", "Jog 1 chunk2"),
        ("Train/S1", "Jog 1 chunk10"),
        ("Train/S1", "Walking 1 chunk0"),
        ("Train/S2", "Box 1 chunk1"),
        ("Train/S2", "Walking 1 chunk0"),
    ]
    clip = clips[0]
    assert (
        clip.action == "Jog"
        and clip.keypoints_2d.shape == (6, 15, 2)
        and clip.poses_3d.shape == (6, 15, 3)
    )
    np.testing.assert_allclose(clip.poses_3d[:, 0], 0.0)
    assert (clip.points_camera[..., 2] > 3.5).all()  # in front of the camera, 4.5 m away
    assert (
        clip.poses_3d[:, list(HUMANEVA15.left), 0] > 0
    ).all()  # facing the camera: left is image right
    assert (clip.poses_3d[:, HUMANEVA15.index("head"), 1] < -0.5).all()  # y down: the head is up
    only = load_humaneva(humaneva_dir, subjects=["Train/S2"], actions=["Walking"])
    assert {(c.subject, c.action) for c in only} == {("Train/S2", "Walking")} and len(only) == 3


def test_fitted_intrinsics_reproject_the_2d(humaneva_dir):
    clips = load_humaneva(humaneva_dir)
    cameras = load_humaneva_cameras(humaneva_dir / "humaneva_cameras.json")
    assert np.isnan(cameras["S1"][0].f).all() and "S4" not in cameras
    fits = fit_cameras(clips, cameras)
    assert sorted(fits) == [(s, i) for s in ("Train/S1", "Train/S2") for i in range(3)]
    for camera, residuals in fits.values():
        np.testing.assert_allclose(camera.f, TRUE_INTRINSICS["f"], atol=0.05)
        np.testing.assert_allclose(camera.c, TRUE_INTRINSICS["c"], atol=0.05)
        assert residuals.max() < 0.01


def test_validation_split_holds_out_the_last_chunk_or_tail(humaneva_dir):
    clips = load_humaneva(humaneva_dir)
    train, val = split_validation(clips)
    held = {(c.subject, c.chunk, c.start, len(c.poses_3d)) for c in val}
    assert held == {
        ("Train/S1", "Jog 1 chunk10", 0, 8),
        ("Train/S1", "Walking 1 chunk0", 16, 4),
        ("Train/S2", "Box 1 chunk1", 8, 2),
        ("Train/S2", "Walking 1 chunk0", 10, 2),
    }
    assert len(val) == 3 * len(held)  # every camera alike
    head = next(c for c in train if c.chunk == "Walking 1 chunk0" and c.subject == "Train/S1")

    def same_view(c):
        return (c.subject, c.chunk, c.camera) == (head.subject, head.chunk, head.camera)

    tail, whole = next(c for c in val if same_view(c)), next(c for c in clips if same_view(c))
    np.testing.assert_array_equal(np.concatenate([head.poses_3d, tail.poses_3d]), whole.poses_3d)
    assert sum(len(c.poses_3d) for c in train + val) == sum(len(c.poses_3d) for c in clips)

    def ids(part):
        return [(c.subject, c.chunk, c.camera, c.start) for c in part]

    assert ids(split_validation(clips)[1]) == ids(val)  # deterministic


def test_procrustes_ignores_similarity_transforms_but_not_mirroring():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 15, 3))
    angle = 0.7
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    moved = 1.3 * target @ rotation.T + np.array([0.5, -2.0, 3.0])
    np.testing.assert_allclose(procrustes_errors(moved, target), 0.0, atol=1e-9)
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    assert (procrustes_errors(mirrored, target) > 0.1).all()
    noisy = target + rng.normal(scale=0.05, size=target.shape)
    centred = np.linalg.norm(
        (noisy - noisy.mean(1, keepdims=True)) - (target - target.mean(1, keepdims=True)), axis=-1
    ).mean(-1)
    assert (procrustes_errors(noisy, target) <= centred + 1e-12).all()


def test_protocol_scores_per_action_and_subject(humaneva_dir):
    clips = load_humaneva(humaneva_dir, actions=PROTOCOL.actions)
    report = score_humaneva([c.poses_3d * 1.1 for c in clips], clips)
    assert report.joints == HUMANEVA15.joints
    assert all(v == pytest.approx(0.0, abs=1e-4) for v in report.errors_mm["P-MPJPE"].values())
    assert report.frames[("Jog", "Train/S1")] == 3 * (6 + 8)
    # one clip off, the others perfect: its cell is the frame-weighted mean
    preds = [c.poses_3d.astype(np.float64) for c in clips]
    preds[0] = preds[0] + np.random.default_rng(1).normal(scale=0.03, size=preds[0].shape)
    expected = (
        procrustes_errors(preds[0], clips[0].poses_3d.astype(np.float64)).sum() * 1000 / (3 * 14)
    )
    report = score_humaneva(preds, clips)
    assert report.errors_mm["P-MPJPE"][("Jog", "Train/S1")] == pytest.approx(expected, rel=1e-4)
    table = report.to_markdown()
    assert table.splitlines()[0].startswith(
        "| metric (mm) | Walking S1 | Walking S2 | Jog S1 | Box S2 | Avg |"
    )
    assert "| frames (all cameras) |" in table


def test_h36m_predictions_are_scored_on_the_shared_joints(humaneva_dir):
    clips = load_humaneva(humaneva_dir, actions=PROTOCOL.actions)
    preds = [
        convert(c.poses_3d.astype(np.float64), HUMANEVA15, H36M17) + [0.0, 0.1, 0.0] for c in clips
    ]
    for p in preds:
        p[:, [H36M17.index(j) for j in ("Hip", "Spine", "Neck/Nose", "Head", "LHip")]] += (
            0.5  # not scored
        )
    report = score_h36m_on_humaneva(preds, clips)
    assert set(report.errors_mm) == {"P-MPJPE", "centred MPJPE"}
    assert max(max(m.values()) for m in report.errors_mm.values()) == pytest.approx(0.0, abs=1e-6)
    preds[0][:, H36M17.index("LWrist")] += 0.1
    assert (
        score_h36m_on_humaneva(preds, clips).errors_mm["centred MPJPE"][("Jog", "Train/S1")] > 1.0
    )


def test_bad_predictions_are_refused(humaneva_dir):
    clips = load_humaneva(humaneva_dir)
    with pytest.raises(UserError, match="one prediction per clip"):
        score_humaneva([c.poses_3d for c in clips[1:]], clips)
    with pytest.raises(UserError, match=r"shape \(6, 17, 3\)"):
        score_h36m_on_humaneva([c.poses_3d for c in clips], clips)


def _rewrite(directory: Path, name: str, key: str, value: dict) -> None:
    save_npz(directory / name, **{key: value})


def test_malformed_files_give_clear_errors(humaneva_dir):
    from posemoe.io.npz import load_npz

    positions_2d = load_npz(humaneva_dir / "data_2d_humaneva15_gt.npz")["positions_2d"]
    with pytest.raises(UserError, match="subject 'Train/S9'"):
        load_humaneva(humaneva_dir, subjects=["Train/S9"])
    short = {
        s: {k: [v[:-1] for v in views] for k, views in chunks.items()}
        for s, chunks in positions_2d.items()
    }
    _rewrite(humaneva_dir, "data_2d_humaneva15_gt.npz", "positions_2d", short)
    with pytest.raises(UserError, match="frames of 2D but"):
        load_humaneva(humaneva_dir)
    del positions_2d["Train/S1"]["Jog 1 chunk2"]
    _rewrite(humaneva_dir, "data_2d_humaneva15_gt.npz", "positions_2d", positions_2d)
    with pytest.raises(UserError, match="no 2D for Train/S1 / Jog 1 chunk2"):
        load_humaneva(humaneva_dir)
    bad_key = {"Train/S1": {"Walking_chunk0": np.zeros((2, 15, 3))}}
    _rewrite(humaneva_dir, "data_3d_humaneva15.npz", "positions_3d", bad_key)
    with pytest.raises(UserError, match="keys like 'Walking 1 chunk0'"):
        load_humaneva(humaneva_dir)
    (humaneva_dir / "humaneva_cameras.json").write_text("{}")
    with pytest.raises(UserError, match="camera file"):
        load_humaneva(humaneva_dir)


# The official layout of VideoPose3D's files: each take's chunks alternate between Train and Validate
OFFICIAL = {
    f"{split}/S{n}": {
        f"{action} 1 chunk{2 * k + (split == 'Train')}": 6 + n + k
        for action in ("Walking", "Jog", "Box")
        for k in range(2)
    }
    for split in ("Train", "Validate")
    for n in (1, 2, 3)
}


class _Truth:
    """A lifter that answers each clip with its own 3D, scaled (P-MPJPE 0), and one clip shifted."""

    layout = HUMANEVA15

    def __init__(self, clips, shifted: tuple[str, str], shift: np.ndarray) -> None:
        self.answers = {c.keypoints_2d.tobytes(): c for c in clips}
        self.shifted, self.shift = shifted, shift

    def lift(self, keypoints, **_):
        clip = self.answers[keypoints.tobytes()]
        pose = clip.poses_3d.astype(np.float64) * 1.1
        return (
            pose + self.shift
            if (clip.subject, clip.chunk) == self.shifted and clip.camera == 0
            else pose
        )


def test_eval_runs_the_standard_protocol_on_the_validate_split(tmp_path):
    from posemoe.evaluation.cross_dataset import evaluate_humaneva

    write_humaneva_dir(tmp_path, OFFICIAL)
    clips = load_humaneva(tmp_path)
    clips += split_validation([c for c in clips if c.subject.startswith("Train/")])[1]
    shift = np.random.default_rng(0).normal(
        scale=0.05, size=(8, 15, 3)
    )  # Validate/S2's "Jog 1 chunk0": 8 frames
    truth = next(
        c for c in clips if (c.subject, c.chunk, c.camera) == ("Validate/S2", "Jog 1 chunk0", 0)
    )
    expected = (
        procrustes_errors(truth.poses_3d * 1.1 + shift, truth.poses_3d.astype(np.float64)).sum()
        * 1000
    )
    result = evaluate_humaneva(_Truth(clips, ("Validate/S2", "Jog 1 chunk0"), shift), tmp_path)
    standard = result.standard.errors_mm["P-MPJPE"]
    assert sorted(standard) == sorted(
        (a, f"Validate/S{n}") for a in ("Walking", "Jog") for n in (1, 2, 3)
    )
    assert result.standard.frames[("Jog", "Validate/S2")] == 3 * (
        8 + 9
    )  # both chunks, three cameras
    assert standard[("Jog", "Validate/S2")] == pytest.approx(expected / (3 * 17), rel=1e-6)
    assert all(
        v == pytest.approx(0.0, abs=1e-3)
        for cell, v in standard.items()
        if cell != ("Jog", "Validate/S2")
    )
    assert {s for _, s in result.chunks.frames} == {
        "Train/S1",
        "Train/S2",
        "Train/S3",
    }  # beside: Train's chunks
    table = result.to_markdown()
    assert table.startswith("Standard protocol: Validate/S1-S3, Walking and Jog")
    assert (
        "| metric (mm) | Walking S1 | Walking S2 | Walking S3 | Jog S1 | Jog S2 | Jog S3 | Avg |"
        in table
    )
    assert "Held-out chunks of Train" in table


def test_eval_without_the_validate_split_says_the_standard_protocol_was_not_run(humaneva_dir):
    from posemoe.evaluation.cross_dataset import evaluate_humaneva

    clips = split_validation(load_humaneva(humaneva_dir))[1]
    result = evaluate_humaneva(_Truth(clips, ("", ""), 0.0), humaneva_dir)
    assert result.standard is None and "no Validate/S1-S3 subjects" in result.to_markdown()


def test_a_camera_with_a_zero_quaternion_is_refused_by_name(tmp_path):
    spec = {
        "humaneva_cameras_intrinsic_params": [
            {"id": c, "res_w": 640, "res_h": 480} for c in ("C1", "C2", "C3")
        ],
        "humaneva_cameras_extrinsic_params": {
            "S1": [{"orientation": [0, 0, 0, 0], "translation": [0, 0, 0]}] * 3
        },
    }
    (tmp_path / "humaneva_cameras.json").write_text(json.dumps(spec))
    with pytest.raises(
        UserError,
        match=r"humaneva_cameras.json: S1 camera C1: expected a rotation quaternion "
        r"\(w, x, y, z\) of length 1, found length 0",
    ):
        load_humaneva_cameras(tmp_path / "humaneva_cameras.json")
