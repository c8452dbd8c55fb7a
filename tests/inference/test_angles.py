"""Joint angles: known synthetic motions recovered from exact 3D, and BVH rotations read back."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posemoe.errors import UserError
from posemoe.inference.angles import joint_angles
from posemoe.io.bvh import BvhSkeleton, forward_kinematics, read_bvh, write_bvh
from posemoe.layouts import H36M17

FPS = 30.0
J = H36M17.index


def _rotated(vector: np.ndarray, towards: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """(T, 3) unit ``vector`` turned by ``degrees`` (T,) towards the unit ``towards`` (normal to it)."""
    a = np.radians(degrees)[:, None]
    return np.cos(a) * vector + np.sin(a) * towards


def synthetic_body(
    angles: dict[str, np.ndarray], frames: int, *, tilt: np.ndarray | None = None
) -> np.ndarray:
    """(T, 17, 3) H36M-17 joints in a body frame (x anterior, y up, z right) posed by known angles:
    ``<side>_hip_flexion`` / ``_hip_abduction`` / ``_knee_flexion`` and the shoulder/elbow
    equivalents (degrees, (T,)); missing ones are 0. ``tilt`` (T,): the whole body leans forward."""
    zero = np.zeros(frames)
    get = lambda name: np.broadcast_to(angles.get(name, zero), (frames,)).astype(np.float64)  # noqa: E731
    anterior, superior, right = np.eye(3)
    x = np.zeros((frames, 17, 3))
    x[:, J("RHip")], x[:, J("LHip")] = 0.1 * right, -0.1 * right
    x[:, J("Spine")] = 0.25 * superior
    x[:, J("Thorax")] = 0.5 * superior
    x[:, J("Neck/Nose")], x[:, J("Head")] = 0.62 * superior + 0.05 * anterior, 0.72 * superior
    x[:, J("RShoulder")], x[:, J("LShoulder")] = (
        0.5 * superior + 0.18 * right,
        0.5 * superior - 0.18 * right,
    )
    for side, s, outward in (("right", "R", right), ("left", "L", -right)):
        for top, mid, end, upper, lower, joint in (
            ("Hip", "Knee", "Foot", 0.45, 0.43, "hip"),
            ("Shoulder", "Elbow", "Wrist", 0.28, 0.25, "shoulder"),
        ):
            second = "knee" if joint == "hip" else "elbow"
            flexion, abduction = get(f"{side}_{joint}_flexion"), get(f"{side}_{joint}_abduction")
            sagittal = _rotated(
                np.broadcast_to(-superior, (frames, 3)),
                np.broadcast_to(anterior, (frames, 3)),
                flexion,
            )
            limb = _rotated(sagittal, np.broadcast_to(outward, (frames, 3)), abduction)
            back = (
                -anterior - np.sum(-anterior * limb, axis=1, keepdims=True) * limb
            )  # bends the knee backwards
            back = np.where(
                np.linalg.norm(back, axis=1, keepdims=True) > 1e-6, back, superior
            )  # limb along x
            back /= np.linalg.norm(back, axis=1, keepdims=True)
            if joint == "shoulder":
                back = -back  # the elbow bends the forearm forward
            distal = _rotated(limb, back, get(f"{side}_{second}_flexion"))
            x[:, J(s + mid)] = x[:, J(s + top)] + upper * limb
            x[:, J(s + end)] = x[:, J(s + mid)] + lower * distal
    if tilt is not None:
        lean = Rotation.from_rotvec(
            np.radians(tilt)[:, None] * -right
        )  # about -right: the top goes forward
        x = np.einsum("tij,tkj->tki", lean.as_matrix(), x)
    return x


def _seen_by_a_camera(body: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The body in a camera frame (y down) at a random orientation and place; and the ground's up there."""
    rng = np.random.default_rng(seed)
    heading = Rotation.from_euler("y", rng.uniform(-180, 180), degrees=True)
    pitch = Rotation.from_euler(
        "x", rng.uniform(-30, 30), degrees=True
    )  # a camera looking up or down
    camera_from_body = pitch * Rotation.from_matrix(np.diag([1.0, -1.0, -1.0])) * heading
    return camera_from_body.apply(body.reshape(-1, 3)).reshape(body.shape) + [
        0.3,
        0.2,
        5.0,
    ], camera_from_body.apply([0, 1, 0])


