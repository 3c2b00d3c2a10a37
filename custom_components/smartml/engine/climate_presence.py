"""Whether anyone is home, as the climate model needs it: learned rhythm and outlook.

From the home's presence channels: the share of time at home at each 15-minute slot of
the week and the mean lengths of home and away spells, learned with the same forgetting
as the setpoint routine. From them, or from the occupancy model's forecast when
there is one, the outlook of being home over the next hours. numpy only; executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .observations import ObservationStore
from .setpoint_routine import SLOT_MINUTES, SLOT_SECONDS, SLOTS_PER_DAY, local_day_slot
from .slots import counted, slot_middles, state_at

# Spells shorter than this (hours) are not trusted for how fast the state is forgotten.
MIN_SPELL_HOURS = 0.25


def forgetting_weights(times: NDArray[np.float64], now: float, half_life_days: float) -> NDArray[np.float64]:
    """Weight of an observation at each time: halves every `half_life_days` before `now`."""
    age_days = np.maximum(now - times, 0.0) / DAY_SECONDS
    return np.asarray(0.5 ** (age_days / half_life_days), dtype=np.float64)


class HomeSeries(NamedTuple):
    """Whether anyone was home at the middle of each slot: 1, 0, NaN before any reading."""

    times: NDArray[np.float64]
    home: NDArray[np.float64]


class OccupancyOutlook(NamedTuple):
    """The outlook of being home at each time of a horizon.

    p_state: the probability the setpoint routine mixes home and away by (NaN: unknown);
    weight: how much that mixture counts against the state-blind routine; p_home: the
    probability of being home that preheat aims at.
    """

    p_state: NDArray[np.float64]
    weight: NDArray[np.float64]
    p_home: NDArray[np.float64]


def presence_series(
    store: ObservationStore, channels: Sequence[str], times: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """1 when anyone is home at each time, 0 when nobody, NaN before any reading; None without channels."""
    if not channels:
        return None
    states = np.vstack([state_at(store.channels[c], times) for c in channels])
    known = np.isfinite(states).any(axis=0)
    anyone = (np.nan_to_num(states) > 0.5).any(axis=0)
    return np.where(known, anyone.astype(np.float64), np.nan)


@dataclass(slots=True)
class PresenceRoutine:
    """Home presence learned from the presence channels: per-slot rate and spell lengths."""

    rate: NDArray[np.float64]  # [weekday, slot] share of time home
    mean_home_hours: float
    mean_away_hours: float
    home_now: float | None = None

    @classmethod
    def fit(
        cls,
        store: ObservationStore,
        channels: Sequence[str],
        start: float,
        now: float,
        tz_name: str,
        half_life_days: float,
    ) -> tuple[PresenceRoutine, HomeSeries] | None:
        """Learn from the channels' history in [start, now); None when they hold none yet."""
        firsts = [store.channels[c].times[0] for c in channels if len(store.channels[c].times)]
        if not firsts:
            return None
        first = min(firsts)
        begin = max(start, first)
        grid = slot_middles(begin, now, SLOT_MINUTES)
        home = presence_series(store, channels, grid)
        assert home is not None
        keep = np.isfinite(home)
        weekday, slot = local_day_slot(grid, tz_name)
        # An excluded period (a holiday) teaches nothing of when the household is home.
        weights = forgetting_weights(grid, now, half_life_days) * keep * counted(grid, store.excluded_spans(channels))
        sums = np.zeros((7, SLOTS_PER_DAY))
        counts = np.zeros((7, SLOTS_PER_DAY))
        np.add.at(sums, (weekday, slot), weights * np.nan_to_num(home))
        np.add.at(counts, (weekday, slot), weights)
        overall = float(np.sum(sums) / max(np.sum(counts), 1e-12))
        rate = (sums + overall) / (counts + 1.0)
        runs = np.diff(np.flatnonzero(np.diff(np.r_[-1.0, np.nan_to_num(home, nan=-1.0), -1.0]) != 0))
        values = np.nan_to_num(home, nan=-1.0)[np.r_[0, np.cumsum(runs)[:-1]]] if len(runs) else np.empty(0)
        hours = runs * SLOT_SECONDS / 3600.0
        mean_home = float(np.mean(hours[values == 1.0])) if np.any(values == 1.0) else 24.0
        mean_away = float(np.mean(hours[values == 0.0])) if np.any(values == 0.0) else 1.0
        return cls(rate, mean_home, mean_away), HomeSeries(grid, home)

    def outlook(self, times: NDArray[np.float64], now: float, home_now: float | None, tz_name: str) -> OccupancyOutlook:
        """The current state carried forward, fading into the learned rhythm.

        A two-state Markov chain with the learned mean spell lengths forgets its state so;
        the state-blind routine already holds how often the home is empty at each time of
        week, so the mixture's weight fades with it. Preheat uses the learned share of time
        at home at that slot pulled the same way towards the current state.
        """
        weekday, slot = local_day_slot(times, tz_name)
        rate = self.rate[weekday, slot]
        if home_now is None:
            return OccupancyOutlook(np.full(len(times), np.nan), np.zeros(len(times)), rate)
        decay = carried_weight(times, now, self.relax_hours)
        return OccupancyOutlook(np.full(len(times), float(home_now)), decay, rate + (home_now - rate) * decay)

    @property
    def relax_hours(self) -> float:
        """How fast the presence seen now is forgotten: a two-state Markov chain's 1/(1/home + 1/away)."""
        return 1.0 / (
            1.0 / max(self.mean_home_hours, MIN_SPELL_HOURS) + 1.0 / max(self.mean_away_hours, MIN_SPELL_HOURS)
        )


def carried_weight(times: NDArray[np.float64], now: float, relax_hours: float) -> NDArray[np.float64]:
    """How much the presence seen at `now` still counts at each time (1 for what is seen now)."""
    seen = times <= now + SLOT_SECONDS / 2.0
    decay = np.exp(-np.maximum(times - now, 0.0) / (3600.0 * relax_hours))
    return np.where(seen, 1.0, decay)


def hourly_occupancy(starts: Sequence[float], probabilities: Sequence[float]) -> Callable[[float], float]:
    """A callable giving the probability of the hour holding a time, from an hourly array."""
    grid = np.asarray(starts, dtype=np.float64)
    probs = np.asarray(probabilities, dtype=np.float64)

    def lookup(ts: float) -> float:
        i = int(np.searchsorted(grid, ts, side="right")) - 1
        return float(probs[min(max(i, 0), len(probs) - 1)]) if len(probs) else math.nan

    return lookup


def forecast_outlook(
    hourly: Callable[[float], float], times: NDArray[np.float64], now: float, home_now: float | None
) -> OccupancyOutlook:
    """The occupancy model's forecast, counting fully; what is seen now is known."""
    seen = times <= now + SLOT_SECONDS / 2.0
    p = np.array([hourly(float(t)) for t in times], dtype=np.float64)
    if home_now is not None:
        p = np.where(seen, home_now, p)
    return OccupancyOutlook(p, np.ones(len(times)), p)
