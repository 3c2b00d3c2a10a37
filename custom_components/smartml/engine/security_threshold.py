"""The security model's alert threshold, calibrated out of sample on the home's own history.

Each past day is scored with rates fitted on the other days, and the threshold is set so
that the share of held-out days that would have alerted meets the target false-alarm rate
(scaled by the sensitivity), widened while there are too few days to measure it. Rates
learned from a home's own days are over-confident about those very days: calibrated on
them, the threshold met its target on the home it was tuned on and missed it elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .security_rates import SLOTS_PER_DAY, hierarchical_rates

# The target false-alarm rate is multiplied by this per sensitivity.
SENSITIVITY_FACTORS: Final = {"low": 0.3, "medium": 1.0, "high": 3.0}
DEFAULT_TARGET_PER_DAY: Final = 1.0 / 14.0
# Share of the false-alarm budget for the rate model; door-held-open keeps the rest.
RATE_BUDGET_SHARE: Final = 0.75
# Never alert on what happens in more than one such hour in twenty (P = e^-3, at medium
# sensitivity), whatever the held-out days say: they may lack a routine that is rare but
# real (a weekend habit). Checked on both homes: 2.0 would catch one more night entry on
# van Kasteren 2008, with the same false incidents.
MIN_THRESHOLD: Final = 3.0


@dataclass(frozen=True, slots=True)
class HeldOutCalibration:
    """The threshold the home's own held-out days support, and how much they can say."""

    threshold: float
    days: int  # days held out in turn
    days_needed: int  # held-out days the target needs before it is measured, not extrapolated


def min_threshold(sensitivity: str) -> float:
    """The floor of the threshold, scaled like the target: e^-floor is the chance per hour."""
    return MIN_THRESHOLD - math.log(SENSITIVITY_FACTORS[sensitivity])


def start_days(times: NDArray[np.float64], grid: NDArray[np.float64]) -> NDArray[np.int64]:
    """The day (24-hour block of the slot grid) of each start."""
    slot = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, len(grid) - 1)
    return np.asarray(slot // SLOTS_PER_DAY, dtype=np.int64)


def held_out_maxima(
    sources: Iterable[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]],
    exposure_by_day: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each day's most surprising start, scored with rates fitted on all the other days.

    Per source: one row of maxima a source (zeros on days it could not alert), in order.

    sources: per source, the day of each start, its [state, day type, hour] (3 x n), and
    whether it could have alerted (its state alerts, no transition explains it).
    exposure_by_day: hours in each context per day, [day][state][day type][hour].
    Leaving one day out of counts that are sums over days is a subtraction, so this costs
    one batched rate fit per source rather than one model fit per day.
    """
    n_days = exposure_by_day.shape[0]
    rows: list[NDArray[np.float64]] = []
    exposure_total = exposure_by_day.sum(axis=0)
    for days, contexts, alerting in sources:
        maxima = np.zeros(n_days)
        rows.append(maxima)
        if not alerting.any():
            continue
        counts_by_day = np.zeros_like(exposure_by_day)
        np.add.at(counts_by_day, (days, contexts[0], contexts[1], contexts[2]), 1.0)
        rates = hierarchical_rates(counts_by_day.sum(axis=0) - counts_by_day, exposure_total - exposure_by_day)
        picked = (days[alerting], contexts[0][alerting], contexts[1][alerting], contexts[2][alerting])
        surprise = -np.log(np.maximum(-np.expm1(-np.maximum(rates[picked], 1e-12)), 1e-300))
        np.maximum.at(maxima, days[alerting], surprise)
    return np.vstack(rows) if rows else np.zeros((0, n_days))


def source_thresholds(
    maxima: NDArray[np.float64],
    full_days: NDArray[np.bool_],
    target_per_day: float,
    sensitivity: str,
    home_threshold: float,
) -> list[float]:
    """Each source's threshold: the home's, or lower where the source's own days allow it.

    A source is calibrated on its own held-out maxima (one row of `maxima` each) with an
    equal share of `target_per_day`, the part of the false-alarm target the lowered sources
    may use between them (the home's threshold is calibrated on the rest). It may only
    lower the home's threshold, never below the floor: one noisy room (a bathroom used
    during a labelled absence) must not blind the front door, and a source whose own
    history is noisier keeps the home's threshold.
    """
    if not len(maxima):
        return []
    share = target_per_day / len(maxima)
    floor = min_threshold(sensitivity)
    return [
        max(floor, min(home_threshold, held_out_threshold(row, full_days, share, sensitivity).threshold))
        for row in maxima
    ]


def held_out_threshold(
    maxima: NDArray[np.float64],
    full_days: NDArray[np.bool_],
    target_per_day: float,
    sensitivity: str,
    budget_share: float = RATE_BUDGET_SHARE,
) -> HeldOutCalibration:
    """The threshold whose false-alert days, out of sample, meet the target.

    With n held-out days exchangeable with the next one, the chance that the next day's
    most surprising start exceeds the (k+1)-th largest held-out maximum is at most
    (k+1)/(n+1). The largest k that keeps this within the target is used; while the history
    is too short for even k = 0, the largest maximum is raised by the log of the shortfall
    (a surprise s has chance e^-s, so each unit of surprise divides the alert rate by e).
    budget_share: the share of the false-alarm target these maxima may use.
    """
    p = target_per_day * SENSITIVITY_FACTORS[sensitivity] * budget_share
    values = np.sort(maxima[full_days])[::-1]
    n = len(values)
    days_needed = math.ceil(1.0 / p) - 1
    if n == 0:
        return HeldOutCalibration(math.inf, 0, days_needed)
    k = math.floor(p * (n + 1)) - 1
    if k >= 0:
        return HeldOutCalibration(float(values[min(k, n - 1)]) + 1e-9, n, days_needed)
    return HeldOutCalibration(float(values[0]) + math.log(1.0 / (p * (n + 1))), n, days_needed)
