"""The household's setpoint routine: what it sets at each time of the week, home or away.

For each 15-minute slot of the week and each occupancy state (home, away) an
exponentially forgotten histogram of the setpoints in force, pooled over neighbouring
slots and similar days. Predictions are the weighted median of that histogram (mixed by
the probability of being home), which is what minimises the absolute error. numpy only;
runs in the executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .pacing import pace
from .slots import local_weekday_seconds

SLOT_MINUTES: Final = 15
SLOT_SECONDS: Final = SLOT_MINUTES * 60.0
SLOTS_PER_DAY: Final = 24 * 60 // SLOT_MINUTES

# Setpoint histograms: 0.1 °C bins over the range the thermostat was seen at.
SETPOINT_BIN: Final = 0.1
# Pooling: neighbouring slots and days count less than the slot itself.
NEIGHBOUR_SLOT_WEIGHT: Final = 0.25
# What other days lend to a slot of a day, in sample weights (see _pooled).
SAME_TYPE_PRIOR: Final = 1.0
OTHER_TYPE_PRIOR: Final = 0.2
# A state-specific cell borrows this much (in sample weights) from the state-blind cell,
# so that a state seen rarely at that time falls back on the routine.
STATE_PRIOR_WEIGHT: Final = 0.5
GLOBAL_PRIOR_WEIGHT: Final = 1e-3

MODE_COMFORT: Final = "comfort"
MODE_ECO: Final = "eco"
MODE_SLEEP: Final = "sleep"
SLEEP_QUANTILE: Final = 0.1
SLEEP_MIN_SETBACK: Final = 0.75


def local_day_slot(times: NDArray[np.float64], tz_name: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Local weekday (Monday 0) and 15-minute slot of day of each time."""
    if not len(times):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    weekday, seconds = local_weekday_seconds(times, tz_name)
    slot = np.floor(seconds / SLOT_SECONDS).astype(np.int64)
    return weekday, np.clip(slot, 0, SLOTS_PER_DAY - 1)


