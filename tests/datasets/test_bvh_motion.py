"""Synthetic humanoids, written as BVH in each supported naming and unit: y up, facing +z, the
subject's left at +x, knees bent forward (+z) and the left arm raised straight up."""

import numpy as np
import pytest

from posemoe.datasets.bvh_motion import RIGS, load_bvh_motion, sample_times
from posemoe.errors import UserError
from posemoe.layouts import H36M17

at = H36M17.index
CM_PER_UNIT = {"cm": 1.0, "m": 100.0, "mm": 0.1, "inch": 2.54, "cmu-asf": 2.54 / 0.45}

Spec = list[tuple[str, str | None, tuple[float, float, float]]]  # (name, parent, offset in cm)


def _mirror(spec: Spec, left: str, right: str) -> Spec:
    return [
        (n.replace(left, right), p.replace(left, right) if p else p, (-x, y, z))
        for n, p, (x, y, z) in spec
    ]


def _limbs(hip: str, chest: str, names: dict[str, str], left: str, right: str) -> Spec:
    leg = [
        (names["thigh"], hip, (9, -5, 0)),
        (names["shin"], names["thigh"], (0, -43, 5)),
        (names["foot"], names["shin"], (0, -43, -5)),
        (names["toe"], names["foot"], (0, -4, 12)),
        (names["toe"] + "_end", names["toe"], (0, 0, 3)),
    ]
    arm = [
        (names["clavicle"], chest, (3, 21, 0)),
        (names["upper"], names["clavicle"], (15, 0, 0)),
        (names["fore"], names["upper"], (0, 28, 0)),
        (names["hand"], names["fore"], (0, 25, 0)),
        (names["hand"] + "_end", names["hand"], (0, 8, 0)),
    ]
    right_arm = [
        (n, p, (x, -y if i > 1 else y, z))
        for i, (n, p, (x, y, z)) in enumerate(_mirror(arm, left, right))
    ]
    return leg + _mirror(leg, left, right) + arm + right_arm


CMU_NAMES = {
    "thigh": "LeftUpLeg",
    "shin": "LeftLeg",
    "foot": "LeftFoot",
    "toe": "LeftToeBase",
    "clavicle": "LeftShoulder",
    "upper": "LeftArm",
    "fore": "LeftForeArm",
    "hand": "LeftHand",
}
CMU: Spec = [
    ("Hips", None, (0, 0, 0)),
    ("LowerBack", "Hips", (0, 0, 0)),
    ("Spine", "LowerBack", (0, 12, 0)),
    ("Spine1", "Spine", (0, 12, 0)),
    ("Neck", "Spine1", (0, 24, 0)),
    ("Neck1", "Neck", (0, 6, 0)),
    ("Head", "Neck1", (0, 6, 0)),
    ("Head_end", "Head", (0, 18, 0)),
] + _limbs("Hips", "Spine1", CMU_NAMES, "Left", "Right")
MIXAMO: Spec = [
    ("Hips", None, (0, 0, 0)),
    ("Spine", "Hips", (0, 12, 0)),
    ("Spine1", "Spine", (0, 12, 0)),
    ("Spine2", "Spine1", (0, 12, 0)),
    ("Neck", "Spine2", (0, 12, 0)),
    ("Head", "Neck", (0, 12, 0)),
    ("HeadTop_End", "Head", (0, 18, 0)),
    ("HeadTop_End_end", "HeadTop_End", (0, 0, 0)),
]
MIXAMO += [
    (n, p, (x, y - 12 if n.endswith("Shoulder") else y, z))
    for n, p, (x, y, z) in _limbs("Hips", "Spine2", CMU_NAMES, "Left", "Right")
]
BANDAI_NAMES = {
    "thigh": "UpperLeg_L",
    "shin": "LowerLeg_L",
    "foot": "Foot_L",
    "toe": "Toes_L",
    "clavicle": "Shoulder_L",
    "upper": "UpperArm_L",
    "fore": "LowerArm_L",
    "hand": "Hand_L",
}
BANDAI: Spec = [
    ("joint_Root", None, (0, 0, 0)),
    ("Hips", "joint_Root", (0, 95, 0)),
    ("Spine", "Hips", (0, 12, 0)),
    ("Chest", "Spine", (0, 12, 0)),
    ("Neck", "Chest", (0, 24, 0)),
    ("Head", "Neck", (0, 6.5, 0)),
    ("Head_end", "Head", (0, 0, 0)),
] + _limbs("Hips", "Chest", BANDAI_NAMES, "_L", "_R")

