"""A gradient-boosted quantile model for the energy evaluation, outside the integration.

scikit-learn's HistGradientBoostingRegressor on log consumption, with P10/P90 from its
residuals per horizon band. It is compared with the integration's numpy-only
`ProfileQuantiles` on the same walk-forward replays (`scripts/evaluate --task energy
--model hgb`); the integration ships without scikit-learn until a model needing it
earns its place on held-out data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from custom_components.smartml.engine.energy_features import COLUMN_HORIZON, CONSUMPTION_COLUMNS
from custom_components.smartml.engine.energy_quantiles import (
    HORIZON_BANDS,
    QUANTILES,
    RESIDUAL_WIDEN,
    QuantileModel,
    horizon_band,
)
from custom_components.smartml.engine.energy_series import FloatArray
from custom_components.smartml.engine.pacing import one_blas_thread

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

LOG_FLOOR: Final = 0.02  # kWh: keeps log() finite for hours with almost no use


def _log_features(x: FloatArray) -> FloatArray:
    """Consumption features in log space like the target (calendar and covariates unchanged)."""
    out = x.copy()
    for col in CONSUMPTION_COLUMNS:
        out[:, col] = np.log(np.clip(x[:, col], 0.0, None) + LOG_FLOOR)
    return out


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
        return np.asarray(np.exp(centre[:, None] + self.offsets_[horizon_band(x)]) - LOG_FLOOR, dtype=np.float64)


def boosted_quantiles(seed: int) -> QuantileModel:
    """A fresh boosted model (the evaluation's --model hgb)."""
    return BoostedQuantiles(seed)
