"""Occupancy routines: when each area and the home are used, and the odds for the next 24 h.

Targets are per time slot (15 min by default): an area is occupied in a slot when any of
its occupancy entities was on at some moment of it; the home is occupied when a presence
entity was home or any area was occupied.

The model joins two things:

* a routine: the exponentially forgotten frequency of occupied slots at the same time
  of day and the same time of week (half-life in days, so a changed routine shows within
  days), shrunk towards the scope's overall rate;
* the current context: the last slot's state and how long it has lasted, recent activity,
  other areas' activity and whether anyone is home, each fading with the horizon.

A logistic regression (engine/logistic.py) pooled over all scopes and horizons turns these into
calibrated probabilities. The routine keeps learning from every completed slot between
full refits. Expected arrival (when the home is empty) and departure (when occupied) come
from a kernel estimate over past spells at a similar time of day and spell length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .baselines import occupancy_time_of_week
from .constants import DAY_SECONDS
from .live_score import LiveScore
from .logistic import fit_logistic_design, sigmoid
from .observations import ROLE_OCCUPANCY, ROLE_PRESENCE, ObservationStore
from .pacing import one_blas_thread, pace
from .results import BAND_QUANTILES, Band, OccupancyForecast, ScopeForecast
from .slots import binary_occupied, slot_grid, slots_per_week, state_at, time_of_week
from .virtual_occupancy import (
    MIN_TRAIN_ROWS,
    VirtualOccupancyModel,
    area_environment,
    store_features,
    store_training_set,
)

HOME: Final = "home"
DEFAULT_HALF_LIFE_DAYS: Final = 10.0
MIN_DAYS: Final = 3.0
# Horizons (minutes) the classifier is trained on; predictions at other horizons follow
# from the same smooth horizon features.
TRAIN_HORIZON_MINUTES: Final = (15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 960, 1440)
MAX_TRAIN_ROWS: Final = 60_000
# Columns of OccupancyModel._features.
N_FEATURES: Final = 24
# Pseudo-counts of the routine's shrinkage: towards 0.5 for the overall rate, towards the
# overall rate for the time-of-day and time-of-week frequencies.
RATE_PRIOR: Final = 1.0
ROUTINE_PRIOR: Final = 1.0
# Neighbouring slots share a little of each slot's evidence (routines are not exact).
SMOOTH_OFFSETS: Final = (-1, 0, 1)
SMOOTH_WEIGHTS: Final = (0.5, 1.0, 0.5)
# Fading of the context with the horizon, in slots.
DECAY_SLOTS: Final = (1.0, 4.0, 16.0, 64.0)
LOGIT_LIMIT: Final = 6.0
# Horizon (slots) up to which a scope's own persistence is tabulated; beyond, the last entry.
MAX_TRANSITION_STEPS: Final = 192
PROBABILITY_FLOOR: Final = 1e-4
# Arrival/departure kernel widths and band.
# Kernel widths (hours of day, log spell length), widened in turn until enough past spells
# count: a state at an unusual hour still gets an estimate from the less similar ones.
SPELL_KERNELS: Final = ((1.0, 0.75), (3.0, 1.5), (math.inf, math.inf))
SPELL_MIN_SAMPLES: Final = 3.0
CLASSIFIERS: Final = ("logistic", "routine")
# Key spread that keeps (index, time) pairs apart in one sorted array (~31 years).
_INDEX_SPAN: Final = 1e9


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    p = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return np.clip(np.log(p / (1.0 - p)), -LOGIT_LIMIT, LOGIT_LIMIT)


def occupancy_targets(
    store: ObservationStore, spec: Mapping[str, Any], starts: NDArray[np.float64], slot_seconds: float
) -> dict[str, NDArray[np.bool_]]:
    """Occupied or not per slot for each configured area (with occupancy entities) and the home.

    The home is occupied when any presence entity was home in the slot, any area was
    occupied, or any home-level occupancy entity was on.
    """
    targets: dict[str, NDArray[np.bool_]] = {}
    home = np.zeros(len(starts), dtype=bool)
    have_home = False

    def any_on(entities: Sequence[str]) -> NDArray[np.bool_] | None:
        found = [store.channels[e] for e in entities if e in store.channels]
        if not found:
            return None
        out = np.zeros(len(starts), dtype=bool)
        for buf in found:
            out |= binary_occupied(buf, starts, slot_seconds)
        return out

    for area, conf in (spec.get("areas") or {}).items():
        occupied = any_on(list((conf or {}).get(ROLE_OCCUPANCY) or []))
        if occupied is not None:
            targets[str(area)] = occupied
            home |= occupied
            have_home = True
    for role in (ROLE_PRESENCE, ROLE_OCCUPANCY):
        occupied = any_on(list(spec.get(role) or []))
        if occupied is not None:
            home |= occupied
            have_home = True
    if have_home:
        targets[HOME] = home
    return targets


def transition_table(y: NDArray[np.bool_], max_steps: int) -> NDArray[np.float64]:
    """P(occupied k slots after a slot in state s) for s in (0, 1), k = 0..max_steps (smoothed)."""
    table = np.full((2, max_steps + 1), 0.5)
    table[1, 0], table[0, 0] = 1.0, 0.0
    values = y.astype(np.float64)
    for k in range(1, min(max_steps, len(y) - 1) + 1):
        pace()
        source, target = y[:-k], values[k:]
        occupied = float(source.sum())
        table[1, k] = (float(target[source].sum()) + RATE_PRIOR * 0.5) / (occupied + RATE_PRIOR)
        table[0, k] = (float(target[~source].sum()) + RATE_PRIOR * 0.5) / (len(source) - occupied + RATE_PRIOR)
    return table


def run_lengths(y: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Slots the current state has lasted at each slot (1 at a change)."""
    n = len(y)
    if not n:
        return np.zeros(0, dtype=np.int64)
    index = np.arange(n)
    change = np.r_[True, y[1:] != y[:-1]]
    last_change = np.maximum.accumulate(np.where(change, index, 0))
    return np.asarray(index - last_change + 1, dtype=np.int64)