# Where the H36M-17 joints of the CMU and Mixamo humanoids are in frame 0, cm, in the file's y-up axes.
EXPECTED_CM = {
    "Hip": (0, 90, 0),
    "LHip": (9, 90, 0),
    "LKnee": (9, 47, 5),
    "LFoot": (9, 4, 0),
    "RHip": (-9, 90, 0),
    "Spine": (0, 119, 0),
    "Thorax": (0, 143, 0),
    "Neck/Nose": (0, 155, 0),
    "Head": (0, 173, 0),
    "LShoulder": (18, 140, 0),
    "LElbow": (18, 168, 0),
    "LWrist": (18, 193, 0),
    "RWrist": (-18, 87, 0),
}


def _depth_first(spec: Spec) -> Spec:
    """The joints in file order: depth first, children in ``spec`` order."""
    out: Spec = []
    stack = [spec[0]]
    while stack:
        entry = stack.pop()
        out.append(entry)
        stack.extend(reversed([s for s in spec if s[1] == entry[0]]))
    return out


def _frames(spec: Spec, root_cm: tuple[float, float, float], six: bool) -> list[list[float]]:
    """Three frames: standing, turned 90 degrees left and moved, turned 180 degrees."""
    rows = []
    for yaw, shift in ((0, (0, 0, 0)), (90, (10, 0, 20)), (180, (0, 0, 0))):
        row: list[float] = []
        for i, (_, _, offset) in enumerate(
            s for s in _depth_first(spec) if not s[0].endswith("_end")
        ):
            if i == 0:
                row += [r + d for r, d in zip(root_cm, shift)] + [0, 0, yaw]
            else:
                row += (list(offset) if six else []) + [0, 0, 0]
        rows.append(row)
    return rows


def _bvh(
    spec: Spec,
    *,
    cm_per_unit: float = 1.0,
    six: bool = False,
    prefix: str = "",
    fps: float = 30,
    frames: list[list[float]] | None = None,
    root_cm: tuple[float, float, float] = (0, 95, 0),
) -> str:
    """BVH text: root channels 6, others 3 rotations (6 with positions when ``six``), ZXY."""
    rows = frames if frames is not None else _frames(spec, root_cm, six)
    lines = ["HIERARCHY"]

    def emit(name: str, depth: int) -> None:
        pad = "  " * depth
        entry = next(s for s in spec if s[0] == name)
        x, y, z = (v / cm_per_unit for v in entry[2])
        if name.endswith("_end"):
            lines.extend(
                [f"{pad}End Site", f"{pad}{{", f"{pad}  OFFSET {x:.6f} {y:.6f} {z:.6f}", f"{pad}}}"]
            )
            return
        channels = "6 Xposition Yposition Zposition" if depth == 0 or six else "3"
        lines.extend(
            [
                f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {prefix}{name}",
                f"{pad}{{",
                f"{pad}  OFFSET {x:.6f} {y:.6f} {z:.6f}",
                f"{pad}  CHANNELS {channels} Zrotation Xrotation Yrotation",
            ]
        )
        for child in (s[0] for s in spec if s[1] == name):
            emit(child, depth + 1)
        lines.append(f"{pad}}}")

    emit(spec[0][0], 0)
    scaled = []
    for row in rows:
        values, k = [], 0
        for i, _ in enumerate(s for s in _depth_first(spec) if not s[0].endswith("_end")):
            count = 6 if i == 0 or six else 3
            chunk = row[k : k + count]
            k += count
            values += [v / cm_per_unit for v in chunk[: count - 3]] + chunk[count - 3 :]
        scaled.append(" ".join(f"{v:.6f}" for v in values))
    return (
        "\n".join(lines + ["MOTION", f"Frames: {len(rows)}", f"Frame Time: {1 / fps:.7f}"] + scaled)
        + "\n"
    )


