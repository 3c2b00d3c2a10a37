"""Naive baselines every model is compared with (numpy; executor only).

Occupancy baselines work on a 0/1 slot series `y` (one value per slot of a grid) and
answer for (origin, target) slot-index pairs: the origin is the first slot not yet
observed, so only `y[:origin]` may be used. They are deliberately simple and exactly
reproducible; the evaluation reports them beside SmartML on the same slots.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Pseudo-count pulling a time-of-week frequency towards the overall rate, so that one
# week of history does not give hard 0/1 probabilities.
TOW_PRIOR_WEIGHT = 1.0


def occupancy_persistence(y: NDArray[np.bool_], origins: NDArray[np.int64]) -> NDArray[np.float64]:
    """The current state: the last observed slot (y[origin - 1]) repeated at any horizon."""
    prev = np.clip(origins - 1, 0, None)
    return np.where(origins > 0, y[prev].astype(np.float64), 0.0)


def occupancy_overall_rate(y: NDArray[np.bool_], cutoff: int) -> float:
    """Share of occupied slots before the cutoff (0.5 with no history)."""
    return float(np.mean(y[:cutoff])) if cutoff > 0 else 0.5


def occupancy_time_of_week(
    y: NDArray[np.bool_],
    tow: NDArray[np.int64],
    cutoff: int,
    target_tow: NDArray[np.int64],
    week_slots: int,
) -> NDArray[np.float64]:
    """Frequency of occupied slots at the target's time of week, from slots before cutoff.

    Smoothed with one pseudo-slot at the overall rate (see TOW_PRIOR_WEIGHT).
    """
    rate = occupancy_overall_rate(y, cutoff)
    seen = tow[:cutoff]
    hits = np.bincount(seen, weights=y[:cutoff].astype(np.float64), minlength=week_slots)
    counts = np.bincount(seen, minlength=week_slots).astype(np.float64)
    profile = (hits + TOW_PRIOR_WEIGHT * rate) / (counts + TOW_PRIOR_WEIGHT)
    return np.asarray(profile[target_tow], dtype=np.float64)


def first_crossing(profile: NDArray[np.float64], want_occupied: bool, threshold: float = 0.5) -> int | None:
    """Index of the first entry of a forecast profile on the wanted side of the threshold."""
    hits = profile >= threshold if want_occupied else profile < threshold
    found = np.flatnonzero(hits)
    return int(found[0]) if len(found) else None
