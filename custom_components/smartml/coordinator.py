"""The prediction coordinator: owns what one entry learns and predicts from it every minute.

Fits have a coordinator of their own (fitting.py) on a slower cadence; this one predicts
with the latest fitted models in SmartML's worker thread, reports anomalies and keeps the
entities up to date. Entities subscribe to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_OFF, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util

from .anomalies import AnomalyManager, ReportedAnomaly, async_exception_texts
from .climate_control import SetpointControl
from .collector import Collector
from .const import (
    CONF_CLIMATE,
    CONF_ENERGY_ANOMALIES,
    CONF_EXCLUDE_CALENDAR,
    CONF_NOTIFY,
    CONF_ROUTINE_ANOMALIES,
    CONF_SECURITY_SENSORS,
    DOMAIN,
    ISSUE_ENTITY_MISSING,
    ISSUE_SENSOR_SILENT,
    LOGGER,
    MAX_FEEDBACK,
    PREDICT_INTERVAL,
    STATUS_COLLECTING,
    STATUS_PAUSED,
    STATUS_READY,
    STATUS_TRAINING,
)
from .engine.constants import (
    DAY_SECONDS,
    KIND_ROUTINE,
    MODEL_ENERGY,
    MODEL_OCCUPANCY,
    MODEL_ROUTINE,
    MODEL_SECURITY,
    JsonObject,
    has_house_meter,
    models_for,
)
from .engine.exclusions import REASON_FORGOTTEN, REASON_PAUSED, ExcludedPeriod
from .engine.home import SCORED_MODELS, WATCHING_MODELS, HomeModels, days_covered
from .engine.observations import (
    BINARY_ROLES,
    ROLE_CLIMATE,
    ROLE_OCCUPANCY,
    ROLE_PRESENCE,
    ROLE_SECURITY,
    entity_roles,
)
from .engine.pacing import paced
from .engine.results import Anomaly, HomePrediction
from .fit_reasons import say_fit_report
from .fitting import SmartMLFitCoordinator
from .history import ImportResult, async_bootstrap_missing, async_check_recorder, async_fill_gap, async_import_csv
from .home_spec import build_spec, entity_name, occupancy_areas, presence_now
from .stepped import SteppedUpdateCoordinator
from .store import LearnedState, SmartMLStorage
from .watch import WatchedSensors, watched_roles
from .worker import ModelWorker

# A sensor unavailable this long is a sensor problem (a repair issue).
SENSOR_UNAVAILABLE_SECONDS = 3600.0
# Predictions look back this far (state in force, recent activity); the rest is not copied.
PREDICT_LOOKBACK_SECONDS = 8 * DAY_SECONDS


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a start restored: from SmartML's own files, and from the recorder since."""

    restored_observations: int  # read from the observations file
    restored_until: float  # the file held everything seen up to this time
    from_recorder: int  # observations the recorder gave back for the time after
    gap_minutes: float  # from the end of the file to this start

    def as_dict(self) -> dict[str, object]:
        """The learning status sensor's (and diagnostics') form."""
        return {
            "restored_observations": self.restored_observations,
            "restored_until": dt_util.utc_from_timestamp(self.restored_until).isoformat(),
            "from_recorder": self.from_recorder,
            "gap_minutes": self.gap_minutes,
        }


@dataclass(frozen=True, slots=True)
class SmartMLData:
    """What the entities read after each refresh."""

    status: str = STATUS_COLLECTING
    status_reason: str = ""
    observations: int = 0
    days_covered: float = 0.0
    skipped: Mapping[str, int] = field(default_factory=dict)
    prediction: HomePrediction | None = None
    fitted_at: float | None = None
    fit_seconds: float | None = None
    recovery: Recovery | None = None


# The settings key of when learning was paused (the span is excluded once it resumes).
SETTING_PAUSED_AT = "paused_at"
# A chosen entity with neither a state nor a registry entry this long after setup is gone.
ENTITY_MISSING_AFTER_SECONDS = 10 * 60


