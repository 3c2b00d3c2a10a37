"""Occupancy routines: how often each scope is occupied at this time of day and of week.

A routine is the exponentially forgotten frequency of occupied slots at the same time of
day and the same time of week (half-life in days, so a changed routine shows within
days), shrunk towards the scope's overall rate, itself shrunk towards one half. Each
frequency is queryable as known at any origin, so that the routine keeps learning from
every slot observed between fits and training rows never see their own future. A
scope's own persistence (P(occupied k slots after a slot in each state)) is tabulated
at fit time.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .occupancy_targets import Timeline
from .pacing import pace
from .slots import slots_per_week

# Pseudo-counts of the routine's shrinkage: towards 0.5 for the overall rate, towards the
# overall rate for the time-of-day and time-of-week frequencies.
RATE_PRIOR: Final = 1.0
ROUTINE_PRIOR: Final = 1.0
# Neighbouring slots share a little of each slot's evidence (routines are not exact).
SMOOTH_OFFSETS: Final = (-1, 0, 1)
SMOOTH_WEIGHTS: Final = (0.5, 1.0, 0.5)
# Horizon (slots) up to which a scope's own persistence is tabulated; beyond, the last entry.
MAX_TRANSITION_STEPS: Final = 192
# Key spread that keeps (index, time) pairs apart in one sorted array (~31 years).
_INDEX_SPAN: Final = 1e9

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def transition_counts(y: NDArray[np.bool_], max_steps: int) -> tuple[FloatArray, FloatArray]:
    """(slots in state s, of them occupied k slots later) for s in (0, 1), k = 0..max_steps."""
    seen, occupied_after = np.zeros((2, max_steps + 1)), np.zeros((2, max_steps + 1))
    values = y.astype(np.float64)
    occupied_slots = float(values.sum())
    seen[:, 0] = (len(y) - occupied_slots, occupied_slots)
    occupied_after[1, 0] = occupied_slots
    for k in range(1, min(max_steps, len(y) - 1) + 1):
        pace()
        source, target = y[:-k], values[k:]
        occupied = float(source.sum())
        seen[:, k] = (len(source) - occupied, occupied)
        occupied_after[:, k] = (float(target[~source].sum()), float(target[source].sum()))
    return seen, occupied_after


def transition_table(seen: FloatArray, occupied_after: FloatArray, prior: FloatArray) -> FloatArray:
    """P(occupied k slots after a slot in state s), shrunk towards `prior` by RATE_PRIOR pseudo-slots.

    A state a scope has rarely or never been in (a home never yet empty) takes its
    persistence from the prior (all scopes together) rather than from a coin.
    """
    table = (occupied_after + RATE_PRIOR * prior) / (seen + RATE_PRIOR)
    table[1, 0], table[0, 0] = 1.0, 0.0
    return np.asarray(table, dtype=np.float64)


@dataclass(slots=True)
class EwIndex:
    """Exponentially forgotten sums of a 0/1 slot series per index, queryable as of any time.

    Entries are (index, slot start, value); a query (index, cut, at) sums the entries of
    that index that start at or before `cut`, each weighted 2^-(age at `at` / half-life).
    """

    keys: FloatArray
    cum_w: FloatArray
    cum_wy: FloatArray
    group_start: IntArray
    t_ref: float
    half_life_s: float

    @classmethod
    def build(
        cls,
        index: IntArray,
        times: FloatArray,
        values: FloatArray,
        n_index: int,
        half_life_s: float,
    ) -> EwIndex:
        """Index entries; times need not be sorted."""
        pace()
        t_ref = float(times.min()) if len(times) else 0.0
        order = np.lexsort((times, index))
        sorted_index = index[order]
        rel = times[order] - t_ref
        weight = np.exp2(rel / half_life_s)
        return cls(
            keys=sorted_index * _INDEX_SPAN + rel,
            cum_w=np.r_[0.0, np.cumsum(weight)],
            cum_wy=np.r_[0.0, np.cumsum(weight * values[order])],
            group_start=np.searchsorted(sorted_index, np.arange(n_index + 1)).astype(np.int64),
            t_ref=t_ref,
            half_life_s=half_life_s,
        )

    def query(self, index: IntArray, cut: FloatArray, at: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(sum of weights, sum of weighted values) per query."""
        pace()
        end = np.searchsorted(self.keys, index * _INDEX_SPAN + (cut - self.t_ref), side="right")
        start = self.group_start[index]
        end = np.maximum(end, start)
        scale = np.exp2(-(at - self.t_ref) / self.half_life_s)
        weight = (self.cum_w[end] - self.cum_w[start]) * scale
        weighted = (self.cum_wy[end] - self.cum_wy[start]) * scale
        return weight, weighted


