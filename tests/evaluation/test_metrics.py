import numpy as np
import pytest

from posemoe.evaluation.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe


def _pose(seed: int = 0, n: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 17, 3))


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_mpjpe_by_hand():
    target = np.zeros((1, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    assert mpjpe(pred, target)[0] == pytest.approx(3.0)


def test_p_mpjpe_is_zero_for_a_rotated_scaled_shifted_copy():
    target = _pose()
    pred = 1.7 * target @ _rotation(3).T + np.array([0.3, -2.0, 5.0])
    np.testing.assert_allclose(p_mpjpe(pred, target), 0, atol=1e-9)
    assert mpjpe(pred, target).min() > 0.1


def test_p_mpjpe_does_not_undo_a_reflection():
    target = _pose()
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, target).min() > 1e-3


def test_p_mpjpe_never_exceeds_mpjpe():
    target, pred = _pose(1), _pose(2)
    assert np.all(p_mpjpe(pred, target) <= mpjpe(pred, target) + 1e-9)


def test_n_mpjpe_removes_scale_only():
    target = _pose()
    np.testing.assert_allclose(n_mpjpe(0.5 * target, target), 0, atol=1e-9)
    rotated = target @ _rotation(4).T
    assert n_mpjpe(rotated, target).min() > 1e-3


def test_mpjve_of_a_constant_offset_is_zero():
    target = _pose(n=10)
    np.testing.assert_allclose(mpjve(target + 0.2, target), 0, atol=1e-12)
    assert mpjve(target, target).shape == (9,)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
