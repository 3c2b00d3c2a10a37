"""The numpy logistic regression: the optimum it should find, and its constraints."""

from __future__ import annotations

import numpy as np

from custom_components.smartml.engine.logistic import fit_logistic


def _objective(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float, c: float) -> float:
    z = x @ coef + intercept
    return float(0.5 * coef @ coef + c * np.sum(np.logaddexp(0.0, z) - y * z))


def test_recovers_the_generating_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 3))
    true = np.array([1.5, -2.0, 0.0])
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(x @ true - 0.5)))).astype(float)
    fit = fit_logistic(x, y, c=100.0)
    assert np.allclose(fit.coef, true, atol=0.08)
    assert abs(fit.intercept + 0.5) < 0.08


def test_is_the_optimum_of_the_penalised_objective() -> None:
    # Unit-variance, zero-mean features: the standardised solve is the raw problem.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 2))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (x[:, 0] + rng.normal(size=500) > 0).astype(float)
    fit = fit_logistic(x, y, c=0.05)
    best = _objective(x, y, fit.coef, fit.intercept, 0.05)
    for delta in (np.array([0.01, 0.0]), np.array([0.0, -0.01]), np.array([-0.01, 0.01])):
        assert _objective(x, y, fit.coef + delta, fit.intercept, 0.05) > best


def test_nonnegative_weights_and_missing_values() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5_000, 2))
    y = (rng.random(5_000) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1])))).astype(float)
    free = fit_logistic(x, y)
    held = fit_logistic(x, y, nonnegative=True)
    assert free.coef[1] < 0
    assert held.coef[1] == 0.0 and held.coef[0] > 0
    rows = np.array([[np.nan, 0.0], [1.0, np.nan]])
    p = held.predict_proba(rows)
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_separable_data_and_constant_columns_stay_finite() -> None:
    x = np.c_[np.r_[np.zeros(50), np.ones(50)], np.full(100, 3.0)]
    y = np.r_[np.zeros(50), np.ones(50)]
    fit = fit_logistic(x, y)
    assert np.isfinite(fit.coef).all() and fit.coef[1] == 0.0
    assert fit.predict_proba(np.array([[0.0, 3.0]]))[0] < 0.1 < 0.9 < fit.predict_proba(np.array([[1.0, 3.0]]))[0]
