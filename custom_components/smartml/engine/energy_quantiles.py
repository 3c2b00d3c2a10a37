"""The energy forecast's quantile model: P10, P50 and P90 of an hour's kWh from feature rows.

`ProfileQuantiles` is numpy only (usual profile plus a decaying correction from the last
hours). It is an estimator on arrays, fit(x, y) and predict(x) -> (rows, 3), like any
`QuantileModel`; `fit_forecast` picks the training rows of a series and fits one. The
evaluation compares it with a gradient-boosted model that stays out of the integration
(evaluation/energy_boosted.py). numpy runs in the executor only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import numpy as np

from .energy_features import (
    COLUMN_DAY_VS_USUAL,
    COLUMN_HORIZON,
    COLUMN_LAST_VS_USUAL,
    COLUMN_USUAL,
    features,
)
from .energy_series import WEEK_HOURS, FloatArray, HourlySeries, IntArray

QUANTILES: Final = (0.1, 0.5, 0.9)
RESIDUAL_WIDEN: Final = 1.15
# Horizons (hours) the quantile models are trained on; the others are interpolated by the
# model through the horizon feature.
TRAIN_HORIZONS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 42, 48)
MAX_TRAIN_ROWS: Final = 6_000
# Horizon bands (hours) with their own weights and residual quantiles.
HORIZON_BANDS: Final = (1, 2, 4, 8, 16, 24, 49)


def horizon_band(x: FloatArray) -> IntArray:
    """The horizon band of each feature row."""
    band = np.searchsorted(HORIZON_BANDS, x[:, COLUMN_HORIZON], side="right") - 1
    return np.clip(band, 0, len(HORIZON_BANDS) - 2)


class ProfileQuantiles:
    """numpy-only forecast: usual profile + the last hours' deviations, weighted per horizon.

    For each horizon band, P50 = usual + a * (last hour - its usual) + c * (last 24 h -
    their usual), with (a, c) chosen on the training rows by mean absolute error; P10/P90
    add that band's residual quantiles, widened because in-sample residuals run small.
    """

    grid_a: Final = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    grid_c: Final = (0.0, 0.25, 0.5, 0.75, 1.0)

    def __init__(self) -> None:
        self.weights_ = np.zeros((len(HORIZON_BANDS) - 1, 2))
        self.offsets_ = np.zeros((len(HORIZON_BANDS) - 1, len(QUANTILES)))

    @staticmethod
    def _parts(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        usual = np.where(np.isfinite(x[:, COLUMN_USUAL]), x[:, COLUMN_USUAL], 0.0)
        return usual, np.nan_to_num(x[:, COLUMN_LAST_VS_USUAL]), np.nan_to_num(x[:, COLUMN_DAY_VS_USUAL])

    def _median(self, x: FloatArray) -> FloatArray:
        usual, dev_last, dev_day = self._parts(x)
        w = self.weights_[horizon_band(x)]
        return usual + w[:, 0] * dev_last + w[:, 1] * dev_day

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Weights per band by mean absolute error, then the bands' residual quantiles."""
        usual, dev_last, dev_day = self._parts(x)
        band = horizon_band(x)
        a = np.array(self.grid_a)[:, None, None]
        c = np.array(self.grid_c)[None, :, None]
        for b in range(len(HORIZON_BANDS) - 1):
            sel = band == b
            if sel.sum() < 10:
                continue
            pred = usual[sel] + a * dev_last[sel] + c * dev_day[sel]
            err = np.mean(np.abs(pred - y[sel]), axis=2)
            i, j = np.unravel_index(int(np.argmin(err)), err.shape)
            self.weights_[b] = (self.grid_a[i], self.grid_c[j])
        resid = y - self._median(x)
        for b in range(len(HORIZON_BANDS) - 1):
            sel = resid[band == b]
            if len(sel) < 30:
                sel = resid
            q = np.quantile(sel, QUANTILES)
            # Widen around the median: in-sample residuals are smaller than unseen ones.
            self.offsets_[b] = q[1] + (q - q[1]) * RESIDUAL_WIDEN

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows, 3) kWh quantiles, unsorted."""
        return self._median(x)[:, None] + self.offsets_[horizon_band(x)]


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
    """(origins, horizons, target hours) to train on: known targets, recent rows kept in full."""
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
        recent = target >= n - 14 * 24
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
