"""HomeModels: every model of one home, fitted and queried together (worker thread only).

The integration's coordinator and the replays both go through this class, so what is
evaluated is what runs in the home. Model modules import numpy/scikit-learn, so they are
imported here lazily, inside the worker thread, never at integration import.

Predictions come back as the typed results of `results.py`, the contract the entities read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import logging
import time
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from .constants import (
    CLIMATE_HALF_LIFE_DAYS,
    DAY_SECONDS,
    DEFAULT_SENSITIVITY,
    DEFAULT_SLOT_MINUTES,
    KIND_ROUTINE,
    KIND_SECURITY,
    MODEL_CLIMATE,
    MODEL_ENERGY,
    MODEL_OCCUPANCY,
    MODEL_ROUTINE,
    MODEL_SECURITY,
    JsonObject,
    models_for,
)
from .incidents import spell_of
from .observations import ObservationStore
from .occupancy_settings import DEFAULT_CLASSIFIER, DEFAULT_HALF_LIFE_DAYS, Classifier
from .pacing import pace
from .results import (
    REASON_FIT_FAILED,
    REASON_HOME_HISTORY,
    Anomaly,
    ClimatePrediction,
    EnergyOutlook,
    HomePrediction,
    OccupancyForecast,
    Reason,
    days_had,
)

if TYPE_CHECKING:
    from .energy_quantiles import QuantileModelFactory
    from .routine_live import RoutineLearned
    from .security_context import SecurityLearned

_LOGGER = logging.getLogger(__name__)

# Less than this and there is nothing worth fitting yet.
MIN_DAYS_TO_FIT = 1.0

# The order models are fitted in.
MODELS = (MODEL_OCCUPANCY, MODEL_SECURITY, MODEL_ENERGY, MODEL_CLIMATE, MODEL_ROUTINE)
# The report's key of a reason that holds every model back.
ALL_MODELS: Final = "all"
# The models whose live state holds a score of their predictions, long (a row per area and
# slot over a week) and changed only by predictions: it is written out in the worker.
SCORED_MODELS: Final = (MODEL_OCCUPANCY, MODEL_ENERGY)
# Those whose live state is small and changed by the home's events too.
WATCHING_MODELS: Final = (MODEL_SECURITY, MODEL_ROUTINE)

# Whether a model is ready, and why not (one reason a thermostat for climate).
type Readiness = tuple[bool, tuple[Reason, ...]]


@dataclass(slots=True)
class FitReport:
    """Outcome of a fit: which models are ready and why the others are not."""

    days_covered: float = 0.0
    points: int = 0
    ready: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, tuple[Reason, ...]] = field(default_factory=dict)
    # What a ready model wants the user to know (e.g. too little history for its target).
    notes: dict[str, Reason] = field(default_factory=dict)
    seconds: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def any_ready(self) -> bool:
        """Whether at least one model can predict."""
        return any(self.ready.values())


def readiness(ready: bool, reason: Reason | None) -> Readiness:
    """A model's (ready, reason) as the report keeps it."""
    return bool(ready), () if ready or reason is None else (reason,)


def days_covered(store: ObservationStore, now: float) -> float:
    """Days from the first observation to now."""
    span = store.time_span()
    return 0.0 if span is None else max(0.0, (now - span[0]) / DAY_SECONDS)