def _weighted_median_rows(hist: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Bins of the weighted median of each row (rows of non-negative weights): (lower, upper).

    They differ only on an exact tie between two values (half the weight on each side),
    whose midpoint is the median, as for the ordinary median, rather than the lower one.
    """
    pace()
    cum = np.cumsum(hist, axis=-1)
    half = cum[..., -1:] / 2.0
    tol = 1e-9 * np.maximum(cum[..., -1:], 1e-300)
    lower = np.argmax(cum >= half - tol, axis=-1)
    upper = np.argmax(cum > half + tol, axis=-1)
    return lower, upper


@dataclass(slots=True)
class SetpointRoutine:
    """Forgetful histograms of the setpoint per day of week, slot of day and occupancy state.

    hist[state, weekday, slot, bin] with state 0 away, 1 home, 2 either. Already pooled
    over neighbouring slots, similar days and (for states 0, 1) backed off on state 2.
    The bins are the setpoints ever chosen (to SETPOINT_BIN): a household uses a handful,
    and pooling never moves weight between setpoints, so no other bin could hold any.
    """

    values: NDArray[np.float64]  # setpoint of each bin, ascending
    hist: NDArray[np.float64]
    levels: dict[str, float] = field(default_factory=dict)

    def _median(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        lower, upper = _weighted_median_rows(rows)
        return np.asarray((self.values[lower] + self.values[upper]) / 2.0, dtype=np.float64)

    @classmethod
    def fit(
        cls,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        setpoint: NDArray[np.float64],
        home: NDArray[np.float64] | None,
        weights: NDArray[np.float64],
    ) -> SetpointRoutine | None:
        """Build from one sample per slot (home: 1/0/NaN unknown; weights: forgetting times kind)."""
        keep = np.isfinite(setpoint) & (weights > 0)
        if not keep.any():
            return None
        steps = np.rint(np.where(keep, setpoint, 0.0) / SETPOINT_BIN).astype(np.int64)
        used, inverse = np.unique(steps[keep], return_inverse=True)
        n_bins = len(used)
        b = np.zeros(len(setpoint), dtype=np.int64)
        b[keep] = inverse
        state = np.full(len(setpoint), -1, dtype=np.int64)
        if home is not None:
            state = np.where(np.isfinite(home), (np.nan_to_num(home) > 0.5).astype(np.int64), -1)

        raw = np.zeros((3, 7, SLOTS_PER_DAY, n_bins))
        np.add.at(raw, (np.full(int(keep.sum()), 2), weekday[keep], slot[keep], b[keep]), weights[keep])
        ks = keep & (state >= 0)
        np.add.at(raw, (state[ks], weekday[ks], slot[ks], b[ks]), weights[ks])
        pace()
        routine = cls(values=np.asarray(used * SETPOINT_BIN, dtype=np.float64), hist=_pooled(raw))
        routine.levels = _levels(setpoint, state, weights)
        return routine

    def predict(
        self,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        p_home: NDArray[np.float64] | None,
        weight: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Weighted median setpoint at each (weekday, slot).

        p_home mixes the home and away histograms; `weight` (0..1, default 1) says how much
        that mixture counts against the state-blind routine, which already holds how often
        the home is empty at that time. Unknown (NaN or None) p_home: the state-blind routine.
        """
        either = self.hist[2, weekday, slot]
        either = either / either.sum(axis=-1, keepdims=True)
        if p_home is None:
            return self._median(either)
        home = self.hist[1, weekday, slot]
        away = self.hist[0, weekday, slot]
        known = np.isfinite(p_home)
        p = np.clip(np.nan_to_num(p_home), 0.0, 1.0)[:, None]
        w = np.ones(len(p)) if weight is None else np.clip(np.nan_to_num(weight), 0.0, 1.0)
        w = np.where(known, w, 0.0)[:, None]
        mixed = p * home / home.sum(axis=-1, keepdims=True) + (1 - p) * away / away.sum(axis=-1, keepdims=True)
        rows = w * mixed + (1 - w) * either
        return self._median(rows)

    def mode_of(self, setpoint: float, p_home: float | None) -> str | None:
        """Name of the learned level nearest a setpoint (eco when predicted away)."""
        if p_home is not None and math.isfinite(p_home) and p_home < 0.5 and MODE_ECO in self.levels:
            return MODE_ECO
        candidates = {k: v for k, v in self.levels.items() if k != MODE_ECO or p_home is None}
        if not candidates:
            return None
        return min(candidates, key=lambda k: abs(candidates[k] - setpoint))


def _pooled(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """Raw histograms [state, weekday, slot, bin] pooled over neighbouring slots and days.

    Other days enter as a prior of fixed size (pseudo-counts, in sample weights): the
    other days of the same type (weekday/weekend) with SAME_TYPE_PRIOR, the other type with
    OTHER_TYPE_PRIOR, so a day with little history of its own leans on similar days and
    one with plenty keeps its own rhythm. States home/away borrow STATE_PRIOR_WEIGHT from either.
    """
    pace()
    # Neighbouring slots (wrapping over midnight within the same weekday is close enough).
    own = raw + NEIGHBOUR_SLOT_WEIGHT * (np.roll(raw, 1, axis=2) + np.roll(raw, -1, axis=2))
    weekend = np.arange(7) >= 5
    same_type = (weekend[:, None] == weekend[None, :]) & ~np.eye(7, dtype=bool)
    pooled = own.copy()
    for kernel, prior in ((same_type, SAME_TYPE_PRIOR), (weekend[:, None] != weekend[None, :], OTHER_TYPE_PRIOR)):
        pace()
        others = np.einsum("de,sebk->sdbk", kernel.astype(np.float64), own)
        pooled += prior * others / np.maximum(others.sum(axis=-1, keepdims=True), 1e-12)
    overall = pooled[2].sum(axis=(0, 1))
    either = pooled[2] + GLOBAL_PRIOR_WEIGHT * overall / max(float(overall.sum()), 1e-12)
    either_norm = either / np.maximum(either.sum(axis=-1, keepdims=True), 1e-12)
    hist = np.empty_like(pooled)
    hist[2] = either
    for s in (0, 1):
        hist[s] = pooled[s] + STATE_PRIOR_WEIGHT * either_norm
    return hist


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64], quantile: float = 0.5) -> float | None:
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return None
    order = np.argsort(values[keep])
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[int(np.searchsorted(cum, cum[-1] * quantile))])


def _levels(setpoint: NDArray[np.float64], state: NDArray[np.int64], weights: NDArray[np.float64]) -> dict[str, float]:
    """Comfort (median at home), sleep (a clearly lower level kept at home) and eco (median away).

    Sleep is the low SLEEP_QUANTILE of the setpoints at home, when it lies at least
    SLEEP_MIN_SETBACK below comfort: a night setback fills a good part of the time at home.
    """
    out: dict[str, float] = {}
    not_away = state != 0
    comfort = _weighted_median(setpoint[not_away], weights[not_away])
    if comfort is not None:
        out[MODE_COMFORT] = round(comfort, 2)
        sleep = _weighted_median(setpoint[not_away], weights[not_away], SLEEP_QUANTILE)
        if sleep is not None and sleep <= comfort - SLEEP_MIN_SETBACK:
            out[MODE_SLEEP] = round(sleep, 2)
    eco = _weighted_median(setpoint[state == 0], weights[state == 0])
    if eco is not None:
        out[MODE_ECO] = round(eco, 2)
    return out