def _z_up_m(cm: tuple[float, float, float]) -> np.ndarray:
    x, y, z = cm
    return np.array([x, -z, y]) / 100


def _assert_left_is_left(positions: np.ndarray) -> None:
    """Knees bend forward; the subject's left is up x forward in a right-handed z-up frame."""
    knees = positions[:, [at("LKnee"), at("RKnee")]]
    middle = (positions[:, [at("LHip"), at("RHip")]] + positions[:, [at("LFoot"), at("RFoot")]]) / 2
    forward = (knees - middle).mean(1) * [1, 1, 0]
    left = np.cross([0, 0, 1], forward)
    for a, b in (("LHip", "RHip"), ("LShoulder", "RShoulder")):
        assert (np.einsum("fc,fc->f", positions[:, at(a)] - positions[:, at(b)], left) > 0).all()
    assert (
        positions[:, at("LWrist"), 2] > positions[:, at("Head"), 2]
    ).all()  # the raised arm is the left one
    assert (positions[:, at("RWrist"), 2] < positions[:, at("Thorax"), 2]).all()


@pytest.mark.parametrize("unit", CM_PER_UNIT)
@pytest.mark.parametrize("rig", ["cmu", "mixamo"])
def test_cmu_and_mixamo_names_in_every_unit(tmp_path, rig, unit):
    spec, prefix = (CMU, "") if rig == "cmu" else (MIXAMO, "mixamorig:")
    path = tmp_path / f"{rig}.bvh"
    path.write_text(_bvh(spec, cm_per_unit=CM_PER_UNIT[unit], prefix=prefix))
    (clip,) = load_bvh_motion(path)
    assert clip.name == rig and clip.fps == 30 and clip.positions.dtype == np.float32
    assert clip.positions.shape == (3, 17, 3)
    for joint, cm in EXPECTED_CM.items():
        np.testing.assert_allclose(
            clip.positions[0, at(joint)], _z_up_m(cm), atol=1e-5, err_msg=joint
        )
    _assert_left_is_left(clip.positions)


def test_bandai_namco_rig_with_head_points_on_the_head_axis(tmp_path):
    spec = BANDAI
    frames = _frames(spec, (0, 0, 0), six=True)
    head = 5 * 6  # joint_Root, Hips, Spine, Chest, Neck come first, 6 channels each
    nod = [row.copy() for row in frames[:1]]
    nod[0][head + 4] = 90  # Xrotation 90 of the head: its axis turns from +y to +z (forward)
    path = tmp_path / "dataset-1_walk_normal_001.bvh"
    path.write_text(_bvh(spec, six=True, frames=frames + nod))
    (clip,) = load_bvh_motion(path)
    leg = np.hypot(43, 5) * 2
    expected = dict(
        EXPECTED_CM, **{"Neck/Nose": (0, 149.5 + 0.06 * leg, 0), "Head": (0, 149.5 + 0.20 * leg, 0)}
    )
    for joint, cm in expected.items():
        np.testing.assert_allclose(
            clip.positions[0, at(joint)], _z_up_m(cm), atol=1e-5, err_msg=joint
        )
    np.testing.assert_allclose(
        clip.positions[3, at("Head")], _z_up_m((0, 149.5, 0.2 * leg)), atol=1e-5
    )
    _assert_left_is_left(clip.positions[:3])