@pytest.mark.parametrize("seed", range(4))
def test_a_knee_bending_0_to_120_degrees_is_recovered_within_2_degrees(seed):
    frames = 60
    knee = np.linspace(0, 120, frames)
    hip = 60 * np.sin(np.linspace(0, np.pi, frames))
    truth = {
        "right_knee_flexion": knee,
        "right_hip_flexion": hip,
        "left_knee_flexion": knee[::-1],
        "left_hip_flexion": -20 * np.ones(frames),
        "left_hip_abduction": np.linspace(0, 30, frames),
    }
    joints, up = _seen_by_a_camera(synthetic_body(truth, frames), seed)
    angles = joint_angles(joints, fps=FPS, up=up)
    for name, expected in truth.items():
        assert np.abs(angles[name] - expected).max() < 2.0, name
    assert np.abs(angles["right_hip_abduction"]).max() < 2.0
    assert (
        np.abs(angles["trunk_tilt"]).max() < 2.0 and np.abs(angles["pelvis_obliquity"]).max() < 2.0
    )


@pytest.mark.parametrize("seed", range(4))
def test_a_raised_arm_is_recovered_within_2_degrees(seed):
    frames = 50
    forward, sideways = np.linspace(0, 170, frames), np.linspace(0, 85, frames)
    truth = {
        "right_shoulder_flexion": forward,
        "right_elbow_flexion": np.linspace(10, 140, frames),
        "left_shoulder_abduction": sideways,
        "left_elbow_flexion": np.full(frames, 90.0),
    }
    joints, up = _seen_by_a_camera(synthetic_body(truth, frames), seed)
    angles = joint_angles(joints, fps=FPS, up=up)
    for name, expected in truth.items():
        assert np.abs(angles[name] - expected).max() < 2.0, name
    assert np.abs(angles["right_shoulder_elevation"] - forward).max() < 2.0
    assert np.abs(angles["left_shoulder_elevation"] - sideways).max() < 2.0
    assert (
        np.abs(angles["left_shoulder_flexion"][sideways < 80]).max() < 2.0
    )  # flexion is ill-defined near 90


def test_a_forward_lean_is_measured_against_the_ground():
    frames = 40
    lean = np.linspace(-10, 45, frames)
    joints, up = _seen_by_a_camera(synthetic_body({}, frames, tilt=lean), seed=7)
    angles = joint_angles(joints, fps=FPS, up=up)
    np.testing.assert_allclose(angles["trunk_tilt"], lean, atol=1e-6)
    np.testing.assert_allclose(angles["pelvis_tilt"], lean, atol=1e-6)
    np.testing.assert_allclose(angles["trunk_lateral_tilt"], 0, atol=1e-6)
    assert (
        np.abs(angles["right_hip_flexion"]).max() < 1e-6
    )  # the legs lean with the body: no hip flexion
    without = joint_angles(joints, fps=FPS)
    assert "trunk_tilt" not in without.names and "trunk_tilt" in without.not_measured()
    assert "ankle_flexion" in without.not_measured()


def test_unseen_joints_and_undetected_frames_give_nan_only_where_they_are_read():
    frames = 10
    joints = synthetic_body({"right_knee_flexion": np.full(frames, 30.0)}, frames)
    unseen = np.zeros((frames, 17), bool)
    unseen[2:5, J("RFoot")] = True
    visible = np.ones(frames, bool)
    visible[8] = False
    angles = joint_angles(joints, fps=FPS, unseen=unseen, visible=visible)
    knee = angles["right_knee_flexion"]
    assert (
        np.isnan(knee[2:5]).all()
        and np.isnan(knee[8])
        and np.isfinite(knee[[0, 1, 5, 6, 7, 9]]).all()
    )
    assert np.isfinite(angles["right_hip_flexion"][2:5]).all()  # the ankle is not read by the hip
    assert np.isnan(angles.degrees[8]).all() and angles.hidden[8].all()


def test_wrong_shapes_are_refused():
    with pytest.raises(UserError, match=r"expected joints of shape \(T, 17, 3\)"):
        joint_angles(np.zeros((5, 16, 3)), fps=FPS)
    with pytest.raises(UserError, match="up direction"):
        joint_angles(np.zeros((5, 17, 3)), fps=FPS, up=np.zeros(3))


# ----------------------------------------------------------------------------------------------
# Angles from a BVH file checked against the rotations in it

