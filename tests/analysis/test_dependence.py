"""The dependence estimators against closed forms: Gaussian pairs whose mutual information is known."""

from __future__ import annotations

import numpy as np
import pytest

from posemoe.analysis.dependence import (
    estimator_check,
    gaussian_copula_mi,
    gaussian_pair,
    ksg_mi,
    linear_cka,
    principal_components,
    with_spread,
)
from posemoe.errors import UserError


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7, 0.9, 0.99])
def test_gaussian_copula_recovers_known_mi_in_8_plus_8_dims(rho: float) -> None:
    """The analysis's setting (8 + 8 components, 3000 samples): within 10 % at every correlation."""
    estimates, true = [], None
    for seed in range(3):
        x, y, true = gaussian_pair(3000, 8, rho, seed)
        estimates.append(gaussian_copula_mi(x, y))
    assert abs(np.mean(estimates) / true - 1) < 0.10
    assert np.std(estimates) < 0.05 * true + 0.01


def test_gaussian_copula_ignores_monotone_transforms_of_each_column() -> None:
    x, y, true = gaussian_pair(3000, 4, 0.8, seed=3)
    plain = gaussian_copula_mi(x, y)
    bent = gaussian_copula_mi(np.exp(x), y**3 + 2 * y)
    assert bent == pytest.approx(plain, abs=1e-9)
    assert abs(bent / true - 1) < 0.10


@pytest.mark.parametrize("estimator", [gaussian_copula_mi, ksg_mi])
def test_independent_features_give_nearly_zero(estimator) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((3000, 2)), rng.standard_normal((3000, 2))
    assert abs(estimator(x, y)) < 0.02


@pytest.mark.parametrize("rho", [0.6, 0.8, 0.9])
def test_ksg_recovers_known_mi_in_2_plus_2_dims(rho: float) -> None:
    x, y, true = gaussian_pair(3000, 2, rho, seed=5)
    assert abs(ksg_mi(x, y) / true - 1) < 0.10


def test_ksg_falls_short_in_8_plus_8_dims_which_is_why_it_is_not_the_default() -> None:
    x, y, true = gaussian_pair(2000, 8, 0.8, seed=6)
    assert ksg_mi(x, y) < 0.75 * true
    assert abs(gaussian_copula_mi(x, y) / true - 1) < 0.10


def test_spread_over_random_halves() -> None:
    x, y, true = gaussian_pair(2000, 4, 0.7, seed=7)
    estimate = with_spread(gaussian_copula_mi, x, y, seeds=4)
    assert len(estimate.values) == 4 and len(set(estimate.values)) == 4
    assert 0 < estimate.std < 0.1 * true
    assert abs(estimate.value / true - 1) < 0.10


def test_linear_cka() -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((500, 6))
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert linear_cka(x, 3 * x @ rotation + 1) == pytest.approx(1.0)
    assert linear_cka(x, rng.standard_normal((500, 6))) < 0.1
    assert 0.2 < linear_cka(x, x[:, :3]) < 0.9


def test_principal_components_and_refusals() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((400, 3)) @ rng.standard_normal((3, 20))  # rank 3 in 20 columns
    z = principal_components(x, 8)
    assert z.shape == (400, 3)  # no more components than the features vary in
    assert np.allclose(z.std(axis=0), 1)
    assert np.allclose(np.corrcoef(z, rowvar=False), np.eye(3), atol=1e-8)
    with pytest.raises(UserError, match="do not vary"):
        principal_components(np.ones((50, 4)), 2)
    with pytest.raises(UserError, match="same number of samples"):
        gaussian_copula_mi(x[:10], x[:11])
    with pytest.raises(UserError, match="NaN"):
        gaussian_copula_mi(np.full((20, 1), np.nan), x[:20])
    with pytest.raises(UserError, match="too few"):
        gaussian_copula_mi(x[:12, :8], x[:12, 8:16])


def test_estimator_check_table() -> None:
    rows = estimator_check(dims=2, samples=500, seeds=2, rhos=(0.0, 0.8))
    assert [row["rho"] for row in rows] == [0.0, 0.8]
    assert rows[0]["true"] == 0 and rows[1]["true"] == pytest.approx(-np.log(0.36))
    assert abs(rows[1]["gaussian-copula"]["mean"] / rows[1]["true"] - 1) < 0.1
    assert rows[1]["ksg"]["std"] > 0


def test_estimators_command_prints_the_table(capsys) -> None:
    from posemoe.cli import main

    main(["analyze", "estimators", "--dims", "2", "--samples", "200", "--seeds", "2"])
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| 0")]
    assert len(rows) == 6 and rows[0].startswith("| 0 | 0.000 |")
    assert "%" in rows[-1]