def test_rig_chosen_by_name_and_errors_list_missing_joints(tmp_path):
    path = tmp_path / "cmu.bvh"
    path.write_text(_bvh(CMU))
    assert len(load_bvh_motion(path, rig="cmu")) == 1
    with pytest.raises(UserError, match="bandai-namco lacks UpperLeg_L") as err:
        load_bvh_motion(path, rig="bandai-namco")
    assert str(path) in str(err.value)
    with pytest.raises(UserError, match="unknown rig 'smpl'"):
        load_bvh_motion(path, rig="smpl")
    renamed = tmp_path / "other.bvh"
    renamed.write_text(_bvh(CMU).replace("LeftUpLeg", "thigh_l"))
    with pytest.raises(UserError, match=r"cmu lacks LeftUpLeg.*bandai-namco lacks") as err:
        load_bvh_motion(renamed)
    assert "thigh_l" in str(err.value)
    assert set(RIGS) >= {"cmu", "bandai-namco"}


def test_head_top_needs_one_of_two_names(tmp_path):
    path = tmp_path / "headless.bvh"
    path.write_text(_bvh([s for s in CMU if s[0] != "Head_end"]))
    with pytest.raises(UserError, match="HeadTop_End or Head_end"):
        load_bvh_motion(path)


def test_scale_is_guessed_or_given(tmp_path):
    child = [(n, p, tuple(0.5 * v for v in o)) for n, p, o in CMU]
    path = tmp_path / "small.bvh"
    path.write_text(_bvh(child, root_cm=(0, 47.5, 0)))
    with pytest.raises(UserError, match="pass scale="):
        load_bvh_motion(path)
    (clip,) = load_bvh_motion(path, scale=0.01)
    np.testing.assert_allclose(clip.positions[0, at("Head"), 2], 1.73 / 2, atol=1e-5)
    with pytest.raises(UserError, match="positive scale"):
        load_bvh_motion(path, scale=-1.0)


def test_resampling_interpolates_joint_angles(tmp_path):
    path = tmp_path / "cmu.bvh"
    path.write_text(_bvh(CMU, fps=30))
    (base,) = load_bvh_motion(path)
    (fast,) = load_bvh_motion(path, fps=60)
    (slow,) = load_bvh_motion(path, fps=15)
    assert fast.fps == 60 and len(fast.positions) == 5 and len(slow.positions) == 2
    np.testing.assert_allclose(fast.positions[::2], base.positions, atol=1e-6)
    np.testing.assert_allclose(slow.positions, base.positions[::2], atol=1e-6)
    # Halfway from (yaw 0, root (0, 95, 0) cm) to (yaw 90, root (10, 95, 20) cm): yaw 45 about
    # the file's y axis, root (5, 95, 10) cm; the left hip is (9, -5, 0) cm from the root.
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    left_hip = (5 + 9 * c, 90, 10 - 9 * s)
    np.testing.assert_allclose(fast.positions[1, at("LHip")], _z_up_m(left_hip), atol=1e-5)
    lengths = np.linalg.norm(
        fast.positions[:, at("LKnee")] - fast.positions[:, at("LHip")], axis=-1
    )
    np.testing.assert_allclose(lengths, np.hypot(43, 5) / 100, atol=1e-6)
    with pytest.raises(UserError, match="positive fps"):
        load_bvh_motion(path, fps=0)


def test_sample_times_keep_the_last_frame_when_durations_match():
    np.testing.assert_allclose(sample_times(11, 50.0, 30.0), np.arange(7) * 50 / 30)  # 0.2 s
    np.testing.assert_allclose(sample_times(4, 30.0, 60.0), np.arange(7) / 2)


