"""Occupancy model: the odds that each area and the home are occupied, for the next 24 h.

The model joins the parts of its own modules:

* targets (occupancy_targets.py): occupied or not per time slot, per area and the home;
* routines (occupancy_routine.py): forgetting time-of-day and time-of-week frequencies,
  which keep learning from every completed slot between full refits;
* features (occupancy_features.py): routine and current context per (origin, horizon),
  turned into calibrated probabilities by one logistic regression (engine/logistic.py)
  pooled over all scopes and horizons;
* spells (occupancy_spells.py): expected arrival (when the home is empty) and departure
  (when occupied), from past spells at a similar time of day and spell length;
* the live score (live_score.py): each next-slot prediction against the time-of-week
  baseline, the only state that outlives a refit.

Areas with environment sensors also get a virtual occupancy (virtual_occupancy.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from .baselines import occupancy_time_of_week
from .constants import DAY_SECONDS, DEFAULT_SLOT_MINUTES, HOME
from .live_score import LIVE_SCORE, LiveScore, LiveScoreDict
from .logistic import fit_logistic_design
from .observations import ROLE_PRESENCE, ObservationStore
from .occupancy_blend import (
    BAND_EDGES,
    HOLDOUT_FIT_ROWS,
    HOLDOUT_SHARE,
    MAX_HOLDOUT_DAYS,
    Blend,
    choose_blend,
    day_ahead_shift,
    held_steps,
    naive_forecasts,
    shifted,
)
from .occupancy_features import PROBABILITY_FLOOR, occupied_probability, scored_pairs, train_steps, training_rows
from .occupancy_reasons import contributions, last_on, scope_entities
from .occupancy_routine import Routines, build_routines, fill_transitions
from .occupancy_settings import CLASSIFIERS, DEFAULT_CLASSIFIER, DEFAULT_HALF_LIFE_DAYS, MIN_DAYS, Classifier
from .occupancy_spells import HomeSpells, current_run, home_now, next_use
from .occupancy_targets import Timeline, excluded_spans, extended_timeline, first_observation, slot_timeline
from .pacing import one_blas_thread, pace
from .results import (
    REASON_OCCUPANCY_DAYS,
    REASON_OCCUPANCY_NO_HISTORY,
    REASON_OCCUPANCY_NOT_VARIED,
    Band,
    OccupancyForecast,
    Reason,
    ScopeForecast,
    days_had,
)
from .slots import slots_per_week, time_of_week
from .virtual_occupancy import (
    MIN_TRAIN_ROWS,
    VirtualOccupancyModel,
    area_environment,
    store_features,
    store_training_set,
)

FloatArray = NDArray[np.float64]
# Horizons beyond this many slots (8 h) are day-ahead: the scope's own rate corrects them.
DAY_AHEAD_STEPS = BAND_EDGES[-1]
# Every this many origins of the training days measure the day-ahead shift (one an hour).
DAY_AHEAD_ORIGIN_STRIDE = 4


class OccupancyState(TypedDict):
    """What the model persists between runs."""

    live: LiveScoreDict


def fit_virtual_occupancy(
    store: ObservationStore, spec: Mapping[str, Any], now: float
) -> dict[str, VirtualOccupancyModel]:
    """Environment-to-occupancy models of the areas that have both kinds of sensor."""
    models: dict[str, VirtualOccupancyModel] = {}
    for area in spec.get("areas") or {}:
        pace()
        if not area_environment(spec, str(area)):
            continue
        _, features, labels = store_training_set(store, spec, str(area), now)
        if len(labels) >= MIN_TRAIN_ROWS and labels.min() != labels.max():
            models[str(area)] = VirtualOccupancyModel().fit(features, labels)
    return models


def not_before(band: Band | None, slot_start: float) -> Band | None:
    """An expected change overdue (the spells put it earlier) is expected in the current slot.

    From the slot's start, not from now: a time that moved on with each minute would write a
    new state every minute, for as long as the change is overdue.
    """
    if band is None:
        return None
    return Band(max(band.ts, slot_start), max(band.low, slot_start), max(band.high, slot_start), band.confidence)


class OccupancyModel:
    """Probability that each area (and the home) is occupied, from the next slot to 24 h ahead."""

    def __init__(
        self,
        slot_minutes: int = DEFAULT_SLOT_MINUTES,
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        classifier: Classifier = DEFAULT_CLASSIFIER,
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
        self.spec_: Mapping[str, Any] = {}
        self.timezone_ = "UTC"
        self.timeline_: Timeline | None = None
        self.coef_: FloatArray | None = None
        self.intercept_ = 0.0
        # Each scope's mean training row: what a prediction's reason is measured against.
        self.scope_means_: dict[str, FloatArray] = {}
        # Each scope's blend with its best naive forecast, chosen on held-out days.
        self.blends_: dict[str, Blend] = {}
        # Each scope's log-odds shift beyond DAY_AHEAD_STEPS (0 or below), from its training days.
        self.day_ahead_shifts_: dict[str, float] = {}
        self.days_ = 0.0
        self.train_rows_ = 0
        self.presence_: list[str] = []
        self.live = LiveScore()
        self.spells_ = HomeSpells(None, self.timezone_, self.step, half_life_days)
        # Persistence tables per scope, learned at fit time (kept until the next fit).
        self.transitions_: dict[str, FloatArray] = {}
        self.virtual_: dict[str, VirtualOccupancyModel] = {}

    # -- persistence -------------------------------------------------------------------

    def as_dict(self) -> OccupancyState:
        """State that must survive a restart: the live score (everything else is refitted)."""
        return {LIVE_SCORE: self.live.as_dict()}

    def load_dict(self, data: Mapping[str, object]) -> None:
        """Restore what as_dict saved; a malformed part is ignored."""
        try:
            self.live = LiveScore.from_dict(data.get(LIVE_SCORE) or {})
        except (TypeError, ValueError, AttributeError):
            self.live = LiveScore()

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, object],
        *,
        slot_minutes: int = DEFAULT_SLOT_MINUTES,
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        classifier: Classifier = DEFAULT_CLASSIFIER,
        min_days: float = MIN_DAYS,
    ) -> OccupancyModel:
        """A new (unfitted) model carrying the saved live state."""
        model = cls(slot_minutes, half_life_days, classifier, min_days)
        model.load_dict(data)
        return model

    def live_state(self) -> OccupancyState:
        """Alias of as_dict for the integration's model registry."""
        return self.as_dict()

    # -- fitting -------------------------------------------------------------------------

    def fit(self, store: ObservationStore, spec: Mapping[str, Any], now: float) -> None:
        """Learn routines and the classifier from observations before `now` (executor)."""
        self.spec_ = dict(spec)
        self.timezone_ = str(spec.get("timezone") or "UTC")
        self.presence_ = [str(e) for e in spec.get(ROLE_PRESENCE) or []]
        self.timeline_, self.coef_, self.days_, self.train_rows_ = None, None, 0.0, 0
        self.spells_ = HomeSpells(None, self.timezone_, self.step, self.half_life_days)
        self.transitions_, self.scope_means_, self.blends_, self.day_ahead_shifts_ = {}, {}, {}, {}
        self.virtual_ = fit_virtual_occupancy(store, self.spec_, now)
        first = first_observation(store)
        if first is None or first >= now - self.step:
            return
        origin = now - now % self.step
        timeline = slot_timeline(store, self.spec_, self.timezone_, self.slot_minutes, first, origin, origin)
        if not timeline.targets:
            return
        self.timeline_ = timeline
        self.spells_ = HomeSpells(timeline, self.timezone_, self.step, self.half_life_days)
        self.days_ = timeline.known * self.step / DAY_SECONDS
        if self.classifier == "routine" or timeline.known < self.per_day + 2:
            return
        routines = build_routines(timeline, self.slot_minutes, self.half_life_days, self.transitions_)
        design, labels, self.scope_means_ = training_rows(routines, self.slot_minutes)
        self.train_rows_ = len(labels)
        if len(labels) < 50 or labels.min() == labels.max():
            return
        # One BLAS thread: small matrices, and Home Assistant's executor shares the cores.
        with one_blas_thread():
            self.blends_ = self._holdout_blends(timeline)
            fitted = fit_logistic_design(design, labels, c=1.0)
        self.coef_, self.intercept_ = fitted.coef, fitted.intercept
        self.day_ahead_shifts_ = self._day_ahead_shifts(routines)

    def _day_ahead_shifts(self, routines: Routines) -> dict[str, float]:
        """Each scope's day-ahead shift (day_ahead_shift) over its training days, every fourth origin."""
        timeline = routines.timeline
        far = train_steps(self.slot_minutes)
        far = far[far > DAY_AHEAD_STEPS]
        origins = np.arange(self.per_day, timeline.known, DAY_AHEAD_ORIGIN_STRIDE, dtype=np.int64)
        shifts: dict[str, float] = {}
        for scope, y in timeline.targets.items():
            pace()
            o, k = scored_pairs(timeline, scope, origins, far, timeline.known)
            if not len(o):  # an area whose sensors were read only lately
                continue
            p = occupied_probability(routines, scope, o, k, self.coef_, self.intercept_)
            shifts[scope] = day_ahead_shift(p, y[o + k - 1].astype(np.float64))
        return shifts

    def _holdout_blends(self, timeline: Timeline) -> dict[str, Blend]:
        """Each scope's blend, from a fit without the last days scored on them (none when too short)."""
        known = timeline.known
        holdout = int(min(MAX_HOLDOUT_DAYS * self.per_day, max(self.per_day, HOLDOUT_SHARE * known)))
        cut = known - holdout
        if cut < 2 * self.per_day:
            return {}
        # Persistence as known before the held-out days; routines learn on through them, as live.
        transitions: dict[str, FloatArray] = {}
        fill_transitions(
            {scope: y[timeline.observed_from.get(scope, 0) : cut] for scope, y in timeline.targets.items()}, transitions
        )
        routines = build_routines(timeline, self.slot_minutes, self.half_life_days, transitions)
        design, labels, _ = training_rows(routines, self.slot_minutes, until=cut, max_rows=HOLDOUT_FIT_ROWS)
        if len(labels) < 50 or labels.min() == labels.max():
            return {}
        fitted = fit_logistic_design(design, labels, c=1.0)
        held_out = np.arange(cut, known, dtype=np.int64)
        blends: dict[str, Blend] = {}
        for scope, y in timeline.targets.items():
            pace()
            o, k = scored_pairs(timeline, scope, held_out, train_steps(self.slot_minutes), known)
            if not len(o):
                continue
            p = occupied_probability(routines, scope, o, k, fitted.coef, fitted.intercept)
            truth = y[o + k - 1].astype(np.float64)
            blends[scope] = choose_blend(p, naive_forecasts(routines, scope, o, k), truth, k)
        return blends

    def enough_data(self) -> tuple[bool, Reason | None]:
        """Whether predictions are meaningful, and why not."""
        if self.timeline_ is None:
            return False, Reason(REASON_OCCUPANCY_NO_HISTORY)
        if self.days_ < self.min_days:
            return False, Reason(REASON_OCCUPANCY_DAYS, {"needed": f"{self.min_days:g}", "days": days_had(self.days_)})
        if self.classifier == "logistic" and self.coef_ is None:
            return False, Reason(REASON_OCCUPANCY_NOT_VARIED)
        return True, None

    # -- prediction ----------------------------------------------------------------------

    def _extended(self, store: ObservationStore, origin_ts: float, horizon_ts: float) -> Timeline:
        """The fit timeline with slots observed since the fit appended (online update)."""
        if self.timeline_ is None:
            raise RuntimeError("fit the model first")
        return extended_timeline(
            self.timeline_, store, self.spec_, self.timezone_, self.slot_minutes, origin_ts, horizon_ts
        )

    def probabilities(
        self, store: ObservationStore, origins: FloatArray, steps: NDArray[np.int64]
    ) -> dict[str, FloatArray]:
        """P(occupied) per scope for slot origin+(step-1)*slot, as known at each origin (slot start).

        Returns {scope: array (len(origins), len(steps))}. Origins must not precede the
        fit's end; slots observed between the fit and an origin update the routine.
        """
        routines = self._routines(store, float(origins.max()), int(steps.max()))
        return self._scope_probabilities(routines, origins, steps)

    def _scope_probabilities(
        self, routines: Routines, origins: FloatArray, steps: NDArray[np.int64]
    ) -> dict[str, FloatArray]:
        timeline = routines.timeline
        grid_o, grid_k = np.meshgrid(self._index(timeline, origins), steps, indexing="ij")
        o, k = grid_o.ravel(), grid_k.ravel()
        out: dict[str, FloatArray] = {}
        home_beyond_record: NDArray[np.bool_] | None = None
        for scope, y in timeline.targets.items():
            pace()
            p = occupied_probability(routines, scope, o, k, self.coef_, self.intercept_)
            # Runs and records count only from when the area was first read.
            read_from = timeline.observed_from.get(scope, 0)
            held = held_steps(y[read_from:], o - read_from) if read_from < o.min() else np.zeros(len(o), np.int64)
            shift = self.day_ahead_shifts_.get(scope, 0.0)
            if shift < 0.0:
                # Not beyond its record: a state never seen before is not what the rate measured.
                p = np.where((k > DAY_AHEAD_STEPS) & (held == 0), shifted(p, shift), p)
            if scope in self.blends_:
                p = self.blends_[scope].apply(p, naive_forecasts(routines, scope, o, k), k, k <= held)
                if scope == HOME:
                    home_beyond_record = (held > 0).reshape(grid_o.shape)
            out[scope] = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR).reshape(grid_o.shape)
        # While the home is in its state longer than ever before, no area is likelier in use
        # than the home at any horizon: away that long, nobody may be back to use it even a
        # day later; occupied, this changes nothing (the home is occupied whenever an area is).
        if home_beyond_record is not None:
            for scope in out.keys() - {HOME}:
                out[scope] = np.where(home_beyond_record, np.minimum(out[scope], out[HOME]), out[scope])
        return out

    def _routines(self, store: ObservationStore, origin_ts: float, max_step: int) -> Routines:
        """Routines over the fit timeline extended to origin_ts, with slots max_step beyond it."""
        timeline = self._extended(store, origin_ts, origin_ts + (max_step + 1) * self.step)
        return build_routines(timeline, self.slot_minutes, self.half_life_days, self.transitions_)

    def _index(self, timeline: Timeline, origins: FloatArray) -> NDArray[np.int64]:
        return np.asarray(np.rint((origins - timeline.starts[0]) / self.step), dtype=np.int64)

    def predict(self, store: ObservationStore, now: float, hours: int = 24) -> OccupancyForecast:
        """Outlook from now (executor; cheap). Also scores the live predictions."""
        origin = now - now % self.step
        if self.timeline_ is None:
            return OccupancyForecast(generated_at=now, slot_minutes=self.slot_minutes)
        per_hour = 60 // self.slot_minutes
        steps = np.arange(1, hours * per_hour + 1, dtype=np.int64)
        routines = self._routines(store, origin, int(steps.max()))
        probs = self._scope_probabilities(routines, np.array([origin]), steps)
        timeline = routines.timeline
        origin_index = int(self._index(timeline, np.array([origin]))[0])
        baseline = self._tow_baseline(timeline, origin)
        # Slots of the last two days that are scored (an excluded period is not).
        recent = np.arange(max(0, timeline.known - 2 * self.per_day), timeline.known)
        # Nor is one excluded after it was scored.
        self.live.forget(excluded_spans(store, self.spec_), self.step)
        outlooks: dict[str, ScopeForecast] = {}
        # As in the targets: with everyone away, a sensor left on is no one there (without a
        # presence reading, the sensors are all there is).
        away = not home_now(store, self.presence_, now, p_next=1.0)
        for scope, p in probs.items():
            pace()
            if scope != HOME and (timeline.known - timeline.observed_from.get(scope, 0)) * self.step < (
                self.min_days * DAY_SECONDS
            ):
                continue  # an area whose sensors were added lately: its routine is not known yet
            row = p[0]
            # Score the next-slot prediction live against the time-of-week baseline.
            self.live.record(scope, origin, float(row[0]), baseline.get(scope, 0.5))
            active = last_on(store, scope_entities(self.spec_, scope), now, level_counts=not away)
            if active is not None and active >= origin:
                # In use already in the current slot (predicted from the completed ones): it is
                # no longer a forecast.
                row = np.r_[1.0, row[1:]]
            slot_starts = origin + (steps - 1) * self.step
            hourly = [
                (float(slot_starts[i]), float(row[i : i + per_hour].mean())) for i in range(0, len(row), per_hour)
            ]
            first_use, chance = next_use(row)
            scored = recent[timeline.kept(scope)[recent]]
            self.live.resolve(scope, timeline.starts[scored], timeline.targets[scope][scored])
            skill, scored = self.live.skill(scope)
            virtual = None
            if scope in self.virtual_:
                features = store_features(store, self.spec_, scope, np.array([now]))
                virtual = float(self.virtual_[scope].predict_proba(features)[0])
            outlooks[scope] = ScopeForecast(
                probability=float(row[0]),
                forecast=hourly,
                # A use expected in the current slot is expected from its start (at most 15 minutes ago).
                next_occupied=None if first_use is None else float(slot_starts[first_use]),
                chance_within_forecast=chance,
                skill=skill,
                scored_slots=scored,
                virtual_probability=virtual,
                contributions=contributions(
                    routines,
                    scope,
                    origin_index,
                    self.coef_,
                    self.scope_means_.get(scope),
                    now,
                    active,
                    presence=bool(self.presence_),
                ),
                slots=tuple(zip(slot_starts.tolist(), row.tolist(), strict=True)) if scope == HOME else (),
            )
        self.live.prune(now)
        home_occupied, arrival, departure = None, None, None
        if HOME in probs:
            home_occupied = home_now(store, self.presence_, now, float(probs[HOME][0][0]))
            band = not_before(self.spell_band(home_occupied, origin, current_run(timeline, home_occupied)), origin)
            arrival, departure = (None, band) if home_occupied else (band, None)
        return OccupancyForecast(
            generated_at=now,
            slot_minutes=self.slot_minutes,
            areas={scope: outlook for scope, outlook in outlooks.items() if scope != HOME},
            home=outlooks.get(HOME),
            home_occupied=home_occupied,
            expected_arrival=arrival,
            expected_departure=departure,
        )

    def _tow_baseline(self, timeline: Timeline, origin: float) -> dict[str, float]:
        target_tow = time_of_week(np.array([origin]), self.timezone_, self.slot_minutes)
        baseline: dict[str, float] = {}
        for scope, y in timeline.targets.items():
            observed = y[timeline.observed_from.get(scope, 0) :]
            tow = timeline.tow[len(y) - len(observed) : len(y)]
            baseline[scope] = float(occupancy_time_of_week(observed, tow, len(observed), target_tow, self.per_week)[0])
        return baseline

    def spell_band(self, occupied: bool, origin: float, run_slots: float) -> Band | None:
        """When the home's state (occupied or empty since run_slots) is expected to change."""
        return self.spells_.band(occupied, origin, run_slots)
