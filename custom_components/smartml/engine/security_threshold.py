"""The security model's alert threshold, calibrated on the home's own history.

Contexts are ranked by surprise, and the threshold is the lowest one whose expected alerts
per day, at the rates the model learned, stay within a target false-alarm rate (scaled by
the sensitivity, and split over the sources).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .security_context import SecuritySource

# The target false-alarm rate is multiplied by this per sensitivity.
SENSITIVITY_FACTORS: Final = {"low": 0.3, "medium": 1.0, "high": 3.0}
DEFAULT_TARGET_PER_DAY: Final = 1.0 / 14.0
# Share of the false-alarm budget for the rate model; door-held-open keeps the rest.
RATE_BUDGET_SHARE: Final = 0.75
MIN_THRESHOLD: Final = 1.0


def calibrate_threshold(
    sources: Iterable[SecuritySource],
    exposure: NDArray[np.float64],
    days: float,
    target_per_day: float,
    sensitivity: str,
) -> float:
    """Lowest surprise threshold whose expected alerts/day stay within each source's budget."""
    sources = list(sources)
    days = max(days, 1.0)
    budget = target_per_day * SENSITIVITY_FACTORS[sensitivity] * RATE_BUDGET_SHARE
    per_source = budget / max(len(sources), 1)
    thresholds = [MIN_THRESHOLD]
    for source in sources:
        rates = np.asarray(source.rates).ravel()
        daily_exposure = exposure.ravel() / days
        surprise = -np.log(np.maximum(-np.expm1(-np.maximum(rates, 1e-12)), 1e-300))
        order = np.argsort(-surprise)
        # Expected alerts/day when every context at least this surprising alerts.
        expected = np.cumsum(rates[order] * daily_exposure[order])
        over = np.flatnonzero(expected > per_source)
        if over.size:
            # Alert only on contexts more surprising than the first one over budget.
            thresholds.append(float(surprise[order][over[0]]) + 1e-9)
    return max(thresholds)
