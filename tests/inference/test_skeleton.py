import numpy as np
import pytest

from posemoe.datasets.synthetic import synthesize_motion
from posemoe.errors import UserError
from posemoe.inference.skeleton import (
    bone_length_cv,
    bone_lengths,
    fit_skeleton,
    forward_kinematics,
    swing,
)
from posemoe.layouts import H36M17, H36M32, convert


def _lifted_walk(frames: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(true, lifted-like) root-relative H36M-17 joints: the lifted ones scaled 5 % per frame and
    jittered 1.5 cm per joint, as a lifter's bones stretch."""
    rng = np.random.default_rng(seed)
    world = convert(synthesize_motion(frames, rng), H36M32, H36M17).astype(np.float64)
    truth = world - world[:, :1]
    lifted = truth * rng.uniform(0.95, 1.05, (frames, 1, 1)) + rng.normal(0, 0.015, truth.shape)
    return truth, lifted - lifted[:, :1]


def test_fitted_bones_are_constant_and_fk_of_ik_reproduces_the_fitted_joints():
    truth, lifted = _lifted_walk()
    fit = fit_skeleton(lifted)
    raw_cv = bone_length_cv(lifted)[1:]
    print(
        f"\nraw lifted bone-length CV: median {100 * np.median(raw_cv):.1f} %, per bone "
        + ", ".join(f"{name} {100 * cv:.1f} %" for name, cv in zip(H36M17.joints[1:], raw_cv))
    )
    print(fit.report())
    assert np.median(raw_cv) > 0.02
    assert np.nanmax(bone_length_cv(fit.fitted)) < 1e-9  # fixed lengths by construction
    np.testing.assert_allclose(
        bone_lengths(fit.fitted), np.broadcast_to(fit.lengths, fit.fitted.shape[:2]), atol=1e-9
    )
    for left, right in zip(H36M17.left, H36M17.right):
        assert fit.lengths[left] == pytest.approx(fit.lengths[right])
    np.testing.assert_allclose(
        fit.lengths, bone_lengths(truth)[0], atol=0.01
    )  # medians: within 1 cm of the truth

    rotations = fit.rotations
    np.testing.assert_allclose(
        rotations @ np.swapaxes(rotations, -1, -2),
        np.broadcast_to(np.eye(3), rotations.shape),
        atol=1e-9,
    )
    assert np.allclose(np.linalg.det(rotations), 1.0)
    assert (
        np.abs(forward_kinematics(rotations, fit.offsets) - fit.fitted).max() < 1e-3
    )  # within 1 mm (~1e-15)

    def error(x: np.ndarray) -> float:
        return float(np.linalg.norm(x - truth, axis=-1).mean())

    assert error(fit.fitted) < error(lifted)  # fixing the bones removes part of the stretch
    assert 1.6 < fit.stature < 1.95


def test_single_child_joints_swing_without_twist_and_leaves_keep_the_identity():
    _, lifted = _lifted_walk(60, seed=3)
    fit = fit_skeleton(lifted)
    for name, child in (
        ("RHip", "RKnee"),
        ("LKnee", "LFoot"),
        ("LShoulder", "LElbow"),
        ("Spine", "Thorax"),
    ):
        rest = fit.offsets[H36M17.index(child)] / fit.lengths[H36M17.index(child)]
        local = fit.rotations[:, H36M17.index(name)]
        axis = np.stack(
            [
                local[:, 2, 1] - local[:, 1, 2],
                local[:, 0, 2] - local[:, 2, 0],
                local[:, 1, 0] - local[:, 0, 1],
            ],
            axis=-1,
        )  # 2 sin(angle) * axis
        assert np.abs(axis @ rest).max() < 1e-9, (
            name
        )  # the rotation axis is normal to the rest bone
    for leaf in ("Head", "LWrist", "RFoot"):
        np.testing.assert_allclose(
            fit.rotations[:, H36M17.index(leaf)], np.broadcast_to(np.eye(3), (60, 3, 3))
        )


def test_fit_is_idempotent_confidence_picks_frames_and_bad_input_is_refused():
    _, lifted = _lifted_walk(80, seed=5)
    fit = fit_skeleton(lifted)
    again = fit_skeleton(fit.fitted)
    np.testing.assert_allclose(again.fitted, fit.fitted, atol=1e-9)
    np.testing.assert_allclose(again.rotations, fit.rotations, atol=1e-9)

    stretched = lifted.copy()
    stretched[:40, H36M17.index("RWrist")] *= 3.0  # a wild wrist in frames seen with low confidence
    confidence = np.ones(stretched.shape[:2])
    confidence[:40, H36M17.index("RWrist")] = 0.1
    wrist = H36M17.index("RWrist")
    assert fit_skeleton(stretched, confidence=confidence).lengths[wrist] == pytest.approx(
        fit.lengths[wrist], rel=0.05
    )
    with pytest.raises(UserError, match=r"\(T, 17, 3\)"):
        fit_skeleton(lifted[:, :16])
    with pytest.raises(UserError, match="finite"):
        fit_skeleton(np.full_like(lifted, np.nan))


def test_swing_takes_a_onto_b_including_opposite_vectors():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(100, 3))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b = rng.normal(size=(100, 3))
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    b[:5] = -a[:5]
    r = swing(a, b)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, a), b, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
