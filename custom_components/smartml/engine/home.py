"""HomeModels: every model of one home, fitted and queried together (worker thread only).

The integration's coordinator and the replays both go through this class, so what is
evaluated is what runs in the home. Model modules import numpy/scikit-learn, so they are
imported here lazily, inside the worker thread, never at integration import.

Predictions are returned as plain data (see `predict`), the contract the entities read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import logging
import time
from typing import Any

from .observations import ObservationStore
from .pacing import pace

_LOGGER = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0
# Less than this and there is nothing worth fitting yet.
MIN_DAYS_TO_FIT = 1.0

MODEL_OCCUPANCY = "occupancy"
MODEL_SECURITY = "security"
MODEL_ENERGY = "energy"
MODEL_CLIMATE = "climate"


@dataclass(slots=True)
class FitReport:
    """Outcome of a fit: which models are ready and why the others are not."""

    days_covered: float = 0.0
    points: int = 0
    ready: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def any_ready(self) -> bool:
        """Whether at least one model can predict."""
        return any(self.ready.values())


def iso_utc(ts: float) -> str:
    """ISO 8601 in UTC, as Home Assistant's forecasts carry times."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


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
        feedback: list[dict[str, Any]] | None = None,
        saved: Mapping[str, Any] | None = None,
        hourly_energy: tuple[list[float], list[float]] | None = None,
    ) -> None:
        """Create for a home spec.

        feedback: anomalies marked normal; saved: the models' live state from the last run;
        hourly_energy: (hour starts, kWh) from long-term statistics, when there are any.
        """
        self.spec = dict(spec)
        self.options = dict(options or {})
        self.feedback = list(feedback or [])
        self.saved = dict(saved or {})
        self.hourly_energy = hourly_energy
        self.report = FitReport()
        self.occupancy: Any = None
        self.security: Any = None
        self.energy: Any = None
        self.climate: Any = None

    # Which models a home spec calls for.
    def _wants(self) -> dict[str, bool]:
        spec = self.spec
        occupancy = bool(spec.get("areas") or spec.get("presence") or spec.get("occupancy"))
        return {
            MODEL_OCCUPANCY: occupancy,
            MODEL_SECURITY: occupancy or bool(spec.get("security")),
            MODEL_ENERGY: bool(spec.get("power") or spec.get("energy")),
            MODEL_CLIMATE: bool(spec.get("climate")),
        }

    def fit(self, store: ObservationStore, now: float) -> FitReport:
        """Fit every model that has the data it needs; one failing model spares the others."""
        started = time.perf_counter()
        report = FitReport(days_covered=days_covered(store, now), points=store.total_points)
        self.report = report
        if report.days_covered < MIN_DAYS_TO_FIT:
            report.reasons["all"] = f"needs {MIN_DAYS_TO_FIT:g} day of history, has {report.days_covered:.1f}"
            report.seconds = time.perf_counter() - started
            return report
        for name, wanted in self._wants().items():
            if not wanted:
                continue
            pace()
            model_started = time.perf_counter()
            try:
                ready, reason = getattr(self, f"_fit_{name}")(store, now)
            except Exception as err:  # a model bug must not take the others down
                _LOGGER.exception("SmartML %s model failed to fit", name)
                ready, reason = False, f"fit failed: {type(err).__name__}"
            report.ready[name] = ready
            if not ready:
                report.reasons[name] = reason
            report.model_seconds[name] = round(time.perf_counter() - model_started, 4)
        report.seconds = time.perf_counter() - started
        return report

    def _fit_occupancy(self, store: ObservationStore, now: float) -> tuple[bool, str]:
        from .occupancy import OccupancyModel

        model = OccupancyModel.from_dict(self.saved.get(MODEL_OCCUPANCY) or {})
        model.fit(store, self.spec, now)
        self.occupancy = model
        ready, reason = model.enough_data()
        return bool(ready), str(reason)

    def _fit_security(self, store: ObservationStore, now: float) -> tuple[bool, str]:
        from .anomaly import SecurityModel

        model = SecurityModel(sensitivity=str(self.options.get("sensitivity", "medium")))
        model.fit(store, self.spec, now)
        model.load_feedback(self.feedback)
        self.security = model
        ready, reason = model.ready()
        return bool(ready), str(reason)

    def _fit_energy(self, store: ObservationStore, now: float) -> tuple[bool, str]:
        from .energy import EnergyModel

        model = EnergyModel.from_dict(self.saved.get(MODEL_ENERGY) or {})
        model.fit(store, self.spec, now, hourly=self.hourly_energy)
        self.energy = model
        ready, reason = model.enough_data()
        return bool(ready), str(reason)

    def _fit_climate(self, store: ObservationStore, now: float) -> tuple[bool, str]:
        from .climate import ClimateModel

        model = ClimateModel()
        model.fit(store, self.spec, now)
        self.climate = model
        ready = [model.enough_data(e) for e in self.spec.get("climate", [])]
        reasons = "; ".join(str(reason) for ok, reason in ready if not ok)
        return any(ok for ok, _ in ready), reasons

    def predict(self, store: ObservationStore, now: float, home_occupied: bool | None = None) -> dict[str, Any]:
        """Current predictions of every ready model, as plain data for the entities.

        {"occupancy": {"areas": {area: {...}}, "home": {...}}, "energy": {...},
         "climate": {entity_id: {...}}, "anomalies": [anomaly dicts]}
        """
        out: dict[str, Any] = {}
        anomalies: list[dict[str, Any]] = []
        ready = self.report.ready
        for name in (MODEL_OCCUPANCY, MODEL_ENERGY, MODEL_CLIMATE):
            if not ready.get(name):
                continue
            pace()
            try:
                getattr(self, f"_predict_{name}")(store, now, home_occupied, out, anomalies)
            except Exception:  # keep the other models' predictions
                _LOGGER.exception("SmartML %s model failed to predict", name)
        if anomalies:
            out["anomalies"] = anomalies
        return out

    def _predict_occupancy(
        self,
        store: ObservationStore,
        now: float,
        home_occupied: bool | None,
        out: dict[str, Any],
        anomalies: list[dict[str, Any]],
    ) -> None:
        result = self.occupancy.predict(store, now).as_dict()
        for scope in [*result["areas"].values(), result["home"]]:
            if scope is not None:
                scope["forecast"] = [{"datetime": iso_utc(ts), "probability": p} for ts, p in scope["forecast"]]
        out[MODEL_OCCUPANCY] = {"areas": result["areas"], "home": result["home"]}

    def _predict_energy(
        self,
        store: ObservationStore,
        now: float,
        home_occupied: bool | None,
        out: dict[str, Any],
        anomalies: list[dict[str, Any]],
    ) -> None:
        model = self.energy
        forecast = model.forecast(store, now)
        skill, scored = model.skill()
        out[MODEL_ENERGY] = {
            "next_hour": round(forecast.next_hour, 3),
            "next_hour_p10": round(forecast.next_hour_p10, 3),
            "next_hour_p90": round(forecast.next_hour_p90, 3),
            "today": round(forecast.rest_of_today, 3),
            "used_today": round(forecast.used_today, 3),
            "tomorrow": round(forecast.tomorrow, 3),
            "forecast": forecast.as_dict()["forecast"],
            "baseline_w": round(model.baseline_power(now, home_occupied), 1),
            "standby_w": round(model.standby_power(), 1),
            "skill": skill,
            "scored_hours": scored,
        }
        anomalies.extend(anomaly.as_dict() for anomaly in model.check(store, now, home_occupied))

    def _predict_climate(
        self,
        store: ObservationStore,
        now: float,
        home_occupied: bool | None,
        out: dict[str, Any],
        anomalies: list[dict[str, Any]],
    ) -> None:
        from .climate import hourly_occupancy

        model = self.climate
        model.refresh(store, now)
        home = (out.get(MODEL_OCCUPANCY) or {}).get("home")
        if home and home.get("forecast"):
            # Preheat aims at when the occupancy model expects people home.
            starts = [datetime.fromisoformat(item["datetime"]).timestamp() for item in home["forecast"]]
            model.occupancy_hourly_ = hourly_occupancy(starts, [item["probability"] for item in home["forecast"]])
        zones: dict[str, Any] = {}
        for entity_id in self.spec.get("climate") or []:
            if not model.enough_data(entity_id)[0]:
                continue
            home_now = None if home_occupied is None else float(home_occupied)
            prediction = model.predict(entity_id, now, home_now=home_now).as_dict()
            prediction["forecast"] = [{"datetime": iso_utc(ts), "setpoint": sp} for ts, sp in prediction["forecast"]]
            zones[entity_id] = prediction
        out[MODEL_CLIMATE] = zones

    def check_event(self, entity_id: str, value: float, ts: float, home_occupied: bool | None) -> dict[str, Any] | None:
        """Score one new binary observation for security anomalies (cheap, event loop)."""
        if self.security is None or not self.report.ready.get(MODEL_SECURITY):
            return None
        anomaly = self.security.check(entity_id, value, ts, home_occupied)
        return None if anomaly is None else dict(anomaly.as_dict())

    def due_anomalies(self, now: float) -> list[dict[str, Any]]:
        """Security anomalies that are due: doors held open, entries no arrival explained.

        Pure Python, called from the event loop every refresh, so that it never races
        check_event over the detector's live state.
        """
        if self.security is None or not self.report.ready.get(MODEL_SECURITY):
            return []
        return [anomaly.as_dict() for anomaly in self.security.check_open_durations(now)]

    def add_feedback(self, anomaly: Mapping[str, Any]) -> None:
        """An anomaly was normal: teach the model that raised it."""
        self.feedback.append(dict(anomaly))
        target = self.security if anomaly.get("kind") == MODEL_SECURITY else self.energy
        if target is not None and hasattr(target, "add_feedback"):
            target.add_feedback(anomaly)

    def live_state(self) -> dict[str, Any]:
        """State the models keep between fits (live accuracy), to be persisted."""
        state: dict[str, Any] = {}
        for name in (MODEL_OCCUPANCY, MODEL_ENERGY):
            model = getattr(self, name)
            if model is not None and hasattr(model, "live_state"):
                state[name] = model.live_state()
        return state