@dataclass(slots=True)
class EwIndex:
    """Exponentially forgotten sums of a 0/1 slot series per index, queryable as of any time.

    Entries are (index, slot start, value); a query (index, cut, at) sums the entries of
    that index that start at or before `cut`, each weighted 2^-(age at `at` / half-life).
    """

    keys: NDArray[np.float64]
    cum_w: NDArray[np.float64]
    cum_wy: NDArray[np.float64]
    group_start: NDArray[np.int64]
    t_ref: float
    half_life_s: float

    @classmethod
    def build(
        cls,
        index: NDArray[np.int64],
        times: NDArray[np.float64],
        values: NDArray[np.float64],
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

    def query(
        self, index: NDArray[np.int64], cut: NDArray[np.float64], at: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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
class _Routine:
    """Rate, time-of-day and time-of-week indexes of one scope, and its own persistence."""

    rate: EwIndex
    day: EwIndex
    week: EwIndex
    # transition[s, k]: P(occupied k slots after a slot in state s), k = 0..MAX_STEPS.
    transition: NDArray[np.float64]


@dataclass(slots=True)
class _Timeline:
    """A slot grid with the scopes' observed targets (slots before `known` are observed)."""

    starts: NDArray[np.float64]
    tow: NDArray[np.int64]
    known: int
    targets: dict[str, NDArray[np.bool_]]


@dataclass(slots=True)
class _Spells:
    """Past origins of one state (home empty or occupied) and how long until it changed."""

    hours: NDArray[np.float64]
    weekend: NDArray[np.bool_]
    times: NDArray[np.float64]
    runs: NDArray[np.float64]
    delays: NDArray[np.float64]  # slots until the state changed


def weighted_quantiles(values: NDArray[np.float64], weights: NDArray[np.float64], qs: Sequence[float]) -> list[float]:
    """Quantiles of a weighted sample (inverse of the weighted CDF)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) / w.sum()
    return [float(v[min(int(np.searchsorted(cdf, q)), len(v) - 1)]) for q in qs]


class OccupancyModel:
    """Probability that each area (and the home) is occupied, from the next slot to 24 h ahead."""

    def __init__(
        self,
        slot_minutes: int = 15,
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        classifier: str = "logistic",
        min_days: float = MIN_DAYS,
    ) -> None:
        """slot_minutes must divide an hour; classifier "logistic" or "routine" (no scikit-learn)."""
        if 60 % slot_minutes:
            raise ValueError("slot_minutes must divide 60")
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {CLASSIFIERS}")
        self.slot_minutes = slot_minutes
        self.half_life_days = half_life_days
        self.classifier = classifier
        self.min_days = min_days
        self.step = slot_minutes * 60.0
        self.per_day = 24 * 60 // slot_minutes
        self.per_week = slots_per_week(slot_minutes)
        self.spec_: dict[str, Any] = {}
        self.timezone_ = "UTC"
        self.timeline_: _Timeline | None = None
        self.coef_: NDArray[np.float64] | None = None
        self.intercept_ = 0.0
        self.days_ = 0.0
        self.train_rows_ = 0
        self.presence_: list[str] = []
        self.live = LiveScore()
        self._spell_cache: dict[bool, _Spells | None] = {}
        self.transitions_: dict[str, NDArray[np.float64]] = {}
        self.virtual_: dict[str, VirtualOccupancyModel] = {}

    # -- persistence -------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """State that must survive a restart: the live score (everything else is refitted)."""
        return {"live": self.live.as_dict()}

    def load_dict(self, data: Mapping[str, Any]) -> None:
        """Restore what as_dict saved; a malformed part is ignored."""
        try:
            self.live = LiveScore.from_dict(data.get("live") or {})
        except (TypeError, ValueError, AttributeError):
            self.live = LiveScore()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> OccupancyModel:
        """A new (unfitted) model carrying the saved live state."""
        model = cls(**kwargs)
        model.load_dict(data)
        return model

    def live_state(self) -> dict[str, Any]:
        """Alias of as_dict for the integration's model registry."""
        return self.as_dict()

    # -- targets -------------------------------------------------------------------------

    def _timeline(self, store: ObservationStore, start: float, known_until: float, extend_until: float) -> _Timeline:
        starts = slot_grid(start, max(extend_until, known_until), self.slot_minutes)
        known = int(np.searchsorted(starts, known_until - self.step, side="right"))
        targets = occupancy_targets(store, self.spec_, starts[:known], self.step)
        return _Timeline(starts, time_of_week(starts, self.timezone_, self.slot_minutes), known, targets)

    def _first_time(self, store: ObservationStore) -> float | None:
        firsts = [
            buf.times[0]
            for ch, buf in store.channels.items()
            if buf.times and store.roles.get(ch) in (ROLE_OCCUPANCY, ROLE_PRESENCE)
        ]
        return min(firsts) if firsts else None

    # -- fitting -------------------------------------------------------------------------

    def fit(self, store: ObservationStore, spec: Mapping[str, Any], now: float) -> None:
        """Learn routines and the classifier from observations before `now` (executor)."""
        self.spec_ = dict(spec)
        self.timezone_ = str(spec.get("timezone") or "UTC")
        self.presence_ = [str(e) for e in spec.get(ROLE_PRESENCE) or []]
        self.timeline_, self.coef_, self.days_, self.train_rows_ = None, None, 0.0, 0
        self._spell_cache = {}
        self.transitions_ = {}
        self.virtual_ = self._fit_virtual(store, now)
        first = self._first_time(store)
        if first is None or first >= now - self.step:
            return
        origin = now - now % self.step
        timeline = self._timeline(store, first, origin, origin)
        if not timeline.targets:
            return
        self.timeline_ = timeline
        self.days_ = timeline.known * self.step / DAY_SECONDS
        if self.classifier == "routine" or timeline.known < self.per_day + 2:
            return
        design, labels = self._training_rows(timeline)
        self.train_rows_ = len(labels)
        if len(labels) < 50 or labels.min() == labels.max():
            return
        # One BLAS thread: small matrices, and Home Assistant's executor shares the cores.
        with one_blas_thread():
            fitted = fit_logistic_design(design, labels, c=1.0)
        self.coef_, self.intercept_ = fitted.coef, fitted.intercept

    def _fit_virtual(self, store: ObservationStore, now: float) -> dict[str, VirtualOccupancyModel]:
        """Environment-to-occupancy models of the areas that have both kinds of sensor."""
        models: dict[str, VirtualOccupancyModel] = {}
        for area in self.spec_.get("areas") or {}:
            pace()
            if not area_environment(self.spec_, str(area)):
                continue
            _, features, labels = store_training_set(store, self.spec_, str(area), now)
            if len(labels) >= MIN_TRAIN_ROWS and labels.min() != labels.max():
                models[str(area)] = VirtualOccupancyModel().fit(features, labels)
        return models

    def _training_rows(self, timeline: _Timeline) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(feature rows with a spare last column for the solver, labels) of the classifier."""
        steps = np.unique([max(1, m // self.slot_minutes) for m in TRAIN_HORIZON_MINUTES]).astype(np.int64)
        routines = self._routines(timeline)
        pace()
        # Origins after a day of warm-up whose targets are observed.
        origins = np.arange(self.per_day, timeline.known, dtype=np.int64)
        rng = np.random.default_rng(0)
        per_scope = MAX_TRAIN_ROWS // max(len(timeline.targets), 1)
        picks: dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        for scope in timeline.targets:
            pace()
            o, k = np.meshgrid(origins, steps, indexing="ij")
            o, k = o.ravel(), k.ravel()
            keep = o + k - 1 < timeline.known
            o, k = o[keep], k[keep]
            if len(o) > per_scope:
                pick = np.sort(rng.choice(len(o), per_scope, replace=False))
                o, k = o[pick], k[pick]
            picks[scope] = (o, k)
        # Filled in place, with a last column left for the solver's intercept: the matrix
        # is the largest thing a fit holds, and the solver works on it without a copy.
        rows = np.empty((sum(len(o) for o, _ in picks.values()), N_FEATURES + 1))
        labels = np.empty(len(rows))
        start = 0
        for scope, (o, k) in picks.items():
            pace()
            rows[start : start + len(o), :N_FEATURES] = self._features(timeline, routines, scope, o, k)
            labels[start : start + len(o)] = timeline.targets[scope][o + k - 1]
            start += len(o)
            pace()
        return rows, labels

    def _routines(self, timeline: _Timeline) -> dict[str, _Routine]:
        half_life = self.half_life_days * DAY_SECONDS
        times = timeline.starts[: timeline.known]
        tow = timeline.tow[: timeline.known]
        tod = tow % self.per_day
        zeros = np.zeros(len(times), dtype=np.int64)
        out: dict[str, _Routine] = {}
        for scope, y in timeline.targets.items():
            pace()
            values = y.astype(np.float64)
            out[scope] = _Routine(
                rate=EwIndex.build(zeros, times, values, 1, half_life),
                day=EwIndex.build(tod, times, values, self.per_day, half_life),
                week=EwIndex.build(tow, times, values, self.per_week, half_life),
                transition=self._transition(scope, y[: timeline.known]),
            )
        return out

    def _transition(self, scope: str, y: NDArray[np.bool_]) -> NDArray[np.float64]:
        """A scope's persistence table, learned at fit time (kept until the next fit)."""
        table = self.transitions_.get(scope)
        if table is None:
            table = self.transitions_[scope] = transition_table(y, MAX_TRANSITION_STEPS)
        return table

    # -- features ------------------------------------------------------------------------

    def _routine_probabilities(
        self, timeline: _Timeline, routine: _Routine, origins: NDArray[np.int64], steps: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """(rate, time-of-day, time-of-week) probabilities as known at each origin."""
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

    def _features(
        self,
        timeline: _Timeline,
        routines: Mapping[str, _Routine],
        scope: str,
        origins: NDArray[np.int64],
        steps: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        """Feature rows for predicting slot origin+step-1 of a scope, knowing slots before origin."""
        pace()
        y = timeline.targets[scope].astype(np.float64)
        last_index = origins - 1
        last = y[last_index]
        cum = np.r_[0.0, np.cumsum(y)]
        recent4 = (cum[origins] - cum[np.maximum(origins - 4, 0)]) / np.minimum(origins, 4)
        recent16 = (cum[origins] - cum[np.maximum(origins - 16, 0)]) / np.minimum(origins, 16)
        runs = np.log1p(run_lengths(timeline.targets[scope])[last_index].astype(np.float64))
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
        rate, p_day, p_week = self._routine_probabilities(timeline, routines[scope], origins, steps)
        transition = routines[scope].transition
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

    def _combine(
        self,
        timeline: _Timeline,
        routines: Mapping[str, _Routine],
        scope: str,
        origins: NDArray[np.int64],
        steps: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        pace()
        if self.coef_ is not None:
            x = self._features(timeline, routines, scope, origins, steps)
            return sigmoid(x @ self.coef_ + self.intercept_)
        # Simple model: the last state fading into the routine (mean of day and week).
        _, p_day, p_week = self._routine_probabilities(timeline, routines[scope], origins, steps)
        last = timeline.targets[scope][origins - 1].astype(np.float64)
        fade = np.exp(-steps.astype(np.float64) / DECAY_SLOTS[1])
        return np.asarray(fade * last + (1.0 - fade) * 0.5 * (p_day + p_week), dtype=np.float64)

    # -- prediction ----------------------------------------------------------------------

    def enough_data(self) -> tuple[bool, str]:
        """Whether predictions are meaningful, and why not."""
        if self.timeline_ is None:
            return False, "no occupancy or presence entity has history yet"
        if self.days_ < self.min_days:
            return False, f"needs {self.min_days:g} days of history, has {self.days_:.1f}"
        if self.classifier == "logistic" and self.coef_ is None:
            return False, "not enough varied history to learn from yet"
        return True, ""

    def _extended(self, store: ObservationStore, origin_ts: float, horizon_ts: float) -> _Timeline:
        """The fit timeline with slots observed since the fit appended (online update)."""
        fitted = self.timeline_
        if fitted is None:
            raise RuntimeError("fit the model first")
        fit_end = fitted.starts[0] + fitted.known * self.step
        if origin_ts <= fit_end:
            fresh_known = 0
            fresh = self._timeline(store, fit_end, fit_end, horizon_ts)
        else:
            fresh = self._timeline(store, fit_end, origin_ts, horizon_ts)
            fresh_known = fresh.known
        targets = {}
        for scope, y in fitted.targets.items():
            tail = fresh.targets.get(scope, np.zeros(fresh_known, dtype=bool))[:fresh_known]
            targets[scope] = np.concatenate([y[: fitted.known], tail])
        return _Timeline(
            np.concatenate([fitted.starts[: fitted.known], fresh.starts]),
            np.concatenate([fitted.tow[: fitted.known], fresh.tow]),
            fitted.known + fresh_known,
            targets,
        )

    def probabilities(
        self, store: ObservationStore, origins: NDArray[np.float64], steps: NDArray[np.int64]
    ) -> dict[str, NDArray[np.float64]]:
        """P(occupied) per scope for slot origin+(step-1)*slot, as known at each origin (slot start).

        Returns {scope: array (len(origins), len(steps))}. Origins must not precede the
        fit's end; slots observed between the fit and an origin update the routine.
        """
        timeline = self._extended(
            store, float(origins.max()), float(origins.max()) + (int(steps.max()) + 1) * self.step
        )
        routines = self._routines(timeline)
        base = timeline.starts[0]
        idx = np.rint((origins - base) / self.step).astype(np.int64)
        o, k = np.meshgrid(idx, steps, indexing="ij")
        out: dict[str, NDArray[np.float64]] = {}
        for scope in timeline.targets:
            pace()
            p = self._combine(timeline, routines, scope, o.ravel(), k.ravel())
            out[scope] = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR).reshape(o.shape)
        return out

    def predict(self, store: ObservationStore, now: float, hours: int = 24) -> OccupancyForecast:
        """Outlook from now (executor; cheap). Also scores the live predictions."""
        origin = now - now % self.step
        forecast = OccupancyForecast(generated_at=now, slot_minutes=self.slot_minutes)
        if self.timeline_ is None:
            return forecast
        per_hour = 60 // self.slot_minutes
        steps = np.arange(1, hours * per_hour + 1, dtype=np.int64)
        probs = self.probabilities(store, np.array([origin]), steps)
        timeline = self._extended(store, origin, origin)
        baseline = self._tow_baseline(timeline, origin)
        for scope, p in probs.items():
            pace()
            row = p[0]
            slot_starts = origin + (steps - 1) * self.step
            hourly = [
                (float(slot_starts[i]), float(row[i : i + per_hour].mean())) for i in range(0, len(row), per_hour)
            ]
            likely = np.flatnonzero(row >= 0.5)
            # Score the next-slot prediction live against the time-of-week baseline.
            self.live.record(scope, origin, float(row[0]), baseline.get(scope, 0.5))
            y = timeline.targets[scope]
            self.live.resolve(scope, timeline.starts[: timeline.known][-2 * self.per_day :], y[-2 * self.per_day :])
            skill, scored = self.live.skill(scope)
            outlook = ScopeForecast(
                probability=float(row[0]),
                forecast=hourly,
                next_occupied=float(slot_starts[likely[0]]) if len(likely) else None,
                skill=skill,
                scored_slots=scored,
            )
            if scope in self.virtual_:
                features = store_features(store, self.spec_, scope, np.array([now]))
                outlook.virtual_probability = float(self.virtual_[scope].predict_proba(features)[0])
            if scope == HOME:
                forecast.home = outlook
            else:
                forecast.areas[scope] = outlook
        self.live.prune(now)
        if HOME in probs:
            self._arrival_departure(store, timeline, origin, now, probs[HOME][0], forecast)
        return forecast

    def _tow_baseline(self, timeline: _Timeline, origin: float) -> dict[str, float]:
        target_tow = time_of_week(np.array([origin]), self.timezone_, self.slot_minutes)
        return {
            scope: float(occupancy_time_of_week(y, timeline.tow[: len(y)], len(y), target_tow, self.per_week)[0])
            for scope, y in timeline.targets.items()
        }

    # -- arrival and departure -------------------------------------------------------------

    def _home_now(self, store: ObservationStore, now: float, p_next: float) -> bool:
        """Anyone home now: presence entities when there are any, else the model's odds."""
        states = [
            state_at(store.channels[e], np.array([now]))[0]
            for e in self.presence_
            if e in store.channels and store.channels[e].times
        ]
        known = [state > 0.5 for state in states if not math.isnan(state)]
        return any(known) if known else p_next >= 0.5

    def _arrival_departure(
        self,
        store: ObservationStore,
        timeline: _Timeline,
        origin: float,
        now: float,
        home_probs: NDArray[np.float64],
        forecast: OccupancyForecast,
    ) -> None:
        occupied = self._home_now(store, now, float(home_probs[0]))
        forecast.home_occupied = occupied
        known = timeline.known
        y = timeline.targets[HOME]
        # The presence entities may already tell of a change the slots do not show yet.
        same_state = known and bool(y[known - 1]) == occupied
        run = float(run_lengths(y)[known - 1]) if same_state else 1.0
        band = self.spell_band(occupied, origin, run)
        if band is None:
            return
        if occupied:
            forecast.expected_departure = band
        else:
            forecast.expected_arrival = band

    def _spells(self, state: bool) -> _Spells | None:
        if state not in self._spell_cache:
            timeline = self.timeline_
            table = None
            if timeline is not None and HOME in timeline.targets:
                table = spell_table(timeline.targets[HOME][: timeline.known], timeline.starts, self.timezone_, state)
            self._spell_cache[state] = table
        return self._spell_cache[state]

    def spell_band(self, occupied: bool, origin: float, run_slots: float) -> Band | None:
        """When the home's state (occupied or empty since run_slots) is expected to change."""
        spells = self._spells(occupied)
        if spells is None:
            return None
        return spell_quantiles(spells, origin, run_slots, self.timezone_, self.step, self.half_life_days)


def _local_parts(times: NDArray[np.float64], tz_name: str) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Local hour of day and weekend flag of each time (per slot start, DST-safe)."""
    tow = time_of_week(times, tz_name, 1)
    minutes = tow % (24 * 60)
    return minutes / 60.0, tow // (24 * 60) >= 5


def spell_table(y: NDArray[np.bool_], starts: NDArray[np.float64], tz_name: str, state: bool) -> _Spells:
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
    return _Spells(hours, weekend, times, runs, delays)


def spell_quantiles(
    spells: _Spells, origin: float, run_slots: float, tz_name: str, step: float, half_life_days: float
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


def brier_skill(p: NDArray[np.float64], baseline: NDArray[np.float64], outcome: NDArray[np.float64]) -> float:
    """1 - Brier(p) / Brier(baseline)."""
    reference = float(np.mean((baseline - outcome) ** 2))
    return math.nan if reference <= 0 else 1.0 - float(np.mean((p - outcome) ** 2)) / reference