class HomeModels:
    """Fits and queries the home's models from an observation snapshot."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        feedback: list[Anomaly] | None = None,
        saved: Mapping[str, Any] | None = None,
        hourly_energy: tuple[list[float], list[float]] | None = None,
        *,
        device_hourly: Mapping[str, tuple[list[float], list[float]]] | None = None,
        occupancy_slot_minutes: int = DEFAULT_SLOT_MINUTES,
        occupancy_half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
        occupancy_classifier: Classifier = DEFAULT_CLASSIFIER,
        climate_half_life_days: float = CLIMATE_HALF_LIFE_DAYS,
        energy_forecast_model: QuantileModelFactory | None = None,
        energy_seed: int = 0,
        security_sensitivity: str | None = None,
    ) -> None:
        """Create for a home spec.

        feedback: anomalies marked normal; saved: the models' live state from the last run;
        hourly_energy: (hour starts, kWh) from long-term statistics, when there are any.
        device_hourly: per watched device with long-term statistics, (hour starts, mean W).
        occupancy_slot_minutes, occupancy_half_life_days, occupancy_classifier: the occupancy
        model's slot length, routine half-life and classifier ("logistic" or "routine").
        climate_half_life_days: how fast the climate model forgets old setpoint habits.
        energy_forecast_model: makes the energy forecast's quantile model (None: the
        numpy-only profile model; the evaluation brings others to compare);
        energy_seed: the seed of the energy model's row sampling and boosting.
        security_sensitivity: low / medium / high; None takes the options' setting.
        """
        self.spec = dict(spec)
        self.options = dict(options or {})
        self.feedback = list(feedback or [])
        self.saved = dict(saved or {})
        self.hourly_energy = hourly_energy
        self.device_hourly = dict(device_hourly or {})
        self.occupancy_slot_minutes = occupancy_slot_minutes
        self.occupancy_half_life_days = occupancy_half_life_days
        self.occupancy_classifier = occupancy_classifier
        self.climate_half_life_days = climate_half_life_days
        self.energy_forecast_model = energy_forecast_model
        self.energy_seed = energy_seed
        self.security_sensitivity = security_sensitivity
        self.report = FitReport()
        self.occupancy: Any = None
        self.security: Any = None
        self.energy: Any = None
        self.climate: Any = None
        self.routine: Any = None
        # Whether anyone is home, as of the last prediction (presence, else the occupancy model).
        self.home_occupied_: bool | None = None

    def fit(self, store: ObservationStore, now: float) -> FitReport:
        """Fit every model that has the data it needs; one failing model spares the others."""
        started = time.perf_counter()
        report = FitReport(days_covered=days_covered(store, now), points=store.total_points)
        self.report = report
        if report.days_covered < MIN_DAYS_TO_FIT:
            history = {"needed": f"{MIN_DAYS_TO_FIT:g}", "days": days_had(report.days_covered)}
            report.reasons[ALL_MODELS] = (Reason(REASON_HOME_HISTORY, history),)
            report.seconds = time.perf_counter() - started
            return report
        wanted = models_for(self.spec)
        for name in MODELS:
            if name not in wanted:
                continue
            pace()
            model_started = time.perf_counter()
            try:
                ready, reasons = getattr(self, f"_fit_{name}")(store, now)
            except Exception as err:  # a model bug must not take the others down
                _LOGGER.exception("SmartML %s model failed to fit", name)
                ready, reasons = False, (Reason(REASON_FIT_FAILED, {"error": type(err).__name__}),)
            report.ready[name] = ready
            if not ready:
                report.reasons[name] = reasons
            report.model_seconds[name] = round(time.perf_counter() - model_started, 4)
        report.seconds = time.perf_counter() - started
        return report

    def _fit_occupancy(self, store: ObservationStore, now: float) -> Readiness:
        from .occupancy import OccupancyModel

        # A replay refits the same instance day after day (a fit starts afresh but for the live score).
        model = self.occupancy
        if model is None:
            model = OccupancyModel.from_dict(
                self.saved.get(MODEL_OCCUPANCY) or {},
                slot_minutes=self.occupancy_slot_minutes,
                half_life_days=self.occupancy_half_life_days,
                classifier=self.occupancy_classifier,
            )
        model.fit(store, self.spec, now)
        self.occupancy = model
        ready, reason = model.enough_data()
        return readiness(ready, reason)

    def _fit_security(self, store: ObservationStore, now: float) -> Readiness:
        from .anomaly import SecurityModel

        sensitivity = self.security_sensitivity or str(self.options.get("sensitivity", DEFAULT_SENSITIVITY))
        model = SecurityModel(sensitivity=sensitivity)
        model.fit(store, self.spec, now)
        model.load_feedback(self.feedback)
        model.restore_live(self.saved.get(MODEL_SECURITY) or {})
        self.security = model
        if note := model.calibration_note():
            self.report.notes[MODEL_SECURITY] = note
        ready, reason = model.ready()
        return readiness(ready, reason)

    def _fit_routine(self, store: ObservationStore, now: float) -> Readiness:
        from .routine import RoutineModel

        sensitivity = self.security_sensitivity or str(self.options.get("sensitivity", DEFAULT_SENSITIVITY))
        model = RoutineModel(sensitivity=sensitivity)
        model.fit(store, self.spec, now)
        model.load_feedback(self.feedback)
        model.restore_live(self.saved.get(MODEL_ROUTINE) or {})
        self.routine = model
        ready, reason = model.ready()
        return readiness(ready, reason)

    def _fit_energy(self, store: ObservationStore, now: float) -> Readiness:
        from .energy import EnergyModel
        from .energy_quantiles import profile_quantiles

        model = EnergyModel.from_dict(
            self.saved.get(MODEL_ENERGY) or {},
            forecast_model=self.energy_forecast_model or profile_quantiles,
            seed=self.energy_seed,
        )
        model.load_feedback(self.feedback)
        model.fit(store, self.spec, now, hourly=self.hourly_energy, device_hourly=self.device_hourly)
        self.energy = model
        ready, reason, note = model.readiness()
        if note is not None:
            self.report.notes[MODEL_ENERGY] = note
        return readiness(ready, reason)

    def _fit_climate(self, store: ObservationStore, now: float) -> Readiness:
        from .climate import ClimateModel

        # A replay refits the same instance day after day (a fit starts afresh anyway).
        model = self.climate if self.climate is not None else ClimateModel(half_life_days=self.climate_half_life_days)
        model.fit(store, self.spec, now)
        self.climate = model
        ready = [model.enough_data(e) for e in self.spec.get("climate", [])]
        return any(ok for ok, _ in ready), tuple(reason for ok, reason in ready if not ok and reason is not None)

    def predict(
        self, store: ObservationStore, now: float, presence: bool | None = None, unavailable: Collection[str] = ()
    ) -> HomePrediction:
        """What every ready model says at `now`.

        presence: whether anyone is home by the presence entities, None when they do not
        know; the occupancy model's own estimate stands in then, for energy, climate and
        the missing routine (not for security: see `check_event`). unavailable: entities
        unavailable now, whose last readings say nothing of now (watched devices).
        """
        occupancy = self._predict_part(MODEL_OCCUPANCY, self._predict_occupancy, store, now)
        home_occupied = presence
        if home_occupied is None and occupancy is not None and occupancy.home is not None:
            home_occupied = (
                occupancy.home_occupied if occupancy.home_occupied is not None else occupancy.home.probability >= 0.5
            )
        self.home_occupied_ = home_occupied
        energy: EnergyOutlook | None = None
        left_on: tuple[str, ...] = ()
        anomalies: list[Anomaly] = []
        if (found := self._predict_part(MODEL_ENERGY, self._predict_energy, store, now, unavailable)) is not None:
            energy, energy_anomalies, left_on = found
            anomalies.extend(energy_anomalies)
        climate = self._predict_part(MODEL_CLIMATE, self._predict_climate, store, now, occupancy) or {}
        return HomePrediction(
            now=now,
            occupancy=occupancy,
            energy=energy,
            climate=climate,
            anomalies=tuple(anomalies),
            home_occupied=home_occupied,
            left_on=left_on,
        )

    def _predict_part[**P, R](self, name: str, predict: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """One model's prediction; a failing model leaves the others theirs."""
        if not self.report.ready.get(name):
            return None
        pace()
        try:
            return predict(*args, **kwargs)
        except Exception:
            _LOGGER.exception("SmartML %s model failed to predict", name)
            return None

    def _predict_occupancy(self, store: ObservationStore, now: float) -> OccupancyForecast:
        forecast: OccupancyForecast = self.occupancy.predict(store, now)
        return forecast

    def _predict_energy(
        self, store: ObservationStore, now: float, unavailable: Collection[str] = ()
    ) -> tuple[EnergyOutlook | None, list[Anomaly], tuple[str, ...]]:
        """The house's outlook (None until its forecast is usable), new anomalies, and the devices left on."""
        model = self.energy
        home_occupied = self.home_occupied_
        found = list(model.check(store, now, home_occupied, unavailable))
        left_on = tuple(sorted(model.devices_.left_on_))
        if not model.enough_data()[0]:
            return None, found, left_on
        skill, scored = model.skill()
        outlook = EnergyOutlook(
            forecast=model.forecast(store, now),
            baseline_w=float(model.baseline_power(now, home_occupied)),
            standby_w=float(model.standby_power()),
            skill=skill,
            scored_hours=int(scored),
        )
        return outlook, found, left_on

    def _predict_climate(
        self, store: ObservationStore, now: float, occupancy: OccupancyForecast | None
    ) -> dict[str, ClimatePrediction]:
        model = self.climate
        model.refresh(store, now)
        home = None if occupancy is None else occupancy.home
        # Preheat aims at when the occupancy model expects people home.
        model.set_occupancy_outlook([] if home is None else list(home.slots))
        home_now = None if self.home_occupied_ is None else float(self.home_occupied_)
        return {
            entity_id: model.predict(entity_id, now, home_now=home_now)
            for entity_id in self.spec.get("climate") or []
            if model.enough_data(entity_id)[0]
        }

    def check_event(self, entity_id: str, value: float, ts: float) -> Anomaly | None:
        """Score one new binary observation for security anomalies (cheap, event loop).

        Security reads only the presence entities it learned from: the occupancy model's
        estimate comes from the very activity it would score (the first movement after a
        quiet hour would always look like someone in an empty home), and its fit never
        learned an empty home without them. Without presence entities it watches doors at
        unusual hours and doors held open.
        The routine model notes it as a sign of life (or a presence change).
        """
        if self.routine is not None and self.report.ready.get(MODEL_ROUTINE):
            self.routine.observe(entity_id, value, ts)
        if self.security is None or not self.report.ready.get(MODEL_SECURITY):
            return None
        anomaly: Anomaly | None = self.security.check(entity_id, value, ts)
        return anomaly

    def due_anomalies(self, now: float, unavailable: Sequence[str] = (), watching: bool = True) -> list[Anomaly]:
        """Anomalies that are due: doors held open, entries no arrival explained, a missing routine.

        Pure Python, called from the event loop every refresh, so that it never races
        check_event over the detector's live state. unavailable: the home's sensors that
        are unavailable now (a silence of theirs is not a missing routine). watching: False
        while no events reach the models (learning paused): the routine is not checked.
        """
        due: list[Anomaly] = []
        if self.security is not None and self.report.ready.get(MODEL_SECURITY):
            due.extend(self.security.check_open_durations(now))
        if watching and self.routine is not None and self.report.ready.get(MODEL_ROUTINE):
            missing = self.routine.check(now, self.home_occupied_, unavailable)
            if missing is not None:
                due.append(missing)
        return due

    def silent_sensors(self, now: float, last_change: Mapping[str, float]) -> list[str]:
        """Sensors silent far longer than ever while the others report (a sensor problem)."""
        if self.routine is None or not self.report.ready.get(MODEL_ROUTINE):
            return []
        silent: list[str] = self.routine.silent_sensors(now, last_change)
        return silent

    def routine_learned(self) -> RoutineLearned | None:
        """What the routine model learned (threshold, usual first activity), None without one."""
        if self.routine is None or not self.routine.fitted_:
            return None
        learned: RoutineLearned = self.routine.learned()
        return learned

    def security_learned(self) -> SecurityLearned | None:
        """What the security model learned (threshold, graces, calibration), None without one."""
        if self.security is None or not self.security.fitted_:
            return None
        learned: SecurityLearned = self.security.learned()
        return learned

    def continue_live_from(self, previous: HomeModels) -> None:
        """Carry what the previous models saw live since their history ended (event loop).

        Entries waiting for their grace, doors open or reported as held open, a presence
        doubt, the presence, beds held and the silence already told would otherwise be lost
        at every refit (`live_carry`); so would a preheat start shown as due.
        """
        if self.climate is not None and previous.climate is not None:
            self.climate.shown_starts_ = {**previous.climate.shown_starts_, **self.climate.shown_starts_}
        if self.security is not None and previous.security is not None:
            self.security.watch_.continue_from(previous.security.watch_)
        if self.routine is not None and previous.routine is not None:
            self.routine.watch_.continue_from(previous.routine.watch_)

    def spell_of(self, anomaly: Anomaly) -> str | None:
        """The time away or night a security alert belongs to, for grouping it into an incident."""
        away_since = self.security.watch_.away_since if self.security is not None else None
        tz = ZoneInfo(str(self.spec.get("timezone", "UTC")))
        return spell_of(anomaly, datetime.fromtimestamp(anomaly.ts, UTC).astimezone(tz), away_since)

    def add_feedback(self, anomaly: Anomaly) -> None:
        """An anomaly was normal: teach the model that raised it."""
        self.feedback.append(anomaly)
        target = {KIND_SECURITY: self.security, KIND_ROUTINE: self.routine}.get(anomaly.kind, self.energy)
        if target is not None:
            target.add_feedback(anomaly)

    def live_state(self, names: Iterable[str] = (*SCORED_MODELS, *WATCHING_MODELS)) -> dict[str, JsonObject]:
        """State the models keep between fits (live accuracy, watches), to be persisted."""
        state: dict[str, JsonObject] = {}
        for name in names:
            model = getattr(self, name)
            if model is not None and hasattr(model, "live_state"):
                state[name] = model.live_state()
        return state
