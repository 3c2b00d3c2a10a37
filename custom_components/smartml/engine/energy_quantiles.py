"""The energy forecast's quantile model: P10, P50 and P90 of an hour's kWh from feature rows.

`ProfileQuantiles` is numpy only (usual profile plus a decaying correction from the last
hours, and for the next hour numpy boosted trees). It is an estimator on arrays, fit(x, y)
and predict(x) -> (rows, 3), like any `QuantileModel`; `fit_forecast` picks the training
rows of a series and fits one. The evaluation also compares it with scikit-learn's
gradient boosting at every horizon, which stays out of the integration
(evaluation/energy_boosted.py). numpy runs in the executor only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

from .boosted_trees import MedianBoostedTrees
from .energy_features import (
    COLUMN_HORIZON,
    COLUMN_HOUR_OF_DAY,
    COLUMN_LAST,
    COLUMN_USUAL,
    CORRECTION_COLUMNS,
    LEVEL_COLUMNS,
    NEXT_HOUR_TREE_COLUMNS,
    features,
    from_log,
    to_log,
)
from .energy_series import WEEK_HOURS, FloatArray, HourlySeries, IntArray
from .pacing import pace

QUANTILES: Final = (0.1, 0.5, 0.9)
RESIDUAL_WIDEN: Final = 1.15
# Horizons (hours) the quantile models are trained on; the others are interpolated by the
# model through the horizon feature.
TRAIN_HORIZONS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 42, 48)
MAX_TRAIN_ROWS: Final = 6_000
# Horizon bands (hours) with their own weights and residual quantiles.
HORIZON_BANDS: Final = (1, 2, 4, 8, 16, 24, 49)
LAD_ITERATIONS: Final = 20
CORRECTION_RIDGE: Final = 1e-4
# The next hour leans on the last one as far as the home's own hours at that time of day
# say it should: the share of the model's forecast (the rest is the last hour's value) is
# chosen per block of hours of the day on the training rows. At night a home's hours hold
# steady and the last one says it best; around its usual changes the model does.
NEXT_HOUR_BLOCK_HOURS: Final = 3
NEXT_HOUR_MODEL_SHARES: Final = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_BLOCK_ROWS: Final = 10
# Boosted trees on the hour of the day, the weekday and the last hours' levels see what a
# linear correction cannot (a load that runs two hours at this time, one at that); averaged
# with the blend in equal shares, the two forecasts' errors partly cancel. The trees need
# two weeks of next hours before they join.
NEXT_HOUR_TREE_SHARE: Final = 0.5
MIN_TREE_ROWS: Final = 14 * 24


def horizon_band(x: FloatArray) -> IntArray:
    """The horizon band of each feature row."""
    band = np.searchsorted(HORIZON_BANDS, x[:, COLUMN_HORIZON], side="right") - 1
    return np.clip(band, 0, len(HORIZON_BANDS) - 2)


def _usual(x: FloatArray) -> FloatArray:
    """The usual kWh of each row's hour (0 where the profile has none)."""
    return np.where(np.isfinite(x[:, COLUMN_USUAL]), x[:, COLUMN_USUAL], 0.0)


def _design(x: FloatArray) -> FloatArray:
    """The correction's inputs in log space: a constant, the residual lags and the levels.

    An unknown residual counts as none, an unknown level as the usual one.
    """
    usual = to_log(_usual(x))
    levels = to_log(x[:, list(LEVEL_COLUMNS)])
    levels = np.where(np.isfinite(levels), levels, usual[:, None])
    return np.column_stack((np.ones(len(x)), np.nan_to_num(x[:, list(CORRECTION_COLUMNS)]), levels))


def least_absolute(design: FloatArray, y: FloatArray, ridge: float) -> FloatArray:
    """Coefficients minimising mean |y - design @ b| + a ridge on all but the constant.

    Iteratively reweighted least squares; the ridge (relative to the rows' scale) pulls
    the correction towards none where the rows say little.
    """
    n, k = design.shape
    penalty = np.eye(k) * ridge * n
    penalty[0, 0] = 0.0
    floor = max(float(np.median(np.abs(y - np.median(y)))) * 0.05, 1e-6)
    weights = np.ones(n)
    coef = np.zeros(k)
    for _ in range(LAD_ITERATIONS):
        pace()
        wd = design * weights[:, None]
        coef = np.linalg.solve(design.T @ wd + penalty * float(np.mean(weights)), wd.T @ y)
        weights = 1.0 / np.maximum(np.abs(y - design @ coef), floor)
    return coef


