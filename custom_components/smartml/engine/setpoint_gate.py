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
falls back on what is in force. numpy only; runs in the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .pacing import pace
from .setpoint_routine import SLOTS_PER_DAY, SetpointRoutine
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

    def apply(
        self,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        routine: NDArray[np.float64],
        in_force: float,
    ) -> NDArray[np.float64]:
        """The chosen forecast at each (weekday, slot); the routine where a week median is missing."""
        median = self.week_median[weekday, slot]
        median = np.where(np.isfinite(median), median, routine)
        chosen = self.choice[slot]
        return np.where(chosen == EXPERT_ROUTINE, routine, np.where(chosen == EXPERT_WEEK_MEDIAN, median, in_force))

    def counts(self) -> dict[str, int]:
        """How many slots of the day each forecast serves (for diagnostics and reports)."""
        return {name: int(np.sum(self.choice == k)) for k, name in enumerate(EXPERT_NAMES)}


def fit_gate(
    grid: NDArray[np.float64],
    weekday: NDArray[np.int64],
    slot: NDArray[np.int64],
    setpoint: NDArray[np.float64],
    home: NDArray[np.float64] | None,
    weights: NDArray[np.float64],
    tz_name: str,
    half_life_days: float,
) -> SetpointGate:
    """Per slot of the day, the forecast whose recent day-ahead record is best.

    grid, weekday, slot, setpoint, home, weights: the routine's training samples (see
    `SetpointRoutine.fit`, weights forgotten towards the last sample). Each of the last
    GATE_DAYS complete local days is forecast by the routine fitted on the samples before
    its midnight (state-blind: who will be home is not known a day ahead), by the plain
    median of the earlier samples at the same slot of the week, and by the setpoint in
    force at that midnight. The setpoint in force is kept unless another beats it by
    GATE_MARGIN.
    """
    pace()
    medians = week_medians(weekday, slot, setpoint)
    loss = np.zeros((len(EXPERT_NAMES), SLOTS_PER_DAY))
    day = np.floor(local_times(grid, tz_name) / DAY_SECONDS).astype(np.int64) if len(grid) else grid.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(day) != 0]) if len(grid) else np.empty(0, dtype=np.int64)
    # Whole days (DST days are an hour short or long) after the first, which is training.
    stops = np.r_[starts[1:], len(grid)].astype(np.int64)
    whole = (stops - starts >= SLOTS_PER_DAY - 4) & (np.arange(len(starts)) > 0)
    last_day = int(day[-1]) if len(day) else 0
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
        known = np.isfinite(truth)
        in_force = float(setpoint[first - 1])
        before = week_medians(weekday[:first], slot[:first], setpoint[:first])
        guesses = (
            routine.predict(weekday[test], slot[test], None),
            before[weekday[test], slot[test]],
            np.full(len(truth), in_force),
        )
        age_weight = 0.5 ** ((last_day - int(day[first])) / GATE_HALF_LIFE_DAYS)
        for row, guess in enumerate(guesses):
            error = np.abs(np.nan_to_num(truth) - np.where(np.isfinite(guess), guess, in_force))
            np.add.at(loss[row], slot[test], age_weight * np.where(known, error, 0.0))
    kernel = np.r_[
        np.full(GATE_NEIGHBOURS, GATE_NEIGHBOUR_WEIGHT), 1.0, np.full(GATE_NEIGHBOURS, GATE_NEIGHBOUR_WEIGHT)
    ]
    wrapped = np.concatenate([loss[:, -GATE_NEIGHBOURS:], loss, loss[:, :GATE_NEIGHBOURS]], axis=1)
    smooth = np.stack([np.convolve(row, kernel, mode="valid") for row in wrapped])
    best = np.where(smooth[EXPERT_WEEK_MEDIAN] < smooth[EXPERT_ROUTINE], EXPERT_WEEK_MEDIAN, EXPERT_ROUTINE)
    best_loss = np.minimum(smooth[EXPERT_WEEK_MEDIAN], smooth[EXPERT_ROUTINE])
    choice = np.where(best_loss + GATE_MARGIN < smooth[EXPERT_IN_FORCE], best, EXPERT_IN_FORCE)
    return SetpointGate(np.asarray(choice, dtype=np.int64), medians)
