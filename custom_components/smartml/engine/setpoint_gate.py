"""Which setpoint forecast has earned trust, slot by slot of the day.

Real households drift: a schedule moves with the season or the clock, a week of holiday
keeps one setpoint all day, and a hand-set value holds until someone changes it back. The
routine (`setpoint_routine`) learns from weeks; keeping the setpoint in force is right
whenever nothing changes. So at each of the last local midnights the routine is refitted
as it would have been then, and its forecast of the following day is scored against what
happened, beside the plain median of the earlier weeks at the same slot and the setpoint
in force at that midnight. At each 15-minute slot of the day the forecast with the best
recent record (recent days weigh more, neighbouring slots count too) is used; the
setpoint in force is kept unless another beats it by a margin, so that thin evidence
falls back on what is in force. Last, the whole day-ahead forecast (the per-slot choice
made each of those days from the days before it only, and the routine for the presence
carried over from midnight where that counts) must have beaten both naive forecasts, the
week median and the setpoint in force, over the same days, by a lead that a short record
must make wide; otherwise the better of those two serves every slot. numpy only; runs in
the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .climate_presence import carried_weight
from .constants import DAY_SECONDS
from .pacing import pace
from .setpoint_routine import SLOT_SECONDS, SLOTS_PER_DAY, SetpointRoutine
from .slots import local_times

# How many past days are re-forecast, and how fast their record is forgotten.
GATE_DAYS: Final = 21
GATE_HALF_LIFE_DAYS: Final = 7.0
# The routine must beat persistence by this much (°C of absolute error per scored day,
# summed over the slot and its neighbours) before it replaces the setpoint in force.
GATE_MARGIN: Final = 0.5
# Neighbouring slots (each side) whose record counts with a slot's own, at this weight.
GATE_NEIGHBOURS: Final = 2
GATE_NEIGHBOUR_WEIGHT: Final = 0.5
# The whole day-ahead forecast replaces the better naive forecast only once its error over
# the n scored days is at least GATE_RECORD_MARGIN / n below the naive one's: a thin record
# must show a wide lead.
GATE_RECORD_MARGIN: Final = 0.5


EXPERT_ROUTINE: Final = 0
EXPERT_WEEK_MEDIAN: Final = 1
EXPERT_IN_FORCE: Final = 2
EXPERT_NAMES: Final = ("routine", "week_median", "in_force")


def week_medians(
    weekday: NDArray[np.int64], slot: NDArray[np.int64], setpoint: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Median setpoint at each (weekday, slot of day) over all samples (NaN where none)."""
    pace()
    out = np.full((7, SLOTS_PER_DAY), np.nan)
    known = np.isfinite(setpoint)
    cell = weekday[known] * SLOTS_PER_DAY + slot[known]
    values = setpoint[known]
    order = np.lexsort((values, cell))
    cell, values = cell[order], values[order]
    if not len(cell):
        return out
    # Each cell's values are sorted: its median is the mean of its middle one or two.
    first = np.flatnonzero(np.r_[True, np.diff(cell) != 0])
    size = np.diff(np.r_[first, len(cell)])
    out.flat[cell[first]] = (values[first + (size - 1) // 2] + values[first + size // 2]) / 2.0
    return out


@dataclass(slots=True)
class SetpointGate:
    """Which forecast each slot of the day uses, and the plain week medians one of them reads."""

    choice: NDArray[np.int64]  # EXPERT_* per slot of day
    week_median: NDArray[np.float64]  # (7, SLOTS_PER_DAY)
    # The naive forecast (EXPERT_WEEK_MEDIAN or EXPERT_IN_FORCE) serving every slot while the
    # whole day-ahead forecast has not beaten it over the scored days; None once it has.
    fallback: int | None = None

    def apply(
        self,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        routine: NDArray[np.float64],
        in_force: float,
    ) -> NDArray[np.float64]:
        """The forecast at each (weekday, slot): each slot's choice, or the naive fallback at all of them."""
        chosen = self.choice[slot] if self.fallback is None else np.full(len(slot), self.fallback)
        return _pick(chosen, routine, self.week_median[weekday, slot], in_force)

    def counts(self) -> dict[str, int]:
        """How many slots of the day each forecast serves (for diagnostics and reports)."""
        chosen = self.choice if self.fallback is None else np.full(len(self.choice), self.fallback)
        return {name: int(np.sum(chosen == k)) for k, name in enumerate(EXPERT_NAMES)}


def _pick(
    chosen: NDArray[np.int64], routine: NDArray[np.float64], median: NDArray[np.float64], in_force: float
) -> NDArray[np.float64]:
    """Each slot's chosen forecast; the routine where a week median is missing."""
    median = np.where(np.isfinite(median), median, routine)
    return np.where(chosen == EXPERT_ROUTINE, routine, np.where(chosen == EXPERT_WEEK_MEDIAN, median, in_force))


def presence_counts(weight: NDArray[np.float64] | None, p_home: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where the routine for a known or forecast presence replaces the gate's choice."""
    known = np.isfinite(p_home)
    if weight is not None:
        known &= np.nan_to_num(weight) >= 0.5
    return known


def _choose(loss: NDArray[np.float64]) -> NDArray[np.int64]:
    """Per slot of the day, the forecast with the least loss over the slot and its neighbours.

    The setpoint in force is kept unless another beats it by GATE_MARGIN.
    """
    kernel = np.r_[
        np.full(GATE_NEIGHBOURS, GATE_NEIGHBOUR_WEIGHT), 1.0, np.full(GATE_NEIGHBOURS, GATE_NEIGHBOUR_WEIGHT)
    ]
    wrapped = np.concatenate([loss[:, -GATE_NEIGHBOURS:], loss, loss[:, :GATE_NEIGHBOURS]], axis=1)
    smooth = np.stack([np.convolve(row, kernel, mode="valid") for row in wrapped])
    best = np.where(smooth[EXPERT_WEEK_MEDIAN] < smooth[EXPERT_ROUTINE], EXPERT_WEEK_MEDIAN, EXPERT_ROUTINE)
    best_loss = np.minimum(smooth[EXPERT_WEEK_MEDIAN], smooth[EXPERT_ROUTINE])
    choice = np.where(best_loss + GATE_MARGIN < smooth[EXPERT_IN_FORCE], best, EXPERT_IN_FORCE)
    return np.asarray(choice, dtype=np.int64)


def fit_gate(
    grid: NDArray[np.float64],
    weekday: NDArray[np.int64],
    slot: NDArray[np.int64],
    setpoint: NDArray[np.float64],
    home: NDArray[np.float64] | None,
    weights: NDArray[np.float64],
    tz_name: str,
    half_life_days: float,
    relax_hours: float | None = None,
) -> SetpointGate:
    """Per slot of the day, the forecast whose recent day-ahead record is best.

    grid, weekday, slot, setpoint, home, weights: the routine's training samples (see
    `SetpointRoutine.fit`, weights forgotten towards the last sample). Each of the last
    GATE_DAYS complete local days is forecast by the routine fitted on the samples before
    its midnight (state-blind: who will be home is not known a day ahead), by the plain
    median of the earlier samples at the same slot of the week, and by the setpoint in
    force at that midnight. The setpoint in force is kept unless another beats it by
    GATE_MARGIN. relax_hours (from the presence routine): how fast the presence at
    midnight is forgotten, for scoring the day-ahead forecast as it is made (see
    `ClimateModel.forecast_setpoints`); None without presence.
    """
    pace()
    medians = week_medians(weekday, slot, setpoint)
    day = np.floor(local_times(grid, tz_name) / DAY_SECONDS).astype(np.int64) if len(grid) else grid.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(day) != 0]) if len(grid) else np.empty(0, dtype=np.int64)
    # Whole days (DST days are an hour short or long) after the first, which is training.
    stops = np.r_[starts[1:], len(grid)].astype(np.int64)
    whole = (stops - starts >= SLOTS_PER_DAY - 4) & (np.arange(len(starts)) > 0)
    last_day = int(day[-1]) if len(day) else 0
    scored: list[_ScoredDay] = []
    for first, stop in list(zip(starts[whole].tolist(), stops[whole].tolist(), strict=True))[-GATE_DAYS:]:
        pace()
        # Forgetting as the fit at that midnight saw it (weights are relative to the last sample).
        scale = 0.5 ** ((last_day - int(day[first])) / half_life_days)
        routine = SetpointRoutine.fit(
            weekday[:first],
            slot[:first],
            setpoint[:first],
            None if home is None else home[:first],
            weights[:first] / scale,
        )
        if routine is None:
            continue
        test = slice(first, stop)
        truth = setpoint[test]
        in_force = float(setpoint[first - 1])
        before = week_medians(weekday[:first], slot[:first], setpoint[:first])
        blind = routine.predict(weekday[test], slot[test], None)
        guesses = np.stack([blind, before[weekday[test], slot[test]], np.full(len(truth), in_force)])
        guesses = np.where(np.isfinite(guesses), guesses, in_force)
        # The routine for the presence seen at midnight, where the day-ahead forecast uses it.
        presence: tuple[NDArray[np.bool_], NDArray[np.float64]] | None = None
        if home is not None and relax_hours is not None and np.isfinite(home[first - 1]):
            midnight = float(grid[first]) - SLOT_SECONDS / 2.0
            carried = carried_weight(grid[test], midnight, relax_hours)
            p_home = np.full(len(truth), float(home[first - 1]))
            presence = (presence_counts(carried, p_home), routine.predict(weekday[test], slot[test], p_home, carried))
        scored.append(
            _ScoredDay(
                slot[test],
                np.isfinite(truth),
                np.abs(np.nan_to_num(truth) - guesses),
                truth,
                guesses,
                presence,
                0.5 ** ((last_day - int(day[first])) / GATE_HALF_LIFE_DAYS),
            )
        )
    return _fit_choice(scored, medians)


@dataclass(slots=True)
class _ScoredDay:
    """One past day forecast as it would have been at its midnight."""

    slot: NDArray[np.int64]
    known: NDArray[np.bool_]
    errors: NDArray[np.float64]  # (EXPERT, slot of the day's samples)
    truth: NDArray[np.float64]
    guesses: NDArray[np.float64]  # (EXPERT, samples)
    presence: tuple[NDArray[np.bool_], NDArray[np.float64]] | None  # where it counts, its forecast
    age_weight: float


def _fit_choice(scored: list[_ScoredDay], medians: NDArray[np.float64]) -> SetpointGate:
    """The per-slot choice from all scored days, and the naive fallback if it has not earned its place.

    Each day is also forecast as the gate fitted on the days before it alone would have
    (the first with no record keeps the setpoint in force), so the whole forecast's record
    is out of sample. Unless that record (every scored day counting the same, so that a
    lucky last week does not decide) beats both naive forecasts' over the same days by
    GATE_RECORD_MARGIN / days, the better naive forecast serves every slot.
    """
    loss = np.zeros((len(EXPERT_NAMES), SLOTS_PER_DAY))
    totals = np.zeros(len(EXPERT_NAMES))
    gated_total = 0.0
    for day in scored:
        chosen = _choose(loss)[day.slot]
        routine, median, in_force = day.guesses
        forecast = _pick(chosen, routine, median, float(in_force[0]))
        if day.presence is not None:
            forecast = np.where(day.presence[0], day.presence[1], forecast)
        gated_total += float(np.sum(np.abs(day.truth - forecast)[day.known]))
        errors = np.where(day.known, day.errors, 0.0)
        totals += errors.sum(axis=1)
        for row in range(len(EXPERT_NAMES)):
            np.add.at(loss[row], day.slot, day.age_weight * errors[row])
    naive = EXPERT_WEEK_MEDIAN if totals[EXPERT_WEEK_MEDIAN] < totals[EXPERT_IN_FORCE] else EXPERT_IN_FORCE
    margin = GATE_RECORD_MARGIN / max(len(scored), 1)
    fallback = None if gated_total < (1.0 - margin) * totals[naive] else naive
    return SetpointGate(_choose(loss), medians, fallback)
