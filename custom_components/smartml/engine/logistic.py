"""L2-regularised logistic regression in numpy (Newton's method), for the occupancy models.

Small dense problems (tens of features, up to some 10^5 rows) converge in a handful of
Newton steps; solving them here keeps scikit-learn and scipy (some 100 MB resident) out of
Home Assistant's process for the default models. The objective is the one of
scikit-learn's LogisticRegression(C=...), 0.5 * |w|^2 + C * sum(log loss) with the intercept
not penalised, taken on standardised features. Optionally the weights are held
non-negative (a feature may only raise the odds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .pacing import pace

MAX_NEWTON_STEPS = 50
# Converged when no weight moves more than this in a step.
STEP_TOLERANCE = 1e-7
# Rows per block of a pass over the design matrix: bounds the temporary copies of the
# curvature sum, and how long one numpy call holds the interpreter lock.
BLOCK_ROWS = 8192


@dataclass(slots=True)
class LogisticFit:
    """Weights on the raw features (NaN read as the training mean) and the intercept."""

    coef: NDArray[np.float64]
    intercept: float
    mean: NDArray[np.float64]

    def decision(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds per row."""
        filled = np.where(np.isnan(x), self.mean, x)
        return np.asarray(filled @ self.coef + self.intercept, dtype=np.float64)

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(1) per row."""
        return sigmoid(self.decision(x))


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Logistic function, without overflow warnings."""
    pace()
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def _newton(x: NDArray[np.float64], y: NDArray[np.float64], c: float, free: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Weights (last one the intercept) minimising the objective with non-free weights at 0.

    Fixed weights stay 0 in the full design, and only the free block of the gradient and
    Hessian is solved: no copy of the design matrix.
    """
    n_features = x.shape[1]
    penalty = np.full(n_features, 1.0 / c)
    penalty[-1] = 1e-10  # the intercept is not penalised; a whisper keeps H positive definite
    w = np.zeros(n_features)
    cols = np.flatnonzero(free)
    for _ in range(MAX_NEWTON_STEPS):
        pace()
        p = sigmoid(x @ w)
        gradient = (x.T @ (p - y) + penalty * w)[cols]
        curvature = p * (1.0 - p)
        hessian = np.diag(penalty)
        for start in range(0, len(x), BLOCK_ROWS):
            pace()
            block = x[start : start + BLOCK_ROWS]
            hessian += block.T @ (block * curvature[start : start + BLOCK_ROWS, None])
        hessian = hessian[np.ix_(cols, cols)]
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        w[cols] -= step
        if np.max(np.abs(step)) < STEP_TOLERANCE:
            break
    return w


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], c: float = 1.0, *, nonnegative: bool = False
) -> LogisticFit:
    """Fit on rows x (NaN allowed: read as the column mean) and 0/1 labels y.

    Features are standardised for the solve, so that the penalty treats them alike, and
    the weights mapped back to the raw scale. With `nonnegative`, weights that come out
    negative are fixed at zero and the rest refitted until none is (an active set).
    """
    x = np.asarray(x, dtype=np.float64)
    design = np.empty((x.shape[0], x.shape[1] + 1))
    design[:, :-1] = x
    return fit_logistic_design(design, y, c, nonnegative=nonnegative)


def fit_logistic_design(
    design: NDArray[np.float64], y: NDArray[np.float64], c: float = 1.0, *, nonnegative: bool = False
) -> LogisticFit:
    """`fit_logistic` on rows whose last column is left for the intercept.

    The feature columns are standardised in place and the last one overwritten: a large
    training matrix is solved without a copy (memory a fit touches stays with the process).
    """
    y = np.asarray(y, dtype=np.float64)
    features = design[:, :-1]
    n_rows, n_features = features.shape
    # Column statistics a block of rows at a time, pacing between blocks.
    blocks = [features[start : start + BLOCK_ROWS] for start in range(0, n_rows, BLOCK_ROWS)]
    sums, known = np.zeros(n_features), np.zeros(n_features)
    for block in blocks:
        pace()
        present = ~np.isnan(block)
        sums += np.where(present, block, 0.0).sum(axis=0)
        known += present.sum(axis=0)
    with np.errstate(all="ignore"):
        mean = sums / known
    mean = np.where(np.isfinite(mean), mean, 0.0)
    centre, squares = np.zeros(n_features), np.zeros(n_features)
    for block in blocks:
        pace()
        np.subtract(block, mean, out=block)
        block[np.isnan(block)] = 0.0  # a missing value reads as the column mean
        centre += block.sum(axis=0)
        squares += np.einsum("ij,ij->j", block, block)
    rows = max(n_rows, 1)
    centre /= rows
    spread = np.sqrt(np.maximum(squares / rows - centre**2, 0.0))
    scale = np.where(spread > 1e-12, spread, 1.0)
    for block in blocks:
        pace()
        np.divide(block, scale, out=block)
    design[:, -1] = 1.0
    free = np.ones(design.shape[1], dtype=bool)
    free[:-1] &= spread > 1e-12  # constant columns carry nothing
    while True:
        w = _newton(design, y, c, free)
        negative = free[:-1] & (w[:-1] < 0)
        if not nonnegative or not negative.any():
            break
        free[:-1] &= ~negative
    coef = w[:-1] / scale
    intercept = float(w[-1] - coef @ mean)
    return LogisticFit(coef=coef, intercept=intercept, mean=mean)
