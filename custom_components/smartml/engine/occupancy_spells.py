"""Expected arrival and departure: when the home's current state is likely to change.

Also an area's next use over its forecast (`next_use`).

Every past origin of a state (home empty, or occupied) is a spell with a known delay
until the state changed. The delay of the current spell is a kernel estimate over the
past spells at a similar local hour and of a similar length so far (same kind of day
weighing more, older spells fading with the routine's half-life), given as a band of
quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS, HOME
from .observations import ObservationStore
from .occupancy_targets import Timeline, run_lengths
from .pacing import pace
from .results import BAND_QUANTILES, Band
from .slots import state_at, time_of_week

# Kernel widths (hours of day, log spell length), widened in turn until enough past spells
# count: a state at an unusual hour still gets an estimate from the less similar ones.
SPELL_KERNELS: Final = ((1.0, 0.75), (3.0, 1.5), (math.inf, math.inf))
SPELL_MIN_SAMPLES: Final = 3.0

# The chance of use by which a scope is said to be used next.
NEXT_USE_CHANCE: Final = 0.5

FloatArray = NDArray[np.float64]


def next_use(probabilities: FloatArray) -> tuple[int | None, float]:
    """(index of the slot by which the scope has been used with chance one half, the chance by the end).

    probabilities: P(occupied) of each future slot, taken as independent: the chance of a
    use by slot k is 1 - prod(1 - p_i) up to k. Taking instead a visit as spanning the
    scope's mean run of slots (fewer, longer visits) was later on both homes of the
    benchmark. None when the chance stays below one half over the whole forecast.
    """
    chance = 1.0 - np.cumprod(1.0 - probabilities)
    found = np.flatnonzero(chance >= NEXT_USE_CHANCE)
    return (int(found[0]) if len(found) else None), float(chance[-1]) if len(chance) else 0.0


@dataclass(slots=True)
class Spells:
    """Past origins of one state (home empty or occupied) and how long until it changed."""

    hours: FloatArray
    weekend: NDArray[np.bool_]
    times: FloatArray
    runs: FloatArray
    delays: FloatArray  # slots until the state changed


def weighted_quantiles(values: FloatArray, weights: FloatArray, qs: Sequence[float]) -> list[float]:
    """Quantiles of a weighted sample (inverse of the weighted CDF)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) / w.sum()
    return [float(v[min(int(np.searchsorted(cdf, q)), len(v) - 1)]) for q in qs]


def _local_parts(times: FloatArray, tz_name: str) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Local hour of day and weekend flag of each time (per slot start, DST-safe)."""
    tow = time_of_week(times, tz_name, 1)
    minutes = tow % (24 * 60)
    return minutes / 60.0, tow // (24 * 60) >= 5


def spell_table(y: NDArray[np.bool_], starts: FloatArray, tz_name: str, state: bool) -> Spells:
    """Every observed origin whose last slot had `state`, with the slots until the state changed.

    Origins whose change had not been observed are left out (censored).
    """
    pace()
    n = len(y)
    origins = np.arange(1, n, dtype=np.int64)
    origins = origins[y[origins - 1] == state]
    changes = np.flatnonzero(np.r_[False, y[1:] != y[:-1]])
    pos = np.searchsorted(changes, origins)
    seen = pos < len(changes)
    origins, pos = origins[seen], pos[seen]
    delays = (changes[pos] - origins).astype(np.float64)
    runs = run_lengths(y)[origins - 1].astype(np.float64)
    times = starts[origins]
    hours, weekend = _local_parts(times, tz_name) if len(times) else (np.zeros(0), np.zeros(0, dtype=bool))
    return Spells(hours, weekend, times, runs, delays)


def spell_quantiles(
    spells: Spells, origin: float, run_slots: float, tz_name: str, step: float, half_life_days: float
) -> Band | None:
    """Kernel estimate of the time of the next change, from spells at a similar hour and length."""
    pace()
    if not len(spells.delays):
        return None
    hours, weekend = _local_parts(np.array([origin]), tz_name)
    gap = np.abs(spells.hours - hours[0])
    gap = np.minimum(gap, 24.0 - gap)
    length_gap = np.log((spells.runs + 1.0) / (run_slots + 1.0))
    base = np.where(spells.weekend == weekend[0], 1.0, 0.5)
    base *= np.exp2(-(origin - spells.times) / (half_life_days * DAY_SECONDS))
    for hours_width, length_width in SPELL_KERNELS:
        weight = base * np.exp(-0.5 * (gap / hours_width) ** 2 - 0.5 * (length_gap / length_width) ** 2)
        total = float(weight.sum())
        # Effective number of spells behind the estimate.
        if total > 0.0 and total**2 / float(np.sum(weight**2)) >= SPELL_MIN_SAMPLES:
            break
    else:
        return None
    low, mid, high = weighted_quantiles(spells.delays, weight, BAND_QUANTILES)
    return Band(ts=origin + mid * step, low=origin + low * step, high=origin + high * step)


@dataclass(slots=True)
class HomeSpells:
    """The home's past spells of each state in a fit timeline (tabulated on first use)."""

    timeline: Timeline | None
    timezone: str
    step: float
    half_life_days: float
    _tables: dict[bool, Spells | None] = field(default_factory=dict)

    def table(self, occupied: bool) -> Spells | None:
        """Past spells of a state; None without a home scope."""
        if occupied not in self._tables:
            timeline = self.timeline
            table = None
            if timeline is not None and HOME in timeline.targets:
                table = spell_table(timeline.targets[HOME][: timeline.known], timeline.starts, self.timezone, occupied)
            self._tables[occupied] = table
        return self._tables[occupied]

    def band(self, occupied: bool, origin: float, run_slots: float) -> Band | None:
        """When the home's state (occupied or empty since run_slots) is expected to change."""
        spells = self.table(occupied)
        if spells is None:
            return None
        return spell_quantiles(spells, origin, run_slots, self.timezone, self.step, self.half_life_days)


def home_now(store: ObservationStore, presence: Sequence[str], now: float, p_next: float) -> bool:
    """Anyone home now: presence entities when there are any, else the model's odds."""
    states = [
        state_at(store.channels[e], np.array([now]))[0]
        for e in presence
        if e in store.channels and store.channels[e].times
    ]
    known = [state > 0.5 for state in states if not math.isnan(state)]
    return any(known) if known else p_next >= 0.5


def current_run(timeline: Timeline, occupied: bool) -> float:
    """Slots the home has been in its current state, by the observed slots.

    The presence entities may already tell of a change the slots do not show yet: the
    spell then starts now.
    """
    known = timeline.known
    y = timeline.targets[HOME]
    same_state = known and bool(y[known - 1]) == occupied
    return float(run_lengths(y)[known - 1]) if same_state else 1.0