ARMS_DOWN_RIG = {  # H36M-17 under posemoe's BVH names, rest pose standing with the arms hanging (y up, +z forward)
    "Hip": (0, 0, 0),
    "RHip": (-0.1, 0, 0),
    "RKnee": (0, -0.45, 0),
    "RFoot": (0, -0.43, 0),
    "LHip": (0.1, 0, 0),
    "LKnee": (0, -0.45, 0),
    "LFoot": (0, -0.43, 0),
    "Spine": (0, 0.25, 0),
    "Thorax": (0, 0.25, 0),
    "Neck_Nose": (0, 0.12, 0.05),
    "Head": (0, 0.1, -0.05),
    "LShoulder": (0.18, 0, 0),
    "LElbow": (0, -0.28, 0),
    "LWrist": (0, -0.25, 0),
    "RShoulder": (-0.18, 0, 0),
    "RElbow": (0, -0.28, 0),
    "RWrist": (0, -0.25, 0),
}


def _arms_down_bvh(path, frames: int, seed: int) -> None:
    """A BVH of the rig above: hips and shoulders turn about x then z (order XZY), knees and elbows
    about x only, the root about the vertical; everything else stays at rest."""
    rng = np.random.default_rng(seed)
    names = tuple(ARMS_DOWN_RIG)
    parents = np.array(H36M17.parents)  # the rig's joints are in H36M-17's order
    skeleton = BvhSkeleton(
        names, parents, np.array(list(ARMS_DOWN_RIG.values()), np.float64), np.zeros(17, bool)
    )
    t = np.linspace(0, 1, frames)
    euler = np.zeros((frames, 17, 3))  # degrees about X, Z, Y
    euler[:, 0, 2] = rng.uniform(-180, 180) + 90 * t  # heading
    for joint, (x_range, z_range) in {
        "RHip": ((-100, 25), (-30, 10)),
        "LHip": ((-100, 25), (-10, 30)),
        "RShoulder": ((-150, 40), (-80, 0)),
        "LShoulder": ((-150, 40), (0, 80)),
    }.items():
        euler[:, names.index(joint), 0] = np.interp(t, [0, 1], rng.uniform(*x_range, 2))
        euler[:, names.index(joint), 1] = np.interp(t, [0, 1], rng.uniform(*z_range, 2))
    for joint in ("RKnee", "LKnee"):
        euler[:, names.index(joint), 0] = np.linspace(0, 120, frames) * rng.choice([-1, 1])
    for joint in ("RElbow", "LElbow"):
        euler[:, names.index(joint), 0] = np.linspace(5, 130, frames) * rng.choice([-1, 1])
    rotations = (
        Rotation.from_euler("XZY", euler.reshape(-1, 3), degrees=True)
        .as_matrix()
        .reshape(frames, 17, 3, 3)
    )
    write_bvh(
        path,
        skeleton,
        rotations,
        np.tile([0.0, 0.95, 0.0], (frames, 1)),
        frame_time=1 / FPS,
        order="XZY",
    )


@pytest.mark.parametrize("seed", range(3))
def test_angles_of_a_bvh_file_match_the_rotations_in_it(tmp_path, seed):
    bvh = pytest.importorskip("bvh")  # the file's channels read by an independent parser
    path = tmp_path / "arms_down.bvh"
    _arms_down_bvh(path, 40, seed)
    motion = read_bvh(path)
    positions = forward_kinematics(motion)[
        :, [motion.names.index(n.replace("/", "_")) for n in H36M17.joints]
    ]
    angles = joint_angles(positions, fps=1 / motion.frame_time, up=np.array([0.0, 1.0, 0.0]))
    parsed = bvh.Bvh(path.read_text())

    def channel(joint, axis):
        return np.array(parsed.frames_joint_channels(joint, [f"{axis}rotation"]), float)[:, 0]  # noqa: E731

    for side, s, outward in (("right", "R", -1.0), ("left", "L", 1.0)):
        for joint, distal in (("Hip", "Knee"), ("Shoulder", "Elbow")):
            name = joint.lower()
            # +X rotation swings a hanging limb backwards; +Z swings it to the rig's left (+x).
            np.testing.assert_allclose(
                angles[f"{side}_{name}_flexion"], -channel(s + joint, "X"), atol=1e-3
            )
            np.testing.assert_allclose(
                angles[f"{side}_{name}_abduction"], outward * channel(s + joint, "Z"), atol=1e-3
            )
            second = "knee" if joint == "Hip" else "elbow"
            np.testing.assert_allclose(
                angles[f"{side}_{second}_flexion"], np.abs(channel(s + distal, "X")), atol=1e-3
            )
    for name in ("trunk_tilt", "trunk_lateral_tilt", "pelvis_tilt", "pelvis_obliquity"):
        np.testing.assert_allclose(
            angles[name], 0.0, atol=1e-3
        )  # the root only turns about the vertical