class SmartMLCoordinator(SteppedUpdateCoordinator[SmartMLData]):
    """Predicts every minute and owns the learned state of one entry."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, storage: SmartMLStorage, state: LearnedState) -> None:
        """Set up from the loaded (or fresh) learned state."""
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=PREDICT_INTERVAL)
        options = entry.options
        self.storage = storage
        self.recovery: Recovery | None = None
        # The device of the whole home, which area and thermostat devices hang from (set at setup).
        self.home_device_id: str | None = None
        self._set_up_at = time.time()
        # Unique ids of the entities each platform offered at this setup: the rest are stale.
        self.offered_unique_ids: dict[str, set[str]] = {}
        self._restored = state.observations.total_points
        self.state = state
        self.spec = build_spec(hass, options)
        self.roles = watched_roles(options, entity_roles(self.spec))
        self.collector = Collector(hass, state.observations, self.roles, storage.schedule_save)
        self.collector.enabled = state.learning
        self.worker = ModelWorker(hass)
        self.fitter = SmartMLFitCoordinator(hass, entry, state, self.spec, self.worker, self._async_fit_started)
        registry = ar.async_get(hass)
        self.area_names = {
            area_id: (area.name if (area := registry.async_get_area(area_id)) else area_id)
            for area_id in occupancy_areas(options)
        }
        self.climate_names = {entity_id: entity_name(hass, entity_id) for entity_id in options.get(CONF_CLIMATE) or []}
        models = models_for(self.spec)
        self.has_occupancy = MODEL_OCCUPANCY in models
        self.has_presence = bool(self.spec.get(ROLE_PRESENCE))
        # The security sensor shows the security model's anomalies and the watched sensors' alike.
        self.has_security = MODEL_SECURITY in models or bool(options.get(CONF_SECURITY_SENSORS))
        # The forecast sensors need the house's consumption; watched devices alone raise alerts only.
        self.has_energy_forecast = has_house_meter(self.spec)
        self.has_energy_anomalies = MODEL_ENERGY in models and bool(options.get(CONF_ENERGY_ANOMALIES, True))
        self.has_routine_anomalies = MODEL_ROUTINE in models and bool(options.get(CONF_ROUTINE_ANOMALIES, True))
        # The sensors whose silence the routine model reads.
        self.activity_sensors = [e for e, role in self.roles.items() if role in (ROLE_OCCUPANCY, ROLE_SECURITY)]
        self.occupancy_sensors = [e for e, role in self.roles.items() if role == ROLE_OCCUPANCY]
        self.anomalies = AnomalyManager(
            hass,
            options.get(CONF_NOTIFY),
            self._async_feedback,
            lambda entity_id: entity_name(hass, entity_id),
            lambda anomaly: None if self.models is None else self.models.spell_of(anomaly),
            lambda area_id: self.area_names.get(area_id, area_id),
        )
        self.anomalies.restore(state.anomalies)
        self.anomalies.add_listener(self._async_told_changed)
        self.watched = WatchedSensors(hass, state, options, lambda e: entity_name(hass, e), storage.schedule_save)
        self.setpoints = SetpointControl(
            hass, state.observations, state.settings, storage.schedule_save, lambda: self.collector.enabled
        )
        self._retraining = False
        # Translated texts of the learning status's reasons by key, loaded at the first refresh.
        self._reason_texts: Mapping[str, str] = {}
        storage.attach(state)
        # Entities removed from the options are forgotten; kept ones keep what they learned.
        state.observations.drop_entities(self.roles)
        for entity_id in [e for e in state.bootstrapped if e not in self.roles]:
            del state.bootstrapped[entity_id]

    @callback
    def _async_told_changed(self, _reported: ReportedAnomaly) -> None:
        """What was told is saved, so that its sensors and its feedback outlive a restart."""
        self.state.anomalies = list(self.anomalies.stored())
        self.storage.schedule_save()

    @property
    def models(self) -> HomeModels | None:
        """The fitted models, None before the first fit."""
        return self.fitter.models

    @property
    def prediction(self) -> HomePrediction | None:
        """The latest prediction, None until a model is ready."""
        return None if self.data is None else self.data.prediction

    async def async_shutdown(self) -> None:
        """Stop collecting and refreshing, and let the worker thread finish (entry unloaded)."""
        self.collector.async_stop()
        await super().async_shutdown()
        await self.fitter.async_shutdown()
        await self.worker.async_stop()

    @callback
    def async_start_collecting(self) -> Callable[[], None]:
        """Record the current states and follow their changes; returns what stops it.

        Before the first fit: on a small machine with months of history it takes a while, and
        what happens meanwhile would be lost (the recorder is read only up to the bootstrap),
        as would a thermostat set by hand meanwhile.
        """
        stop_listening = self.collector.add_listener(self._async_new_observation)
        stop_collecting = self.collector.async_start()
        # "It was me" on a notification sent before the restart is heard during the fit too.
        stop_actions = self.anomalies.async_start()

        @callback
        def async_stop() -> None:
            stop_collecting()
            stop_listening()
            stop_actions()

        return async_stop

    @callback
    def async_start(self) -> Callable[[], None]:
        """Start listening (after the first fit); returns what stops it all."""
        stops = [
            # A new fit is predicted with at once (this also keeps the refits scheduled).
            self.fitter.async_add_listener(self._async_fitted),
            # Entries are not unloaded when Home Assistant stops; the worker must end anyway.
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self.worker.async_stop),
        ]

        self._async_presence_to_models()

        @callback
        def async_stop() -> None:
            for stop in stops:
                stop()

        return async_stop

    @callback
    def _async_presence_to_models(self) -> None:
        """Tell the models who is home now: a change while the first fit ran was heard by no one."""
        models = self.models
        if models is None or not self.learning:
            return
        channels = self.state.observations.channels
        latest = sorted(
            (buffer.times[-1], entity_id, buffer.values[-1])
            for entity_id, role in self.roles.items()
            if role == ROLE_PRESENCE and (buffer := channels.get(entity_id)) is not None and buffer.times
        )
        for ts, entity_id, value in latest:  # in time order: who left last is when the home emptied
            models.check_event(entity_id, value, ts)

    @callback
    def _async_fitted(self) -> None:
        # SmartML may hold the days the recorder could not give by now: its repair clears.
        async_check_recorder(self.hass, self.config_entry.entry_id, self.state, self.roles, self.fitter.history_days)
        if not self._retraining:  # a retrain predicts right after its fit itself
            self.config_entry.async_create_task(self.hass, self.async_refresh(), f"{DOMAIN} predict after fit")

    @callback
    def _async_fit_started(self) -> None:
        if self.data is not None:
            self.data = self._summary(time.time(), self.data.prediction)
            self.async_update_listeners()

    @callback
    def _async_new_observation(self, entity_id: str, role: str, ts: float) -> None:
        """Check each new observation for anomalies and notice manual thermostat changes."""
        if role == ROLE_CLIMATE:
            self.setpoints.note_setpoint_change(entity_id, ts)
            return
        models = self.models
        if models is None or not self.learning or role not in BINARY_ROLES:
            return
        buffer = self.state.observations.channels[entity_id]
        if buffer.times[-1] != ts:
            return  # only its attributes changed (a phone's location, a battery): nothing happened
        if entity_id in self.activity_sensors:
            self.anomalies.async_end(KIND_ROUTINE)
        value = buffer.values[-1]
        anomaly = models.check_event(entity_id, value, ts)
        if anomaly is not None:
            self.anomalies.async_report(anomaly)

    @callback
    def _async_feedback(self, anomaly: Anomaly) -> None:
        """The user says an anomaly was normal: remember it and teach the models, once.

        Said again (a second phone, the service after the action) it teaches nothing more.
        """
        if any(taught.get("id") == anomaly.id for taught in self.state.feedback):
            return
        self.state.feedback.append(anomaly.as_json())
        del self.state.feedback[:-MAX_FEEDBACK]
        if self.models is not None:
            self.models.add_feedback(anomaly)
        self.watched.add_feedback(anomaly)
        # What a person said is on disk at once, not at the next throttled write.
        self.hass.async_create_task(self.storage.async_save_choices(), eager_start=True)

    @property
    def learning(self) -> bool:
        """Whether new states are being collected."""
        return self.state.learning

    async def async_set_learning(self, enabled: bool) -> None:
        """Pause or resume collection (persisted); returns once every entity shows it."""
        now = time.time()
        paused_at: float | None = None
        self.state.learning = enabled
        self.collector.enabled = enabled
        if enabled:
            # A thermostat changed by hand while paused is held as if the change was heard.
            for entity_id, role in self.roles.items():
                if role == ROLE_CLIMATE:
                    self.setpoints.note_unheard_change(entity_id)
            # What changed while paused is known from now on, to the models too.
            self.collector.async_record_current(since=now)
            self._async_presence_to_models()
            paused_at = self.state.settings.pop(SETTING_PAUSED_AT, None)
        else:
            self.state.settings.setdefault(SETTING_PAUSED_AT, now)
        # Both files now: the observations end where the pause began, or start again where
        # it ended, so a restart fills from the recorder only time that was learned from.
        await self.storage.async_save_now()
        if isinstance(paused_at, int | float) and paused_at < now:
            # Nothing was heard while paused: the states before it did not hold through it.
            await self.async_exclude_period(ExcludedPeriod(float(paused_at), now, (), REASON_PAUSED))
        if self.data is not None:
            self.data = self._summary(time.time(), self.data.prediction)
        await self.async_tell_listeners()

    async def async_set_auto_apply(self, climate_id: str, enabled: bool) -> None:
        """Turn auto-apply on or off for a thermostat; returns once every entity shows it."""
        self.setpoints.set_auto_apply(climate_id, enabled)
        await self.storage.async_save_choices()
        await self.async_tell_listeners()

    async def async_bootstrap(self) -> ImportResult:
        """Merge recorder history of entities not bootstrapped yet, and of the time since the last save."""
        until = self.state.observed_until
        if until is not None and self.recovery is None:
            # While learning is paused, the time since the last save is what the pause leaves out.
            refilled = await async_fill_gap(self.hass, self.state, self.roles) if self.learning else ImportResult()
            gap = max(0.0, time.time() - until) / 60.0
            self.recovery = Recovery(self._restored, until, refilled.added, round(gap, 1))
        result = await async_bootstrap_missing(
            self.hass, self.config_entry.entry_id, self.state, self.roles, self.fitter.history_days
        )
        self.storage.schedule_save()
        return result

    @callback
    def async_rename_entity(self, old: str, new: str) -> None:
        """Follow an entity id change: keep what was learned under the new id."""
        self.state.rename_entity(old, new)
        self.watched.rename(old, new)
        self.storage.schedule_save()

    async def async_import_history(self, path: str) -> ImportResult:
        """Import a history CSV export and refit."""
        result = await async_import_csv(self.hass, self.state.observations, self.roles, path)
        await self.storage.async_save_now()
        await self.async_retrain()
        return result

    async def async_exclude_period(self, period: ExcludedPeriod) -> int:
        """Learn nothing from a period: kept with the household's choices, then a refit without it.

        Returns how many periods are now excluded.
        """
        self.state.excluded.append(period)
        self.state.update_excluded()
        await self.storage.async_save_choices()
        await self.async_retrain()
        return len(self.state.excluded)

    async def async_remove_excluded_periods(self, start: float, end: float) -> int:
        """Learn again from the periods excluded by service that overlap [start, end]; returns how many."""
        if removed := self.state.remove_excluded(start, end):
            await self.storage.async_save_choices()
            await self.async_retrain()
        return removed

    async def async_forget_data(self, entity_id: str, start: float, end: float) -> int:
        """Drop an entity's readings in [start, end] (a bad spike) and refit; returns how many.

        The span stays excluded for the models that read the entity, so a recorder
        read-back after a restart cannot teach it again; only up to now, as readings still
        to come are not forgotten.
        """
        now = time.time()
        forgotten = self.state.observations.forget_between(entity_id, start, end, now)
        if forgotten:
            await self.storage.async_save_observations()
            await self.async_exclude_period(ExcludedPeriod(start, min(end, now), (entity_id,), REASON_FORGOTTEN))
        return forgotten

    async def async_retrain(self) -> None:
        """Refit now, then predict with the new models."""
        self._retraining = True
        try:
            await self.fitter.async_refresh()
        finally:
            self._retraining = False
        await self.async_refresh()

    async def async_reset(self) -> None:
        """Forget everything learned and start again from the recorder history."""
        self.state.forget()
        self.watched.reset()
        self.anomalies.forget_incidents()
        self.fitter.async_forget()
        await self.async_bootstrap()
        await self.storage.async_save_now()
        await self.async_retrain()

    def _status(self) -> str:
        if self.fitter.fitting:
            return STATUS_TRAINING
        if not self.state.learning:
            return STATUS_PAUSED
        # Watched sensors alarm on their own detectors, with no model fit behind them.
        watching = any(sensor["ready"] for sensor in self.watched.status().values())
        return STATUS_READY if self.fitter.data.report.any_ready or watching else STATUS_COLLECTING

    def _summary(self, now: float, prediction: HomePrediction | None) -> SmartMLData:
        observations = self.state.observations
        outcome = self.fitter.data
        return SmartMLData(
            status=self._status(),
            status_reason="; ".join(
                [
                    *say_fit_report(
                        outcome.report.notes,
                        outcome.report.reasons,
                        self._reason_texts,
                        lambda entity_id: self.climate_names.get(entity_id, entity_id),
                    ),
                    *self._thermal_reasons(prediction),
                ]
            ),
            observations=observations.total_points,
            days_covered=round(days_covered(observations, now), 2),
            skipped=dict(observations.skipped),
            prediction=prediction,
            fitted_at=outcome.fitted_at,
            fit_seconds=round(outcome.report.seconds, 3),
            recovery=self.recovery,
        )

    def _thermal_reasons(self, prediction: HomePrediction | None) -> list[str]:
        """Why each thermostat shows no heating rate yet, in the user's language."""
        if prediction is None:
            return []
        reasons: list[str] = []
        for climate_id, zone in sorted(prediction.climate.items()):
            if zone.thermal_untrusted is None or (template := self._reason_texts.get(zone.thermal_untrusted)) is None:
                continue
            explained = "0" if zone.thermal_r2 is None else f"{max(zone.thermal_r2, 0.0) * 100:.0f}"
            reasons.append(template.format(name=self.climate_names.get(climate_id, climate_id), r2=explained))
        return reasons

    @paced()
    def _predict(
        self,
        models: HomeModels,
        now: float,
        presence: bool | None,
        down: list[tuple[str, float]],
        occupancy_now: list[tuple[str, str, float]],
    ) -> tuple[HomePrediction, dict[str, JsonObject]]:
        """Worker: predictions from the recent part of the observations, and the live scores they moved.

        down: the entities unavailable now, with how long they have been; occupancy_now:
        what the occupancy sensors say that the observations do not (`_occupancy_now`).
        The scores are written out here: a week of rows per area is too long for the loop.
        """
        snapshot = self.state.observations.snapshot(since=now - PREDICT_LOOKBACK_SECONDS)
        for entity_id, state, since in occupancy_now:
            snapshot.add_state(entity_id, ROLE_OCCUPANCY, state, since)
        prediction = models.predict(snapshot, now, presence, frozenset(entity_id for entity_id, _ in down))
        return prediction, models.live_state(SCORED_MODELS)

    def _occupancy_now(self, now: float, down: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
        """What the occupancy sensors say of now that the observations do not: (entity, state, since).

        A sensor gone offline says nothing of now: its last "on" would keep its area in use
        until it is back, so it ends when the sensor went. While learning is paused nothing
        is collected, yet the predictions follow the home as it is.
        """
        offline = dict(down)
        out: list[tuple[str, str, float]] = []
        for entity_id in self.occupancy_sensors:
            if entity_id in offline:
                out.append((entity_id, STATE_OFF, now - offline[entity_id]))
            elif not self.learning and (state := self.hass.states.get(entity_id)) is not None:
                out.append((entity_id, state.state, state.last_changed_timestamp))
        return out

    def _unavailable(self, now: float, entity_ids: Iterable[str]) -> list[tuple[str, float]]:
        """These entities, where unavailable (or unknown) now, with how long they have been."""
        out: list[tuple[str, float]] = []
        for entity_id in entity_ids:
            state = self.hass.states.get(entity_id)
            if state is not None and state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                out.append((entity_id, now - state.last_changed.timestamp()))
        return out

    @callback
    def _async_check_sensors(self, models: HomeModels, now: float, unavailable: list[tuple[str, float]]) -> None:
        """Raise (or clear) the repair issue of sensors unavailable, or silent far longer than ever."""
        observations = self.state.observations
        last_change = {
            entity_id: last
            for entity_id in self.activity_sensors
            if (last := observations.last_time(entity_id)) is not None
        }
        problems = sorted(
            {e for e, seconds in unavailable if seconds >= SENSOR_UNAVAILABLE_SECONDS}
            | set(models.silent_sensors(now, last_change))
        )
        self._async_entities_issue(ISSUE_SENSOR_SILENT, [entity_name(self.hass, e) for e in problems])

    @callback
    def _async_check_missing(self, now: float) -> None:
        """Raise (or clear) the repair issue of chosen entities that no longer exist at all.

        Only once Home Assistant has run a while: an entity of YAML, without a registry
        entry, has no state either until its integration is up.
        """
        if not self.hass.is_running or now - self._set_up_at < ENTITY_MISSING_AFTER_SECONDS:
            return
        registry = er.async_get(self.hass)
        calendar = self.config_entry.options.get(CONF_EXCLUDE_CALENDAR)
        missing = sorted(
            entity_id
            for entity_id in [*self.roles, *([calendar] if calendar else [])]
            if self.hass.states.get(entity_id) is None and registry.async_get(entity_id) is None
        )
        self._async_entities_issue(ISSUE_ENTITY_MISSING, missing)

    @callback
    def _async_entities_issue(self, key: str, entities: list[str]) -> None:
        """Raise the repair issue `key` of this entry naming these entities; clear it when there are none."""
        issue_id = f"{key}_{self.config_entry.entry_id}"
        if not entities:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"entities": ", ".join(entities)},
        )

    async def _async_update_data(self) -> SmartMLData:
        if not self._reason_texts:
            self._reason_texts = await async_exception_texts(self.hass)
        now = time.time()
        # A sensor that holds its value writes no new state: its last five minutes are over all the same.
        self.state.observations.close_passed(now)
        models = self.models
        prediction: HomePrediction | None = None
        if models is not None and self.fitter.data.report.any_ready and not self.worker.stopped:
            down = self._unavailable(now, self.roles)
            resets = self.fitter.resets
            predicted, scores = await self.worker.async_run(
                self._predict, models, now, presence_now(self.hass, self.spec), down, self._occupancy_now(now, down)
            )
            prediction = predicted
            if self.fitter.resets != resets or self.worker.stopped:
                # smartml.reset while it ran: nothing of the forgotten models is told or kept.
                # Unloaded or Home Assistant stopping: nothing is told, raised or set any more.
                return self._summary(now, None)
            unavailable = [(entity_id, seconds) for entity_id, seconds in down if entity_id in self.activity_sensors]
            # Paused, the models hear no events: the routine is not checked (it takes the pause
            # for time not watched), nor are the sensors, and nothing found is told.
            due = models.due_anomalies(now, [e for e, _ in unavailable], watching=self.learning)
            self.anomalies.async_report_new(
                [*predicted.anomalies, *due], self.learning, self.has_energy_anomalies, self.has_routine_anomalies
            )
            if self.learning:
                self._async_check_sensors(models, now, unavailable)
            else:
                # Paused, no sensor is watched: a sensor told silent may be back meanwhile.
                self._async_entities_issue(ISSUE_SENSOR_SILENT, [])
            self.state.keep_live({**models.live_state(WATCHING_MODELS), **scores})
            self.storage.schedule_save()
        watched = await self.watched.async_update(now)
        if self.worker.stopped:
            return self._summary(now, prediction)
        self.anomalies.async_report_new(watched, self.learning, self.has_energy_anomalies)
        self._async_check_missing(now)
        if prediction is not None and self.learning:
            # Last: thermostats answer in their own time (a cloud one may be slow or refuse).
            # Paused, SmartML does not hear a change by hand, so it sets nothing by itself.
            await self.setpoints.async_auto_apply(prediction.climate)
        return self._summary(now, prediction)


@dataclass(slots=True)
class SmartMLRuntime:
    """What an entry holds while it is loaded."""

    coordinator: SmartMLCoordinator


type SmartMLConfigEntry = ConfigEntry[SmartMLRuntime]
