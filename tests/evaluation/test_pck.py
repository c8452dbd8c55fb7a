import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.evaluation.pck import AUC_THRESHOLDS, auc, pck


def _pose_with_errors(errors_m: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """A target and a prediction whose joint j is off by ``errors_m[j]`` metres (along a diagonal)."""
    target = np.random.default_rng(0).normal(size=(len(errors_m), 3))
    direction = np.array([2.0, -1.0, 2.0]) / 3.0
    return target + np.asarray(errors_m)[:, None] * direction, target


def test_thresholds_are_0_to_150_mm_in_5_mm_steps():
    assert len(AUC_THRESHOLDS) == 31
    assert AUC_THRESHOLDS[0] == 0.0 and AUC_THRESHOLDS[-1] == pytest.approx(0.150)
    np.testing.assert_allclose(np.diff(AUC_THRESHOLDS), 0.005)


def test_perfect_prediction_scores_30_of_31_auc_as_the_official_code():
    pred, target = _pose_with_errors([0.0] * 17)
    assert pck(pred, target) == 1.0
    assert auc(pred, target) == pytest.approx(30 / 31)


def test_pck_counts_joints_strictly_below_the_threshold():
    pred, target = _pose_with_errors([0.0, 0.1, 0.149, 0.2])
    assert pck(pred, target) == pytest.approx(3 / 4)
    assert pck(pred, target, threshold=0.05) == pytest.approx(1 / 4)
    exactly_at = np.array([[0.25, 0.0, 0.0]])  # 0.25 is exact in binary, so the distance is too
    assert pck(exactly_at, np.zeros((1, 3)), threshold=0.25) == 0.0


def test_auc_on_a_hand_made_case():
    # joint 0: 0 mm -> below every threshold but 0 (30 of 31); joint 1: 72.5 mm -> below 75..150 (16 of 31)
    pred, target = _pose_with_errors([0.0, 0.0725])
    assert auc(pred, target) == pytest.approx((30 + 16) / 62)
    # a joint farther than 150 mm never counts
    pred, target = _pose_with_errors([0.5, 0.5])
    assert auc(pred, target) == 0.0


def test_custom_thresholds():
    pred, target = _pose_with_errors([0.01, 0.03])
    assert auc(pred, target, thresholds=np.array([0.02, 0.04])) == pytest.approx((1 + 2) / 4)


def test_values_are_per_pose_over_leading_axes():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(2, 3, 5, 3))
    pred = target.copy()
    pred[1, 2, :4] += 1.0  # four of five joints far off in one pose
    out = pck(pred, target)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(1 / 5) and (np.delete(out.ravel(), 5) == 1.0).all()
    assert auc(pred, target).shape == (2, 3)


def test_bad_inputs_are_refused():
    with pytest.raises(UserError, match="same shape"):
        pck(np.zeros((4, 17, 3)), np.zeros((4, 16, 3)))
    with pytest.raises(UserError, match="thresholds"):
        auc(np.zeros((17, 3)), np.zeros((17, 3)), thresholds=np.zeros((2, 2)))