class ProfileQuantiles:
    """numpy-only forecast: usual profile + a linear correction from the last hours, per horizon.

    In log space (a home's hours differ from usual by a factor), for each horizon band:
    log P50 = log usual + b . (1, residual lags, levels). The residual lags are the last
    three hours, the last day and the same hour a day and a week before against their
    usual, and the outdoor temperature against its last week; the levels are those hours
    themselves, so a load running now can be told from a usual hour. b minimises the mean
    absolute error on the training rows with a small ridge. For the next hour, the P50 is
    then blended with the last hour's value, per block of hours of the day, in the share
    that did best on the training rows (never worse there than the last hour alone), and
    averaged with boosted trees on the calendar and the last hours (NEXT_HOUR_TREE_SHARE).
    P10/P90 add that band's residual quantiles, widened because in-sample residuals run small.
    """

    def __init__(self) -> None:
        self.coef_ = np.zeros((len(HORIZON_BANDS) - 1, len(CORRECTION_COLUMNS) + len(LEVEL_COLUMNS) + 1))
        self.offsets_ = np.zeros((len(HORIZON_BANDS) - 1, len(QUANTILES)))
        self.model_share_ = np.ones(24 // NEXT_HOUR_BLOCK_HOURS)
        self.next_hour_trees_: MedianBoostedTrees | None = None

    def _median(self, x: FloatArray) -> FloatArray:
        """The P50: the correction's; for the next hour, blended with the last hour, then averaged with the trees."""
        median = self._corrected(x)
        rows, share = _next_hour_rows(x), self.model_share_[_hour_block(x)]
        median[rows] = share[rows] * median[rows] + (1.0 - share[rows]) * x[rows, COLUMN_LAST]
        if self.next_hour_trees_ is not None and rows.any():
            trees = from_log(self.next_hour_trees_.predict(x[rows][:, list(NEXT_HOUR_TREE_COLUMNS)]))
            median[rows] = (1.0 - NEXT_HOUR_TREE_SHARE) * median[rows] + NEXT_HOUR_TREE_SHARE * trees
        return median

    def _corrected(self, x: FloatArray) -> FloatArray:
        """The usual profile corrected by the last hours (kWh)."""
        coef = self.coef_[horizon_band(x)]
        design = _design(x)
        log_median = to_log(_usual(x)) + np.sum(design * coef, axis=1)
        # Within the range of the hours it was built from: a factor learned on a quiet hour
        # must not multiply a busy one (a load running on top of the evening peak).
        levels = design[:, -len(LEVEL_COLUMNS) :]
        log_median = np.clip(log_median, levels.min(axis=1), levels.max(axis=1))
        return from_log(log_median)

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Coefficients per band by least absolute error, the next hour's blend and trees, then the residuals."""
        design, gap = _design(x), to_log(y) - to_log(_usual(x))
        band = horizon_band(x)
        for b in range(len(HORIZON_BANDS) - 1):
            sel = band == b
            if sel.sum() >= 10 * design.shape[1]:
                self.coef_[b] = least_absolute(design[sel], gap[sel], CORRECTION_RIDGE)
        self._fit_model_share(x, y)
        self._fit_next_hour_trees(x, y)
        resid = y - self._median(x)
        for b in range(len(HORIZON_BANDS) - 1):
            sel = resid[band == b]
            if len(sel) < 30:
                sel = resid
            q = np.quantile(sel, QUANTILES)
            # Widen around the median: in-sample residuals are smaller than unseen ones.
            self.offsets_[b] = q[1] + (q - q[1]) * RESIDUAL_WIDEN

    def _fit_model_share(self, x: FloatArray, y: FloatArray) -> None:
        """Per block of hours, the share of the model's next-hour forecast with the least absolute error."""
        self.model_share_ = np.ones(24 // NEXT_HOUR_BLOCK_HOURS)
        rows = _next_hour_rows(x)
        if not rows.any():
            return
        corrected, last, block = self._corrected(x[rows]), x[rows, COLUMN_LAST], _hour_block(x[rows])
        shares = np.array(NEXT_HOUR_MODEL_SHARES)
        errors = np.abs(shares[:, None] * corrected + (1.0 - shares[:, None]) * last - y[rows])
        for b in range(len(self.model_share_)):
            sel = block == b
            if sel.sum() >= MIN_BLOCK_ROWS:
                self.model_share_[b] = shares[int(np.argmin(errors[:, sel].sum(axis=1)))]

    def _fit_next_hour_trees(self, x: FloatArray, y: FloatArray) -> None:
        """Trees for the median of the next hour (log kWh), once there are two weeks of next hours."""
        self.next_hour_trees_ = None
        rows = _next_hour_rows(x)
        if rows.sum() >= MIN_TREE_ROWS:
            self.next_hour_trees_ = MedianBoostedTrees()
            self.next_hour_trees_.fit(x[rows][:, list(NEXT_HOUR_TREE_COLUMNS)], to_log(y[rows]))

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows, 3) kWh quantiles, unsorted."""
        return self._median(x)[:, None] + self.offsets_[horizon_band(x)]


def _next_hour_rows(x: FloatArray) -> NDArray[np.bool_]:
    """Rows forecasting the next hour whose last hour is known."""
    return np.asarray((x[:, COLUMN_HORIZON] == 1) & np.isfinite(x[:, COLUMN_LAST]), dtype=bool)


def _hour_block(x: FloatArray) -> IntArray:
    """Each row's block of hours of the day (0 where the hour is unknown)."""
    return np.nan_to_num(x[:, COLUMN_HOUR_OF_DAY]).astype(np.int64) // NEXT_HOUR_BLOCK_HOURS


class QuantileModel(Protocol):
    """An estimator of an hour's kWh quantiles from feature rows."""

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Learn from feature rows and their kWh."""

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows, 3) kWh quantiles (P10, P50, P90), unsorted."""


# A fresh quantile model for a seed. The integration ships ProfileQuantiles only; the
# evaluation brings others (evaluation/energy_boosted.py) to compare with it.
QuantileModelFactory = Callable[[int], QuantileModel]


def profile_quantiles(_seed: int) -> QuantileModel:
    """The integration's quantile model (numpy only)."""
    return ProfileQuantiles()


def training_pairs(series: HourlySeries, seed: int) -> tuple[IntArray, IntArray, IntArray]:
    """(origins, horizons, target hours) to train on: known targets, recent and next-hour rows in full."""
    n = len(series.y)
    first = min(WEEK_HOURS, n // 3)
    origins = np.arange(max(first, 24), n, dtype=np.int64)
    ks = np.array(TRAIN_HORIZONS, dtype=np.int64)
    o = np.repeat(origins, len(ks))
    k = np.tile(ks, len(origins))
    target = o + k - 1
    ok = target < n
    o, k, target = o[ok], k[ok], target[ok]
    ok = np.isfinite(series.y[target])
    o, k, target = o[ok], k[ok], target[ok]
    if len(o) > MAX_TRAIN_ROWS:
        # Keep the most recent rows in full and a sample of the older ones.
        rng = np.random.default_rng(seed)
        # The next hour's rows are kept in full too: the correction there leans most on them.
        recent = (target >= n - 14 * 24) | (k == 1)
        older = np.flatnonzero(~recent)
        keep_older = (
            rng.choice(older, size=max(0, MAX_TRAIN_ROWS - int(recent.sum())), replace=False) if len(older) else older
        )
        keep = np.sort(np.concatenate((np.flatnonzero(recent), keep_older)))
        o, k, target = o[keep], k[keep], target[keep]
    return o, k, target


def fit_forecast(
    series: HourlySeries, profile: FloatArray, new_model: QuantileModelFactory, seed: int
) -> tuple[QuantileModel | None, int]:
    """The fitted quantile model and its number of training rows; None below 50 rows."""
    o, k, target = training_pairs(series, seed)
    if len(o) < 50:
        return None, 0
    x = features(series, profile, o, k)
    model = new_model(seed)
    model.fit(x, series.y[target])
    return model, len(o)
