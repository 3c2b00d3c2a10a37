"""The energy model: hourly consumption forecast, usual and standby power, energy anomalies.

`EnergyModel` ties the parts together, each in a module of its own:
- `energy_series`: the 15-minute power grid and the hourly consumption series;
- `energy_features` and `energy_quantiles`: the forecast, one quantile model over
  (origin, horizon) pairs with time of week, the home's usual profile, recent lags and,
  when known, outdoor temperature and occupancy as features. The quantile model is the
  numpy-only profile model (usual profile plus a decaying correction from the last hours);
  `forecast_model` lets the evaluation compare another with it;
- `energy_power`: typical, standby and usual power;
- `energy_detectors`, `energy_alerts` and `energy_feedback`: the anomaly checks, one alert
  per episode, and the thresholds the user's feedback lifted;
- `live_score`: the live skill of the next-hour forecast against the same hour last week.

numpy is imported at module top: this module is only imported inside
executor jobs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
import math
from typing import Any, Final, TypedDict
from zoneinfo import ZoneInfo

import numpy as np

from .constants import (
    DAY_SECONDS as DAY,
    HOUR_SECONDS as HOUR,
    KIND_ENERGY,
    TYPE_ABOVE_FORECAST,
    TYPE_BASE_LOAD,
    TYPE_DEVICE_LEFT_ON,
    TYPE_DEVICE_STANDBY,
    TYPE_EMPTY_HOME,
    TYPE_STUCK_ON,
    has_house_meter,
)
from .device_watch import MIN_DAYS as DEVICE_MIN_DAYS, DeviceWatch, alert_key
from .energy_alerts import EnergyAlerts, StoredPeriod
from .energy_detectors import EnergyDetectors, check_above_forecast, check_window
from .energy_features import COLUMN_OCCUPANCY, features, usual_profile
from .energy_feedback import MAX_FEEDBACK, EnergyFeedback, FeedbackJson, apply_feedback
from .energy_power import PowerLevels, calibration_grid
from .energy_quantiles import QuantileModel, QuantileModelFactory, fit_forecast, profile_quantiles
from .energy_series import (
    WEEK_HOURS,
    FloatArray,
    HourlySeries,
    HourlyValues,
    IntArray,
    consumption_entities,
    hour_of_week,
    hourly_series,
    used_between,
)
from .facts import ABOVE_FORECAST_HOURS, AboveForecast, LongRun
from .live_score import LIVE_SCORE, SERIES, LiveScore, SeriesScoreDict
from .observations import ROLE_DEVICE, ObservationStore
from .results import (
    REASON_ENERGY_DAYS,
    REASON_ENERGY_DEVICES_DAYS,
    REASON_ENERGY_NO_SENSOR,
    Anomaly,
    EnergyForecast,
    Reason,
    days_had,
)
from .slots import counted

MIN_TRAIN_HOURS: Final = 72
MIN_DAYS: Final = 3.0
TRAIN_DAYS: Final = 56  # older hours tell less about the home now and cost fit time
# The house detectors' alert keys (their anomaly types).
HOUSE_TYPES: Final = (TYPE_STUCK_ON, TYPE_BASE_LOAD, TYPE_EMPTY_HOME, TYPE_ABOVE_FORECAST)
# A house alert is a watched device's own when the devices left on, their draw raised by this
# margin, cover its excess (at least 80 %: plug and house meter do not agree to the watt).
DEVICE_SHARE_MARGIN: Final = 1.25


class EnergyStateDict(TypedDict):
    """What the energy model keeps between fits and restarts (its stored form)."""

    live: SeriesScoreDict
    alerts: dict[str, float]
    feedback: list[FeedbackJson]
    flagged: list[StoredPeriod]
    accepted: list[str]
    opened: dict[str, float]


def _day_bounds(now: float, timezone: str) -> tuple[float, float, float]:
    """(start of today, next local midnight, the midnight after it) in the home's zone."""
    tz = ZoneInfo(timezone)
    local_now = datetime.fromtimestamp(now, UTC).astimezone(tz)
    midnight = (local_now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    day_after = (datetime.fromtimestamp(midnight, UTC).astimezone(tz) + timedelta(days=1)).replace(hour=0).timestamp()
    today_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return today_start, midnight, day_after


def _rounded(values: FloatArray) -> list[float]:
    return [round(float(v), 4) for v in values]


class EnergyModel:
    """Hourly consumption forecast with quantiles, usual and standby power, energy anomalies."""

    def __init__(
        self, forecast_model: QuantileModelFactory = profile_quantiles, min_days: float = MIN_DAYS, seed: int = 0
    ) -> None:
        """forecast_model: makes the quantile model (the numpy-only profile model by default)."""
        self.forecast_model = forecast_model
        self.min_days = min_days
        self.seed = seed
        self.spec_: Mapping[str, Any] = {}
        self.timezone_ = "UTC"
        self.entities_: list[str] = []
        self.fitted_until_ = 0.0
        self.days_ = 0.0
        self.train_rows_ = 0
        self.model_: QuantileModel | None = None
        self.profile_ = np.full(WEEK_HOURS, np.nan)
        self.history_: HourlySeries | None = None
        self.external_: tuple[list[float], list[float]] | None = None
        self.occupancy_given_ = False
        self.power_ = PowerLevels()
        self.detectors_ = EnergyDetectors()
        self.devices_ = DeviceWatch()
        # Kept between fits and restarts: live skill, open alerts and reported periods, feedback.
        self.live = LiveScore(error="absolute")
        self.alerts = EnergyAlerts()
        self.feedback_: list[EnergyFeedback] = []

    # -- persistence ----------------------------------------------------------------

    def live_state(self) -> EnergyStateDict:
        """What must survive a restart: the live score and the open alerts."""
        return self.as_dict()

    def as_dict(self) -> EnergyStateDict:
        """Plain JSON (models themselves are re-fitted from the observations)."""
        return {
            LIVE_SCORE: self.live.series_dict(),
            "alerts": self.alerts.stored_fired(),
            "feedback": [item.as_json() for item in self.feedback_],
            "flagged": self.alerts.stored_flagged(),
            "accepted": self.alerts.stored_accepted(),
            "opened": self.alerts.stored_opened(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], **kwargs: Any) -> EnergyModel:
        """Rebuild the persisted state; unknown or malformed parts are ignored."""
        model = cls(**kwargs)
        try:
            live = data.get(LIVE_SCORE) or {}
            feedback = data.get("feedback") or []
            if not isinstance(live, Mapping) or not isinstance(feedback, Iterable):
                raise TypeError("live must be a mapping and feedback a list")
            model.live = LiveScore.from_dict(live, error="absolute")
            model.alerts.fired = EnergyAlerts.read_fired(data.get("alerts"))
            model.feedback_ = [EnergyFeedback.from_json(f) for f in feedback if isinstance(f, Mapping)]
        except (TypeError, ValueError, AttributeError):
            model.live, model.alerts.fired, model.feedback_ = LiveScore(error="absolute"), {}, []
        model.alerts.flagged = EnergyAlerts.read_flagged(data.get("flagged"))
        model.alerts.accepted = EnergyAlerts.read_accepted(data.get("accepted"), model.alerts.fired)
        try:
            model.alerts.opened = {
                key: value
                for key, value in EnergyAlerts.read_fired(data.get("opened")).items()
                if key in model.alerts.fired
            }
        except (TypeError, ValueError, AttributeError):
            model.alerts.opened = {}
        return model

    def add_feedback(self, anomaly: Anomaly) -> None:
        """An energy anomaly was normal: raise that detector's threshold above what it saw."""
        if self._learn_feedback(anomaly):
            self._apply_feedback()

    def load_feedback(self, anomalies: Iterable[Anomaly]) -> None:
        """Anomalies marked normal, as the home keeps them: learn those not learned yet (before a fit).

        "It was me" said while no energy model ran (before the first fit after a restart)
        reaches the model only this way.
        """
        # The newest the model keeps: older ones it has learned and let go of before.
        for anomaly in [anomaly for anomaly in anomalies if anomaly.kind == KIND_ENERGY][-MAX_FEEDBACK:]:
            self._learn_feedback(anomaly)

    def _learn_feedback(self, anomaly: Anomaly) -> bool:
        """Keep one anomaly marked normal and learn from its period; False if it was known."""
        item = EnergyFeedback(anomaly.type, anomaly.as_json()["facts"], anomaly.id, anomaly.ts)
        if any(item.same_as(known) for known in self.feedback_):
            return False
        self.feedback_.append(item)
        del self.feedback_[:-MAX_FEEDBACK]
        entity_id = item.facts.get("entity_id")
        device = anomaly.type in (TYPE_DEVICE_LEFT_ON, TYPE_DEVICE_STANDBY) and isinstance(entity_id, str)
        self.alerts.accept(alert_key(anomaly.type, str(entity_id)) if device else anomaly.type, anomaly.ts)
        return True

    def _apply_feedback(self) -> None:
        """Lift the house detectors and the watched devices' limits above what was marked normal."""
        apply_feedback(self.feedback_, self.detectors_)
        for item in self.feedback_:
            self.devices_.raise_limits(item.type, item.facts)

    # -- fit ------------------------------------------------------------------------

    def series(
        self,
        store: ObservationStore,
        end: float,
        hourly: HourlyValues | None,
        occupancy_hourly: HourlyValues | None,
        since: float | None = None,
    ) -> HourlySeries:
        """The hourly series (consumption, outdoor temperature, occupancy) of complete hours before end."""
        return hourly_series(store, self.spec_, end, hourly, occupancy_hourly, since)

    def fit(
        self,
        store: ObservationStore,
        spec: Mapping[str, Any],
        now: float,
        hourly: HourlyValues | None = None,
        occupancy_hourly: HourlyValues | None = None,
        device_hourly: Mapping[str, HourlyValues] | None = None,
    ) -> None:
        """Fit on everything measured before `now` (executor).

        hourly: (hour starts, kWh) from long-term statistics; occupancy_hourly: (hour
        starts, probability the home is occupied) observed in the past; device_hourly: per
        watched device, (hour starts, mean W) from long-term statistics.
        """
        self.spec_ = dict(spec)
        self.timezone_ = str(spec.get("timezone", "UTC"))
        _, self.entities_ = consumption_entities(store, spec)
        self.fitted_until_ = now
        self.external_ = (list(hourly[0]), list(hourly[1])) if hourly else None
        self.occupancy_given_ = occupancy_hourly is not None
        spans = store.excluded_spans(self.entities_)
        series = self.series(store, now, hourly, occupancy_hourly, since=now - (TRAIN_DAYS + 8) * DAY).without(spans)
        known = np.isfinite(series.y)
        self.days_ = float(known.sum()) / 24.0
        self.history_ = series
        self.model_ = None
        self.train_rows_ = 0
        if known.sum() >= MIN_TRAIN_HOURS:
            self._fit_house(store, now, series, spans)
        # Watched devices learn from their own streams: without a house meter, or before it
        # has enough hours, they are watched all the same.
        self.devices_.fit(store, spec.get(ROLE_DEVICE) or [], now, self.timezone_, self.alerts, device_hourly)
        self._apply_feedback()

    def _fit_house(
        self, store: ObservationStore, now: float, series: HourlySeries, spans: list[tuple[float, float]]
    ) -> None:
        """The house's forecast, power levels and detectors, from its consumption."""
        self.profile_ = usual_profile(series.y, series.how, series.hod, len(series.y))
        self.model_, self.train_rows_ = fit_forecast(series, self.profile_, self.forecast_model, self.seed)
        starts, watts = calibration_grid(store, self.spec_, now, series)
        watts = np.where(counted(starts, spans), watts, np.nan)
        _, hod = hour_of_week(starts, self.timezone_)
        if np.isfinite(watts).any():
            self.power_.fit(watts, hod, series)
            self.detectors_.fit(starts, watts, hod, self.power_.standby_w_, self.alerts)

    def watches_devices(self) -> bool:
        """Whether any watched device has been learned well enough to be watched."""
        return bool(self.devices_.profiles_)

    def readiness(self) -> tuple[bool, Reason | None, Reason | None]:
        """Whether the model has anything to say, why not, and what the user should know meanwhile.

        Watched devices make it worth running before (or without) a house forecast; the
        forecast's reason then becomes a note, where the home has a meter to forecast.
        """
        ready, reason = self.enough_data()
        if ready:
            return True, None, None
        if self.watches_devices():
            return True, None, reason if has_house_meter(self.spec_) else None
        if not has_house_meter(self.spec_):
            reason = Reason(REASON_ENERGY_DEVICES_DAYS, {"needed": f"{DEVICE_MIN_DAYS:g}"})
        return False, reason, None

    def enough_data(self) -> tuple[bool, Reason | None]:
        """Whether the forecast is usable, and why not."""
        if not self.entities_ and not self.external_:
            return False, Reason(REASON_ENERGY_NO_SENSOR)
        if self.model_ is None or self.days_ < self.min_days:
            return False, Reason(REASON_ENERGY_DAYS, {"needed": f"{self.min_days:g}", "days": days_had(self.days_)})
        return True, None

    # -- forecast -------------------------------------------------------------------

    def _recent_series(
        self, store: ObservationStore, now: float, occupancy: Sequence[float] | None, hours: int
    ) -> tuple[HourlySeries, int]:
        """Series ending at the current hour (origin) with `hours` future slots after it."""
        series = self.series(store, now, self.external_, None, since=now - 9 * DAY)
        origin = len(series.y)
        y = series.y
        if self.history_ is not None and len(series.starts):
            # Hours the store no longer holds come from the fitted history.
            hist = self.history_
            idx = np.round((hist.starts - series.starts[0]) / HOUR).astype(np.int64)
            ok = (idx >= 0) & (idx < len(y)) & np.isfinite(hist.y)
            fill = np.isnan(y[idx[ok]])
            y[idx[ok][fill]] = hist.y[ok][fill]
        occ = None
        if occupancy is not None:
            occ = np.full(origin + hours, np.nan)
            occ[origin : origin + min(hours, len(occupancy))] = np.asarray(occupancy[:hours], dtype=np.float64)
        future = HourlySeries.build(series.starts, y, self.timezone_, series.temp, occ, extra_hours=hours)
        return future, origin

    def quantiles(self, series: HourlySeries, origins: IntArray, horizons: IntArray) -> FloatArray:
        """(rows, 3) kWh quantiles for (origin, horizon) pairs of a series; sorted, >= 0."""
        if self.model_ is None:
            raise RuntimeError("the energy model is not fitted")
        x = features(series, self.profile_, origins, horizons)
        if not self.occupancy_given_:
            x[:, COLUMN_OCCUPANCY] = np.nan
        q = np.sort(self.model_.predict(x), axis=1)
        return np.clip(q, 0.0, None)

    def forecast(
        self, store: ObservationStore, now: float, hours: int = 48, occupancy: Sequence[float] | None = None
    ) -> EnergyForecast:
        """Hourly P10/P50/P90 (kWh) from the clock hour in progress on, and the day totals.

        occupancy: probability the home is occupied for each forecast hour (optional).
        """
        series, origin = self._recent_series(store, now, occupancy, hours + 1)
        horizons = np.arange(1, hours + 2, dtype=np.int64)
        q = self.quantiles(series, np.full(len(horizons), origin, dtype=np.int64), horizons)
        ts = series.starts[origin : origin + hours + 1]
        # The hour in progress: what is measured so far plus the rest of its forecast.
        hour_start = float(ts[0])
        elapsed = (now - hour_start) / HOUR
        used_hour = used_between(store, self.spec_, hour_start, now)
        p50 = q[:, 1]
        current = used_hour + (1.0 - elapsed) * float(p50[0]) if math.isfinite(used_hour) else float(p50[0])
        today_start, midnight, day_after = _day_bounds(now, self.timezone_)
        rest = (1.0 - elapsed) * float(p50[0]) + float(np.sum(p50[1:][(ts[1:] < midnight)]))
        tomorrow = float(np.sum(p50[(ts >= midnight) & (ts < day_after)]))
        used_today = used_between(store, self.spec_, today_start, now)
        if not math.isfinite(used_today):
            used_today = float(np.nansum(series.y[:origin][series.starts[:origin] >= today_start]))
        # Live skill: the next complete hour against the same hour last week.
        naive_idx = origin + 1 - WEEK_HOURS
        naive = float(series.y[naive_idx]) if 0 <= naive_idx < origin else math.nan
        self.live.record(SERIES, float(ts[1]), float(p50[1]), naive)
        spans = store.excluded_spans(self.entities_)
        scored = series.without(spans)
        self.live.resolve(SERIES, scored.starts[:origin], scored.y[:origin])
        self.live.prune(now)
        self.live.forget(spans, HOUR)
        return EnergyForecast(
            ts=[float(t) for t in ts[1:]],
            p10=_rounded(q[1:, 0]),
            p50=_rounded(q[1:, 1]),
            p90=_rounded(q[1:, 2]),
            current_hour=round(current, 4),
            next_hour=round(float(p50[1]), 4),
            next_hour_p10=round(float(q[1, 0]), 4),
            next_hour_p90=round(float(q[1, 2]), 4),
            rest_of_today=round(rest, 4),
            used_today=round(used_today, 4),
            today=round(used_today + rest, 4),
            tomorrow=round(tomorrow, 4),
        )

    def skill(self) -> tuple[float | None, int]:
        """Live MAE skill against the seasonal naive and the number of hours scored."""
        return self.live.skill(SERIES)

    # -- power ----------------------------------------------------------------------

    def baseline_power(self, now: float, home_occupied: bool | None = None) -> float:
        """The home's usual draw (W) at this hour of week (and this occupancy, if learned)."""
        return self.power_.baseline(now, self.timezone_, self.profile_, home_occupied)

    def standby_power(self) -> float:
        """The standby base load (W): a low quantile of the night-time power."""
        return self.power_.standby()

    # -- anomalies ------------------------------------------------------------------

    def check(
        self, store: ObservationStore, now: float, home_occupied: bool | None = None, unavailable: Collection[str] = ()
    ) -> list[Anomaly]:
        """New energy anomalies at `now` (executor, every few minutes); only data before now.

        unavailable: entities unavailable now (a watched device's last reading is not what it draws).
        """
        devices = self.devices_.check(store, now, self.alerts, unavailable)
        if self.model_ is None:
            return devices
        if any(entity_id in unavailable for entity_id in self.entities_):
            # A house meter unavailable now holds its last reading: nothing to check, nothing quiet.
            for key in HOUSE_TYPES:
                self.alerts.unknown(key)
            return devices
        starts, watts = check_window(store, self.spec_, now)
        found = self.detectors_.check(
            starts,
            watts,
            now,
            home_occupied,
            timezone=self.timezone_,
            standby_w=self.power_.standby_w_,
            alerts=self.alerts,
            entity_ids=self.entities_,
        )
        told: list[Anomaly] = []
        for anomaly in found + self._check_above_forecast(store, now):
            # A watched device left on that draws what the house has too much of is told once,
            # as that device: its long run and the hours above the forecast are the same story.
            # Its episode is not opened either, so that another load later is still told.
            if self.explained_by_devices(anomaly):
                self.alerts.withdraw(anomaly.type)
            else:
                told.append(anomaly)
        return told + devices

    def explained_by_devices(self, anomaly: Anomaly) -> bool:
        """Whether the devices left on now draw (nearly) all a house alert found in excess."""
        device_w = sum(self.devices_.left_on_.values()) * DEVICE_SHARE_MARGIN
        facts = anomaly.facts
        if isinstance(facts, LongRun):
            return facts.floor_w - facts.usual_w <= device_w
        if isinstance(facts, AboveForecast):
            return (facts.used_kwh - facts.expected_p50_kwh) * 1000.0 / facts.hours <= device_w
        return False

    def _check_above_forecast(self, store: ObservationStore, now: float) -> list[Anomaly]:
        """The last complete hours against their 1-hour-ahead forecast."""
        series, origin = self._recent_series(store, now, None, 0)
        if origin < ABOVE_FORECAST_HOURS + WEEK_HOURS // 7:
            return []
        origins = np.arange(origin - ABOVE_FORECAST_HOURS, origin, dtype=np.int64)
        q = self.quantiles(series, origins, np.ones(ABOVE_FORECAST_HOURS, dtype=np.int64))
        actual = series.y[origins]
        if not np.isfinite(actual).all():
            self.alerts.unknown(TYPE_ABOVE_FORECAST)
            return []
        return check_above_forecast(actual, q, now, self.alerts, self.entities_, self.detectors_.above_fraction_)