@dataclass(slots=True)
class Routine:
    """Rate, time-of-day and time-of-week indexes of one scope, and its own persistence."""

    rate: EwIndex
    day: EwIndex
    week: EwIndex
    # transition[s, k]: P(occupied k slots after a slot in state s), k = 0..MAX_TRANSITION_STEPS.
    transition: FloatArray


@dataclass(slots=True)
class Routines:
    """Every scope's routine over one timeline, queryable as known at any of its slots."""

    timeline: Timeline
    step: float
    per_day: int
    per_week: int
    scopes: dict[str, Routine]

    def probabilities(
        self, scope: str, origins: IntArray, steps: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(rate, time-of-day, time-of-week) probabilities of slot origin+step-1, as known at each origin."""
        routine = self.scopes[scope]
        timeline = self.timeline
        cut = timeline.starts[0] + (origins - 1) * self.step  # last observed slot start
        at = cut + self.step
        zero = np.zeros(len(origins), dtype=np.int64)
        w, wy = routine.rate.query(zero, cut, at)
        rate = (wy + RATE_PRIOR * 0.5) / (w + RATE_PRIOR)
        target_tow = timeline.tow[origins + steps - 1]
        out = []
        for index, modulus, n_index in (
            (target_tow % self.per_day, self.per_day, routine.day),
            (target_tow, self.per_week, routine.week),
        ):
            w_sum = np.zeros(len(origins))
            wy_sum = np.zeros(len(origins))
            for offset, share in zip(SMOOTH_OFFSETS, SMOOTH_WEIGHTS, strict=True):
                w, wy = n_index.query((index + offset) % modulus, cut, at)
                w_sum += share * w
                wy_sum += share * wy
            out.append((wy_sum + ROUTINE_PRIOR * rate) / (w_sum + ROUTINE_PRIOR))
        return rate, out[0], out[1]


def fill_transitions(targets: Mapping[str, NDArray[np.bool_]], transitions: MutableMapping[str, FloatArray]) -> None:
    """Add the persistence table of each scope that has none, from the slots given for it."""
    missing = [scope for scope in targets if scope not in transitions]
    if not missing:
        return
    counts = {scope: transition_counts(targets[scope], MAX_TRANSITION_STEPS) for scope in missing}
    seen = sum((c[0] for c in counts.values()), np.zeros((2, MAX_TRANSITION_STEPS + 1)))
    occupied_after = sum((c[1] for c in counts.values()), np.zeros((2, MAX_TRANSITION_STEPS + 1)))
    prior = (occupied_after + RATE_PRIOR * 0.5) / (seen + RATE_PRIOR)
    for scope, (scope_seen, scope_after) in counts.items():
        transitions[scope] = transition_table(scope_seen, scope_after, prior)


def build_routines(
    timeline: Timeline,
    slot_minutes: int,
    half_life_days: float,
    transitions: MutableMapping[str, FloatArray],
) -> Routines:
    """Index every scope's observed slots.

    transitions: persistence tables per scope, learned at fit time and kept until the next
    fit; a scope's table is learned here (and added) when it is missing.
    """
    step = slot_minutes * 60.0
    per_day = 24 * 60 // slot_minutes
    per_week = slots_per_week(slot_minutes)
    half_life = half_life_days * DAY_SECONDS
    # Excluded slots, and an area's slots before its sensors were read, teach nothing: left
    # out of the routines and of the persistence table.
    kept = {scope: timeline.kept(scope) for scope in timeline.targets}
    counted_targets = {scope: y[: timeline.known][kept[scope]] for scope, y in timeline.targets.items()}
    fill_transitions(counted_targets, transitions)
    scopes: dict[str, Routine] = {}
    for scope, y in counted_targets.items():
        pace()
        times = timeline.starts[: timeline.known][kept[scope]]
        tow = timeline.tow[: timeline.known][kept[scope]]
        tod = tow % per_day
        zeros = np.zeros(len(times), dtype=np.int64)
        values = y.astype(np.float64)
        table = transitions[scope]
        scopes[scope] = Routine(
            rate=EwIndex.build(zeros, times, values, 1, half_life),
            day=EwIndex.build(tod, times, values, per_day, half_life),
            week=EwIndex.build(tow, times, values, per_week, half_life),
            transition=table,
        )
    return Routines(timeline, step, per_day, per_week, scopes)
