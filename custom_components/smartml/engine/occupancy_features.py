"""Occupancy features: the routine and the current context of a scope, per (origin, horizon).

Each row describes what is known at an origin slot about a target slot `step` slots
ahead: the routine's odds for the target (time of day, time of week, overall rate), the
scope's own persistence from its last state, and the current context (the last slot's
state and how long it has lasted, recent activity, other areas' activity, whether anyone
is home), each fading with the horizon. One logistic regression pooled over all scopes
and horizons turns the rows into calibrated probabilities; without it the last state
fades into the routine.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import HOME
from .logistic import sigmoid
from .occupancy_routine import Routines
from .occupancy_targets import Timeline, run_lengths
from .pacing import pace

# Horizons (minutes) the classifier is trained on; predictions at other horizons follow
# from the same smooth horizon features.
TRAIN_HORIZON_MINUTES: Final = (15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 960, 1440)
MAX_TRAIN_ROWS: Final = 60_000
# Columns of feature_rows.
N_FEATURES: Final = 24
# Fading of the context with the horizon, in slots.
DECAY_SLOTS: Final = (1.0, 4.0, 16.0, 64.0)
LOGIT_LIMIT: Final = 6.0
# What each column of feature_rows is about, as a person would name it (None: no reason,
# such as the horizon itself); the reason of a prediction sums the columns of a group.
GROUP_ROUTINE: Final = "routine"
GROUP_ACTIVITY: Final = "activity"
GROUP_ELSEWHERE: Final = "elsewhere"
GROUP_AWAY: Final = "away"
FEATURE_GROUPS: Final[tuple[str | None, ...]] = (
    *(GROUP_ACTIVITY,) * 2,
    *(GROUP_ROUTINE,) * 5,
    *(GROUP_ACTIVITY,) * 9,
    *(GROUP_ELSEWHERE,) * 2,
    *(GROUP_AWAY,) * 3,
    GROUP_ACTIVITY,
    None,
    None,
)
# Columns of the context a reason reads its facts from.
COLUMN_OTHER_AREAS: Final = 16
COLUMN_AWAY: Final = 19
PROBABILITY_FLOOR: Final = 1e-4

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _logit(p: FloatArray) -> FloatArray:
    p = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return np.clip(np.log(p / (1.0 - p)), -LOGIT_LIMIT, LOGIT_LIMIT)


def feature_rows(routines: Routines, scope: str, origins: IntArray, steps: IntArray) -> FloatArray:
    """Feature rows for predicting slot origin+step-1 of a scope, knowing slots before origin."""
    pace()
    timeline = routines.timeline
    y = timeline.targets[scope].astype(np.float64)
    last_index = origins - 1
    last = y[last_index]
    cum = np.r_[0.0, np.cumsum(y)]
    recent4 = (cum[origins] - cum[np.maximum(origins - 4, 0)]) / np.minimum(origins, 4)
    recent16 = (cum[origins] - cum[np.maximum(origins - 16, 0)]) / np.minimum(origins, 16)
    # A run is no longer than the area has been read (its sensors added later).
    read_for = np.maximum(last_index - timeline.observed_from.get(scope, 0) + 1, 1)
    runs = np.log1p(np.minimum(run_lengths(timeline.targets[scope])[last_index], read_for).astype(np.float64))
    areas = [s for s in timeline.targets if s not in (scope, HOME)]
    if areas:
        others = np.stack([timeline.targets[a] for a in areas])
        other_cum = np.c_[np.zeros(len(areas)), np.cumsum(others, axis=1)]
        other4 = ((other_cum[:, origins] - other_cum[:, np.maximum(origins - 4, 0)]).max(axis=0) > 0).astype(float)
    else:
        other4 = np.zeros(len(origins))
    home = timeline.targets.get(HOME)
    away = np.zeros(len(origins)) if home is None else 1.0 - home[last_index].astype(np.float64)
    is_home = 1.0 if scope == HOME else 0.0
    rate, p_day, p_week = routines.probabilities(scope, origins, steps)
    transition = routines.scopes[scope].transition
    p_stay = transition[last.astype(np.int64), np.minimum(steps, transition.shape[1] - 1)]
    k = steps.astype(np.float64)
    d1, d4, d16, d64 = (np.exp(-k / tau) for tau in DECAY_SLOTS)
    sign = 2.0 * last - 1.0
    f_day, f_week, f_rate = _logit(p_day), _logit(p_week), _logit(rate)
    f_stay = _logit(p_stay)
    return np.column_stack(
        [
            f_stay * d4,
            f_stay * d16,
            f_day,
            f_week,
            f_rate,
            f_day * d4,
            f_week * d4,
            sign * d1,
            sign * d4,
            sign * d16,
            sign * d64,
            (recent4 - 0.5) * d4,
            (recent16 - 0.5) * d16,
            sign * runs * d4,
            sign * runs * d16,
            sign * runs * d64,
            other4 * d4,
            other4 * d16,
            away * d16,
            away * d64,
            away * (1.0 - is_home),
            is_home * sign * d16,
            np.full(len(origins), is_home),
            np.log(k),
        ]
    )


def train_steps(slot_minutes: int) -> IntArray:
    """The horizons (slots) the classifier is trained on."""
    return np.unique([max(1, m // slot_minutes) for m in TRAIN_HORIZON_MINUTES]).astype(np.int64)


def scored_pairs(
    timeline: Timeline, scope: str, origins: IntArray, steps: IntArray, known: int
) -> tuple[IntArray, IntArray]:
    """Every (origin, step) pair of a scope whose target is observed before slot `known` and counted.

    An excluded period's slots teach and score nothing, nor do an area's before its sensors
    were read (nor origins whose last state was not read yet).
    """
    o, k = np.meshgrid(origins, steps, indexing="ij")
    o, k = o.ravel(), k.ravel()
    keep = (o + k - 1 < known) & (o > timeline.observed_from.get(scope, 0))
    o, k = o[keep], k[keep]
    keep = timeline.kept(scope)[o + k - 1]
    return o[keep], k[keep]


def training_rows(
    routines: Routines, slot_minutes: int, until: int | None = None, max_rows: int = MAX_TRAIN_ROWS
) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
    """(feature rows with a spare last column for the solver, labels, each scope's mean row) of the classifier.

    Origins after a day of warm-up whose targets are observed (before slot `until`, all
    when None), at the training horizons; a fixed-seed sample of them per scope when there
    are too many.
    """
    timeline = routines.timeline
    known = timeline.known if until is None else min(until, timeline.known)
    steps = train_steps(slot_minutes)
    pace()
    origins = np.arange(routines.per_day, known, dtype=np.int64)
    rng = np.random.default_rng(0)
    per_scope = max_rows // max(len(timeline.targets), 1)
    picks: dict[str, tuple[IntArray, IntArray]] = {}
    for scope in timeline.targets:
        pace()
        o, k = scored_pairs(timeline, scope, origins, steps, known)
        if len(o) > per_scope:
            pick = np.sort(rng.choice(len(o), per_scope, replace=False))
            o, k = o[pick], k[pick]
        picks[scope] = (o, k)
    # Filled in place, with a last column left for the solver's intercept: the matrix
    # is the largest thing a fit holds, and the solver works on it without a copy.
    rows = np.empty((sum(len(o) for o, _ in picks.values()), N_FEATURES + 1))
    labels = np.empty(len(rows))
    means: dict[str, FloatArray] = {}
    start = 0
    for scope, (o, k) in picks.items():
        pace()
        block = rows[start : start + len(o), :N_FEATURES]
        block[:] = feature_rows(routines, scope, o, k)
        # A prediction's reason is measured against the scope's usual moment (the solver
        # standardises the rows in place, so the means are taken now).
        means[scope] = block.mean(axis=0) if len(o) else np.zeros(N_FEATURES)
        labels[start : start + len(o)] = timeline.targets[scope][o + k - 1]
        start += len(o)
        pace()
    return rows, labels, means


def occupied_probability(
    routines: Routines,
    scope: str,
    origins: IntArray,
    steps: IntArray,
    coef: FloatArray | None,
    intercept: float,
) -> FloatArray:
    """P(occupied) of slot origin+step-1: the classifier's, else the last state fading into the routine."""
    pace()
    if coef is not None:
        x = feature_rows(routines, scope, origins, steps)
        return sigmoid(x @ coef + intercept)
    # Simple model: the last state fading into the routine (mean of day and week).
    _, p_day, p_week = routines.probabilities(scope, origins, steps)
    last = routines.timeline.targets[scope][origins - 1].astype(np.float64)
    fade = np.exp(-steps.astype(np.float64) / DECAY_SLOTS[1])
    return np.asarray(fade * last + (1.0 - fade) * 0.5 * (p_day + p_week), dtype=np.float64)
