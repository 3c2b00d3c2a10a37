"""The energy forecast's quantile models: P10, P50 and P90 of an hour's kWh from feature rows.

`ProfileQuantiles` is numpy only (usual profile plus a decaying correction from the last
hours), the default and reference; `BoostedQuantiles` uses scikit-learn's
HistGradientBoostingRegressor. Both are estimators on arrays: fit(x, y), predict(x) ->
(rows, 3). `fit_forecast` picks the training rows of a series and fits one of them.
numpy (and, lazily, scikit-learn) run in the executor only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from .constants import ENERGY_FORECAST_BOOSTED
from .energy_features import (
    COLUMN_DAY_VS_USUAL,
    COLUMN_HORIZON,
    COLUMN_LAST_VS_USUAL,
    COLUMN_USUAL,
    CONSUMPTION_COLUMNS,
    features,
)
from .energy_series import WEEK_HOURS, FloatArray, HourlySeries, IntArray
from .pacing import one_blas_thread

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

QUANTILES: Final = (0.1, 0.5, 0.9)
LOG_FLOOR: Final = 0.02  # kWh: keeps log() finite for hours with almost no use
RESIDUAL_WIDEN: Final = 1.15
# Horizons (hours) the quantile models are trained on; the others are interpolated by the
# model through the horizon feature.
TRAIN_HORIZONS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 42, 48)
MAX_TRAIN_ROWS: Final = 6_000
# Horizon bands (hours) with their own weights and residual quantiles.
HORIZON_BANDS: Final = (1, 2, 4, 8, 16, 24, 49)


def _band(x: FloatArray) -> IntArray:
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
        w = self.weights_[_band(x)]
        return usual + w[:, 0] * dev_last + w[:, 1] * dev_day

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Weights per band by mean absolute error, then the bands' residual quantiles."""
        usual, dev_last, dev_day = self._parts(x)
        band = _band(x)
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
        return self._median(x)[:, None] + self.offsets_[_band(x)]


class BoostedQuantiles:
    """scikit-learn gradient boosting on log consumption, quantiles from its residuals.

    Squared loss on log(kWh + LOG_FLOOR) targets the median of a skewed consumption and
    fits an order of magnitude faster than three quantile-loss models; P10/P90 are the
    residual quantiles (log space) per horizon band, widened a little because in-sample
    residuals are smaller than those of unseen hours.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.model_: HistGradientBoostingRegressor | None = None
        self.columns_ = np.zeros(0, dtype=bool)
        self.offsets_ = np.zeros((len(HORIZON_BANDS) - 1, len(QUANTILES)))

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Boosting on the log target, then the bands' residual quantiles."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        # Covariates the home does not have (all NaN) are left out.
        self.columns_ = np.asarray(np.isfinite(x).any(axis=0), dtype=bool)
        xs = _log_features(x)[:, self.columns_]
        target = np.log(np.clip(y, 0.0, None) + LOG_FLOOR)
        self.model_ = model = HistGradientBoostingRegressor(
            max_iter=150,
            learning_rate=0.06,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.seed,
        )
        # One thread: the executor shares the CPU with the event loop, and OpenMP threads
        # on a busy 2-core host cost more than they save.
        with one_blas_thread():
            model.fit(xs, target)
            resid = target - model.predict(xs)
        band = np.searchsorted(HORIZON_BANDS, x[:, COLUMN_HORIZON], side="right") - 1
        for b in range(len(HORIZON_BANDS) - 1):
            sel = resid[band == b]
            if len(sel) < 30:
                sel = resid
            self.offsets_[b] = np.quantile(sel, QUANTILES) * RESIDUAL_WIDEN

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows, 3) kWh quantiles, unsorted."""
        if self.model_ is None:
            raise RuntimeError("the boosted quantile model is not fitted")
        with one_blas_thread():
            centre = self.model_.predict(_log_features(x)[:, self.columns_])
        return np.asarray(np.exp(centre[:, None] + self.offsets_[_band(x)]) - LOG_FLOOR, dtype=np.float64)


QuantileModel = ProfileQuantiles | BoostedQuantiles


def _log_features(x: FloatArray) -> FloatArray:
    """Consumption features in log space like the target (calendar and covariates unchanged)."""
    out = x.copy()
    for col in CONSUMPTION_COLUMNS:
        out[:, col] = np.log(np.clip(x[:, col], 0.0, None) + LOG_FLOOR)
    return out


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
    series: HourlySeries, profile: FloatArray, forecast_model: str, seed: int
) -> tuple[QuantileModel | None, int]:
    """The fitted quantile model and its number of training rows; None below 50 rows."""
    o, k, target = training_pairs(series, seed)
    if len(o) < 50:
        return None, 0
    x = features(series, profile, o, k)
    model: QuantileModel = BoostedQuantiles(seed) if forecast_model == ENERGY_FORECAST_BOOSTED else ProfileQuantiles()
    model.fit(x, series.y[target])
    return model, len(o)
