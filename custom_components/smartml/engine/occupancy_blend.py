"""A scope's forecast blended with its best naive forecast, as the last days of its own history advise.

The classifier is pooled over every scope of the home, so it can miss what sets one scope
apart: a home present for weeks on end, a sensor stuck on for days, a room used a few times
a week. Before its final fit, the model is fitted once without the last days of history and
scored on them, out of sample, beside the naive forecasts it must beat: the last state
(persistence), the time-of-week frequency and the overall rate. Per scope and band of
horizons, the blend weight of the best naive forecast that does best on those days is
kept; where the classifier wins, its weight stays one. Where the hold-out holds little
evidence, few slots, the weight is shrunk back towards the classifier. The two are pooled
as probabilities (a weighted mean) or, where pooling their log-odds scores better on the
hold-out and the naive forecast is not a constant, mostly as log-odds: a sure forecast then
stays sure beside an unsure one (a home occupied for days stays likely occupied in the next
slot though its time of week once saw an absence there). The log-odds pool's share is shrunk
towards the weighted mean by the same pseudo-rows as the weight. Where the scope has
been in its state more than twice as long as it ever was before (the first absence of a
home always occupied until then, a sensor stuck on for days), the pooled classifier is
answering far from anything it learned from, and the last state holds (persistence) over
half the time it has lasted: at least two hours, at most eight.

Beyond eight hours the classifier leans on the routine, and pooled over scopes it pulls a
rarely used scope's day-ahead odds up towards the others' (the van Kasteren front door,
used in 3 % of slots, got 9 % a day ahead): there its log-odds are lowered by the shift
that makes its mean forecast over its own training days match how often it was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .baselines import occupancy_overall_rate, occupancy_time_of_week
from .logistic import sigmoid
from .occupancy_routine import Routines
from .occupancy_targets import run_lengths
from .pacing import pace

# Bands of horizons (slots), by their upper edges: 15-30 min, up to 2 h, up to 8 h, beyond.
BAND_EDGES: Final = (2, 8, 32)
# Weights tried for the classifier (the rest goes to the naive forecast).
WEIGHTS: Final = tuple(np.linspace(0.0, 1.0, 11).tolist())
# The hold-out: the last quarter of the history, at least a day and at most a week.
HOLDOUT_SHARE: Final = 0.25
MAX_HOLDOUT_DAYS: Final = 7
# Rows of the hold-out fit (a sample, like the final fit's, but smaller: it only advises).
HOLDOUT_FIT_ROWS: Final = 20_000
# A state held this many times longer than it ever was before is beyond the scope's record...
RECORD_RATIO: Final = 2.0
# ...and holds over this share of the time it has lasted, through the first two bands at
# least (2 h) and the third at most (8 h).
HOLD_SHARE: Final = 0.5
# Pseudo-rows of hold-out evidence that keep the classifier's weight at one.
PRIOR_ROWS: Final = 1000.0
# Newton steps of the day-ahead shift (it converges in a handful).
SHIFT_ITERATIONS: Final = 30
# Log-odds of a probability are taken within this floor of 0 and 1.
LOGIT_FLOOR: Final = 1e-4
# Naive forecasts, by name.
NAIVE: Final = ("persistence", "time_of_week", "overall_rate")
# A constant in log-odds pooling only rescales the classifier's log-odds (Platt scaling on
# the hold-out, which did not carry over to the days after it): it is pooled as a probability.
CONSTANT_NAIVE: Final = NAIVE.index("overall_rate")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def band_of(steps: IntArray) -> IntArray:
    """The horizon band of each step."""
    return np.asarray(np.searchsorted(np.asarray(BAND_EDGES), steps, side="left"), dtype=np.int64)


def naive_forecasts(routines: Routines, scope: str, origins: IntArray, steps: IntArray) -> FloatArray:
    """(3, rows): persistence, time of week and overall rate for slot origin+step-1.

    The time of week and the overall rate are the naive baselines' own (`baselines.py`):
    every slot before the earliest origin counts alike, not forgotten and not smoothed, as
    a room used at the same minute each week, or a few times a week, needs.
    """
    timeline = routines.timeline
    y = timeline.targets[scope]
    last = y[origins - 1].astype(np.float64)
    known = int(origins.min())
    week = occupancy_time_of_week(y, timeline.tow, known, timeline.tow[origins + steps - 1], routines.per_week)
    return np.stack([last, week, np.full(len(origins), occupancy_overall_rate(y, known))])


def held_steps(y: BoolArray, origins: IntArray) -> IntArray:
    """How many slots ahead the last state holds at each origin (0: the blend answers).

    It holds where the state has lasted over RECORD_RATIO times its longest earlier run,
    a state never seen before (no earlier run) at once.
    """
    runs = run_lengths(y)
    current = runs[origins - 1]
    before = origins - current - 1  # the last slot before the current run (-1: none)
    longest = np.zeros(len(origins), dtype=np.int64)
    for state in (False, True):
        record = np.maximum.accumulate(np.where(y == state, runs, 0))
        mine = (y[origins - 1] == state) & (before >= 0)
        longest[mine] = record[before[mine]]
    hold = np.clip(np.floor(HOLD_SHARE * current), BAND_EDGES[1], BAND_EDGES[2])
    return np.asarray(np.where(current > RECORD_RATIO * longest, hold, 0), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Blend:
    """Per band of horizons: the naive forecast blended in, the classifier's weight, the pools.

    naive: index in NAIVE; weight: the classifier's; log_odds_share: the share of
    pool_log_odds in the result, the rest pool_mean's (0: the weighted mean alone).
    """

    naive: tuple[int, ...]
    weight: tuple[float, ...]
    log_odds_share: tuple[float, ...]

    def apply(self, model: FloatArray, naive: FloatArray, steps: IntArray, holds: BoolArray) -> FloatArray:
        """The blended probability of each row; persistence where the last state `holds` (held_steps)."""
        bands = band_of(steps)
        weight = np.asarray(self.weight)[bands]
        chosen = naive[np.asarray(self.naive)[bands], np.arange(len(steps))]
        share = np.asarray(self.log_odds_share)[bands]
        blended = (1.0 - share) * pool_mean(weight, model, chosen) + share * pool_log_odds(weight, model, chosen)
        return np.asarray(np.where(holds, naive[0], blended), dtype=np.float64)


def choose_blend(model: FloatArray, naive: FloatArray, truth: FloatArray, steps: IntArray) -> Blend:
    """The blend of each band that scores best (Brier) on the hold-out rows, shrunk by their number."""
    bands = band_of(steps)
    chosen_naive: list[int] = []
    chosen_weight: list[float] = []
    chosen_share: list[float] = []
    for band in range(len(BAND_EDGES) + 1):
        pace()
        rows = bands == band
        n = int(rows.sum())
        if not n:
            chosen_naive.append(0)
            chosen_weight.append(1.0)
            chosen_share.append(0.0)
            continue
        m, y = model[rows], truth[rows]
        best_naive = int(np.argmin([np.mean((naive[i, rows] - y) ** 2) for i in range(len(NAIVE))]))
        ref = naive[best_naive, rows]
        pools = (pool_mean,) if best_naive == CONSTANT_NAIVE else (pool_mean, pool_log_odds)
        scores = np.array([[np.mean((pool(w, m, ref) - y) ** 2) for w in WEIGHTS] for pool in pools])
        by_log_odds, best = np.unravel_index(int(np.argmin(scores)), scores.shape)
        # Few rows say little: the weight moves towards one, and the pool towards the
        # weighted mean, in proportion.
        evidence = n / (n + PRIOR_ROWS)
        chosen_naive.append(best_naive)
        chosen_weight.append(evidence * float(WEIGHTS[int(best)]) + 1.0 - evidence)
        chosen_share.append(evidence if by_log_odds else 0.0)
    return Blend(tuple(chosen_naive), tuple(chosen_weight), tuple(chosen_share))


def pool_mean(weight: FloatArray | float, model: FloatArray, naive: FloatArray) -> FloatArray:
    """The classifier's and a naive forecast's probabilities averaged, the classifier with `weight`."""
    return np.asarray(weight * model + (1.0 - weight) * naive, dtype=np.float64)


def pool_log_odds(weight: FloatArray | float, model: FloatArray, naive: FloatArray) -> FloatArray:
    """The classifier's and a naive forecast's log-odds averaged, the classifier with `weight`."""
    return sigmoid(weight * _log_odds(model) + (1.0 - weight) * _log_odds(naive))


def day_ahead_shift(model: FloatArray, truth: FloatArray) -> float:
    """The log-odds shift (never up) that makes the mean of `model` match the mean of `truth`.

    Only lowering: a scope used more often than its forecast said (a home never left, a
    sensor stuck on) is not pushed up, its history being the exception there.
    """
    if not len(model):
        return 0.0
    z = _log_odds(model)
    shift = 0.0
    for _ in range(SHIFT_ITERATIONS):
        p = sigmoid(z + shift)
        gradient, curvature = float(np.sum(p - truth)), float(np.sum(p * (1.0 - p)))
        if curvature <= 0.0:
            break
        shift -= gradient / curvature
        if abs(gradient / curvature) < 1e-9:
            break
    return min(0.0, shift)


def shifted(p: FloatArray, shift: float) -> FloatArray:
    """`p` with its log-odds moved by `shift`."""
    return sigmoid(_log_odds(p) + shift)


def _log_odds(p: FloatArray) -> FloatArray:
    q = np.clip(p, LOGIT_FLOOR, 1.0 - LOGIT_FLOOR)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)