def test_a_folder_is_searched_recursively_and_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.BVH").write_text(_bvh(CMU))
    (tmp_path / "one.bvh").write_text(_bvh(MIXAMO, prefix="mixamorig:"))
    (tmp_path / "notes.txt").write_text("not motion")
    assert [c.name for c in load_bvh_motion(tmp_path)] == ["two", "one"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"expected \.bvh files"):
        load_bvh_motion(tmp_path / "empty")


def test_z_up_files_and_upside_down_warning(tmp_path):
    turned = [(n, p, (x, -z, y)) for n, p, (x, y, z) in CMU]
    path = tmp_path / "zup.bvh"
    still = _frames(turned, (0, 0, 95), six=False)
    for row in still:
        row[5] = 0  # no yaw: the file's y axis is not vertical here
    path.write_text(_bvh(turned, frames=still))
    (clip,) = load_bvh_motion(path, up="z")
    np.testing.assert_allclose(clip.positions[0, at("Head")], _z_up_m((0, 173, 0)), atol=1e-5)
    upside_down = _frames(CMU, (0, 95, 0), six=False)
    for row in upside_down:
        row[4] = 180  # root Xrotation: head down
    path.write_text(_bvh(CMU, frames=upside_down))
    with pytest.warns(UserWarning, match="up='z'"):
        load_bvh_motion(path)


def test_a_config_table_becomes_a_motion_source_with_tuples():
    from posemoe.datasets.motion import MotionSource

    source = MotionSource.from_table(
        {"kind": "h36m", "path": "data/h36m", "subjects": ["S1", "S5"], "weight": 0.6}
    )
    assert source == MotionSource("h36m", "data/h36m", ("S1", "S5"), (), 0.6)
    hash(source)  # frozen and hashable: the lists became tuples
    for bad, error in [
        ({"kind": "bvh", "path": "x", "up": "z"}, r"motion_sources: unknown options \['up'\]"),
        ({"kind": "bvh"}, "path required"),
        ({"kind": "bvh", "path": "x", "weight": 0}, "positive weight"),
    ]:
        with pytest.raises(UserError, match=error):
            MotionSource.from_table(bad)


def test_the_motion_bank_resamples_bvh_by_joint_angles_so_bones_keep_their_length(tmp_path):
    from posemoe.datasets.motion import MotionSource, motion_bank

    (tmp_path / "cmu.bvh").write_text(
        _bvh(CMU, fps=30)
    )  # turns 90 degrees a frame: straight lines would cut corners
    bank = motion_bank([MotionSource("bvh", str(tmp_path))], 50.0)
    (direct,) = load_bvh_motion(tmp_path / "cmu.bvh", fps=50)
    np.testing.assert_allclose(bank.positions, direct.positions, atol=1e-6)
    lengths = np.linalg.norm(
        bank.positions[:, at("LKnee")] - bank.positions[:, at("LHip")], axis=-1
    )
    np.testing.assert_allclose(lengths, np.hypot(43, 5) / 100, atol=1e-6)
    with pytest.raises(UserError, match="name its subjects"):
        motion_bank([MotionSource("h36m", str(tmp_path))], 50.0)


def test_the_size_after_resampling_is_refused_before_any_rotation(tmp_path, monkeypatch):
    """600 frames 10 s apart are 299,501 frames at 50 fps: refused from the header's numbers,
    before a rotation is computed (a 43 MB file declaring 10^6 frames once took 5.8 GB)."""
    from posemoe.datasets import bvh_motion

    path = tmp_path / "slow.bvh"
    path.write_text(_bvh(CMU, fps=0.1, frames=_frames(CMU, (0, 95, 0), False) * 200))
    monkeypatch.setattr(
        bvh_motion, "local_rotations", lambda motion: pytest.fail("rotations computed")
    )
    with pytest.raises(
        UserError,
        match=r"slow.bvh: 600 frames of \d+ joints at 0.1 fps, 299,501 frames at 50 fps; "
        r"expected at most 5,000,000 joints x frames",
    ):
        load_bvh_motion(path, fps=50)
