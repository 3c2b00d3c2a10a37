"""Coordinator: owns the observations, the collector and the models of one entry.

It predicts every minute and refits every few hours (or on `smartml.retrain`); both run
in the executor on a snapshot of the observations, so the event loop only ever appends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from sqlalchemy.exc import SQLAlchemyError

from .anomalies import AnomalyManager
from .collector import Collector
from .const import (
    CONF_AREAS,
    CONF_CLIMATE,
    CONF_ENERGY,
    CONF_ENERGY_ANOMALIES,
    CONF_HISTORY_DAYS,
    CONF_NOTIFY,
    CONF_OCCUPANCY,
    CONF_POWER,
    CONF_PRESENCE,
    CONF_SECURITY,
    CONF_SECURITY_SENSORS,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_MANUAL_HOLD_MINUTES,
    DEFAULT_MAX_SETPOINT,
    DEFAULT_MIN_SETPOINT,
    DOMAIN,
    ENERGY_STATISTICS_DAYS,
    KIND_ENERGY,
    LOGGER,
    MAX_FEEDBACK,
    PREDICT_INTERVAL,
    REFIT_INTERVAL,
    RETENTION_DAYS_MIN,
    SECTION_CLIMATE,
    SECTION_ENERGY,
    SECTION_HOME,
    SECTION_OCCUPANCY,
    SETPOINT_TOLERANCE,
    STATUS_COLLECTING,
    STATUS_PAUSED,
    STATUS_READY,
    STATUS_TRAINING,
)
from .engine.home import DAY_SECONDS, FitReport, days_covered
from .engine.memory import release_freed_memory
from .engine.observations import ATTR_SETPOINT, BINARY_ROLES, CHANNEL_SEP, ROLE_CLIMATE, entity_roles
from .engine.pacing import paced
from .history import (
    ImportResult,
    async_bootstrap,
    async_check_recorder,
    async_hourly_energy,
    async_import_csv,
    recorder_available,
)
from .store import LearnedState, SmartMLStorage
from .watch import WatchedSensors, watched_roles

if TYPE_CHECKING:
    from .engine.home import HomeModels

# Predictions look back this far (state in force, recent activity); the rest is not copied.
PREDICT_LOOKBACK_SECONDS = 8 * DAY_SECONDS
# Entities told of new data per step of the event loop: a large home has well over a
# hundred SmartML entities, and writing all their states in one step stalls the loop.
LISTENERS_PER_STEP = 16


@dataclass(slots=True)
class SmartMLData:
    """What the entities read after each refresh."""

    status: str = STATUS_COLLECTING
    status_reason: str = ""
    observations: int = 0
    days_covered: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    fitted_at: float | None = None
    fit_seconds: float | None = None


def build_spec(options: Mapping[str, Any], time_zone: str) -> dict[str, Any]:
    """The home spec (DESIGN.md) of an entry: its options plus the home's time zone."""
    return {**options, "timezone": time_zone}


def forecast_response(predictions: Mapping[str, Any], areas: list[str], hours: int) -> dict[str, Any]:
    """The smartml.get_forecast response: hourly occupancy per area (and home), and energy."""
    occupancy = predictions.get(SECTION_OCCUPANCY) or {}
    by_area = occupancy.get("areas") or {}
    scopes = {
        area: (occupancy.get(SECTION_HOME) if area == SECTION_HOME else by_area.get(area)) or {} for area in areas
    }
    response: dict[str, Any] = {
        "occupancy": {area: list(scope.get("forecast", []))[:hours] for area, scope in scopes.items()}
    }
    if energy := predictions.get(SECTION_ENERGY):
        response["energy"] = list(energy.get("forecast", []))[:hours]
    return response


def _entity_name(hass: HomeAssistant, entity_id: str) -> str:
    """A friendly name, also before the entity has a state (SmartML may start first)."""
    if state := hass.states.get(entity_id):
        return state.name
    if (entry := er.async_get(hass).async_get(entity_id)) and (entry.name or entry.original_name):
        return str(entry.name or entry.original_name)
    return entity_id.partition(".")[2].replace("_", " ").capitalize()


def rename_in_options(options: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """Entry options with one entity id replaced everywhere it is listed."""

    def swap(value: Any) -> Any:
        if value == old:
            return new
        if isinstance(value, list):
            return [swap(item) for item in value]
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        return value

    renamed: dict[str, Any] = swap(dict(options))
    return renamed


@dataclass(frozen=True, slots=True)
class _Carried:
    """What a refit takes over from before it, copied in the event loop."""

    feedback: list[dict[str, Any]]
    saved: dict[str, Any]
    hourly_energy: tuple[list[float], list[float]] | None


class SmartMLCoordinator(DataUpdateCoordinator[SmartMLData]):
    """Schedules prediction and refits and owns the learned state of one entry."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, storage: SmartMLStorage, state: LearnedState) -> None:
        """Set up from the loaded (or fresh) learned state."""
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=PREDICT_INTERVAL)
        self.storage = storage
        self.state = state
        self.spec = build_spec(entry.options, hass.config.time_zone)
        self.roles = watched_roles(entry.options, entity_roles(self.spec))
        self.history_days = int(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        self.collector = Collector(hass, state.observations, self.roles, self._async_observed)
        self.collector.enabled = state.learning
        self.models: HomeModels | None = None
        self.hourly_energy: tuple[list[float], list[float]] | None = None
        self.report = FitReport()
        options = entry.options
        areas = options.get(CONF_AREAS) or {}
        registry = ar.async_get(hass)
        self.area_names = {
            area_id: (area.name if (area := registry.async_get_area(area_id)) else area_id) for area_id in areas
        }
        self.climate_names = {entity_id: _entity_name(hass, entity_id) for entity_id in options.get(CONF_CLIMATE) or []}
        self.has_occupancy = bool(areas or options.get(CONF_PRESENCE) or options.get(CONF_OCCUPANCY))
        self.has_security = bool(options.get(CONF_SECURITY) or options.get(CONF_SECURITY_SENSORS)) or self.has_occupancy
        self.has_energy = bool(options.get(CONF_POWER) or options.get(CONF_ENERGY))
        self.has_energy_anomalies = self.has_energy and bool(options.get(CONF_ENERGY_ANOMALIES, True))
        self.anomalies = AnomalyManager(hass, options.get(CONF_NOTIFY), self._async_feedback)
        self.watched = WatchedSensors(hass, state, options, lambda e: _entity_name(hass, e), storage.schedule_save)
        # When SmartML last set each thermostat, and when someone else last changed it.
        self.applied_setpoints: dict[str, tuple[float, float]] = {}
        self.manual_changes: dict[str, float] = {}
        self._fit_requested = True
        self._fitting = False
        self._last_fit: float | None = None
        # One worker thread of our own for fits and predictions: a fit never competes with
        # another on a small machine, and the memory numpy hands back after a fit stays with
        # one thread's allocator arena for the next fit, instead of one arena per executor
        # thread growing with each refit.
        self._worker: ThreadPoolExecutor | None = None
        self._listener_sweep: asyncio.Task[None] | None = None
        storage.attach(state.as_dict)
        # Entities removed from the options are forgotten; kept ones keep what they learned.
        state.observations.drop_entities(self.roles)
        for entity_id in [e for e in state.bootstrapped if e not in self.roles]:
            del state.bootstrapped[entity_id]

    @callback
    def async_update_listeners(self) -> None:
        """Tell the entities of new data, a few per step of the event loop.

        The first few are told at once; a sweep still running restarts with the newest data.
        """
        if self._listener_sweep is not None and not self._listener_sweep.done():
            self._listener_sweep.cancel()
        self._listener_sweep = self.config_entry.async_create_task(
            self.hass, self._async_sweep_listeners(), f"{DOMAIN} entity updates", eager_start=True
        )

    async def _async_tell_listeners(self) -> None:
        """Update the entities and wait until all of them are (for user actions)."""
        self.async_update_listeners()
        while (sweep := self._listener_sweep) is not None and not sweep.done():
            await asyncio.wait([sweep])

    async def _async_sweep_listeners(self) -> None:
        listeners = list(self._listeners.items())
        for first in range(0, len(listeners), LISTENERS_PER_STEP):
            if first:
                await asyncio.sleep(0)
            for listener_id, (update, _context) in listeners[first : first + LISTENERS_PER_STEP]:
                if listener_id in self._listeners:  # its entity may have gone meanwhile
                    update()

    @callback
    def _async_observed(self) -> None:
        self.storage.schedule_save()

    async def _async_in_worker[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run model work in SmartML's worker thread."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{DOMAIN}_models")
        return await self.hass.loop.run_in_executor(self._worker, _run_and_release, func, *args)

    async def async_shutdown(self) -> None:
        """Stop refreshing and let the worker thread finish (entry unloaded)."""
        await super().async_shutdown()
        await self._async_stop_worker()

    async def _async_stop_worker(self, _event: Event | None = None) -> None:
        if (worker := self._worker) is not None:
            self._worker = None
            await self.hass.async_add_executor_job(worker.shutdown)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Start collecting and listening; returns what stops it all."""
        stops = [
            self.collector.async_start(),
            self.collector.add_listener(self._async_new_observation),
            self.anomalies.async_start(),
            # Entries are not unloaded when Home Assistant stops; the worker must end anyway.
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_stop_worker),
        ]

        @callback
        def async_stop() -> None:
            for stop in stops:
                stop()

        return async_stop

    @callback
    def _async_new_observation(self, entity_id: str, role: str, ts: float) -> None:
        """Check each new observation for anomalies and notice manual thermostat changes."""
        if role == ROLE_CLIMATE:
            self._note_setpoint_change(entity_id, ts)
            return
        models = self.models
        if models is None or not self.learning or role not in BINARY_ROLES:
            return
        value = self.state.observations.channels[entity_id].values[-1]
        anomaly = models.check_event(entity_id, value, ts, self._home_occupied_now())
        if anomaly is not None:
            self.anomalies.async_report(anomaly)

    def _note_setpoint_change(self, entity_id: str, ts: float) -> None:
        channel = self.state.observations.channels.get(f"{entity_id}{CHANNEL_SEP}{ATTR_SETPOINT}")
        if channel is None or not channel.values or channel.times[-1] != ts:
            return
        applied = self.applied_setpoints.get(entity_id)
        if applied is None or abs(applied[0] - channel.values[-1]) > SETPOINT_TOLERANCE:
            self.manual_changes[entity_id] = ts

    def _home_occupied_now(self) -> bool | None:
        """Anyone home now by the presence entities, else by the occupancy prediction."""
        presence = self.spec.get(CONF_PRESENCE) or []
        states = [s.state for e in presence if (s := self.hass.states.get(e)) is not None]
        known = [state for state in states if state not in ("unknown", "unavailable")]
        if known:
            return any(state == "home" for state in known)
        home = (self.data.predictions.get(SECTION_OCCUPANCY) or {}).get(SECTION_HOME) if self.data else None
        return None if not home else bool(home.get("occupied_now", home["probability"] >= 0.5))

    @callback
    def _async_feedback(self, anomaly: dict[str, Any]) -> None:
        """The user says an anomaly was normal: remember it and teach the models."""
        self.state.feedback.append(anomaly)
        del self.state.feedback[:-MAX_FEEDBACK]
        if self.models is not None:
            self.models.add_feedback(anomaly)
        self.watched.add_feedback(anomaly)
        self.storage.schedule_save()

    @property
    def learning(self) -> bool:
        """Whether new states are being collected."""
        return self.state.learning

    async def async_set_learning(self, enabled: bool) -> None:
        """Pause or resume collection (persisted); returns once every entity shows it."""
        self.state.learning = enabled
        self.collector.enabled = enabled
        self.storage.schedule_save()
        if self.data is not None:
            self.data.status = self._status()
        await self._async_tell_listeners()

    async def async_bootstrap(self) -> ImportResult:
        """Merge recorder history of entities not bootstrapped yet."""
        async_check_recorder(self.hass, self.config_entry.entry_id, self.roles, self.history_days)
        missing = sorted(e for e in self.roles if e not in self.state.bootstrapped)
        if not missing or not recorder_available(self.hass):
            return ImportResult()  # read once the recorder is there
        try:
            result = await async_bootstrap(self.hass, self.state.observations, self.roles, missing, self.history_days)
        except (SQLAlchemyError, HomeAssistantError, OSError) as err:
            # Start without history rather than not at all; the next start tries again.
            LOGGER.warning("SmartML could not read the recorder history, learning from live states: %s", err)
            return ImportResult()
        now = time.time()
        for entity_id in missing:
            self.state.bootstrapped[entity_id] = now
        self.storage.schedule_save()
        return result

    @callback
    def async_rename_entity(self, old: str, new: str) -> dict[str, Any]:
        """Follow an entity id change: keep what was learned, return the updated options."""
        self.state.observations.rename_entity(old, new)
        if old in self.state.bootstrapped:
            self.state.bootstrapped[new] = self.state.bootstrapped.pop(old)
        self.watched.rename(old, new)
        self.storage.schedule_save()
        return rename_in_options(self.config_entry.options, old, new)

    async def async_import_history(self, path: str) -> ImportResult:
        """Import a history CSV export and refit."""
        result = await async_import_csv(self.hass, self.state.observations, self.roles, path)
        self.storage.schedule_save()
        await self.async_retrain()
        return result

    async def async_retrain(self) -> None:
        """Refit now."""
        self._fit_requested = True
        await self.async_refresh()

    async def async_reset(self) -> None:
        """Forget everything learned and start again from the recorder history."""
        self.state.observations.channels.clear()
        self.state.observations.roles.clear()
        self.state.observations.skipped.clear()
        self.state.bootstrapped.clear()
        self.state.feedback.clear()
        self.state.models.clear()
        self.watched.reset()
        self.models = None
        await self.async_bootstrap()
        await self.storage.async_save_now()
        await self.async_retrain()

    async def async_apply_setpoint(
        self,
        climate_id: str,
        manual_hold_minutes: float = DEFAULT_MANUAL_HOLD_MINUTES,
        *,
        raise_on_refusal: bool = True,
    ) -> float | None:
        """Set a thermostat to its predicted setpoint within the guard rails; returns what was set."""
        zone = (self.data.predictions.get(SECTION_CLIMATE) or {}).get(climate_id)
        state = self.hass.states.get(climate_id)
        reason: str | None = None
        setpoint: float | None = None
        if zone is None:
            reason = "no_prediction"
        elif state is None or state.state in ("unknown", "unavailable"):
            reason = "climate_unavailable"
        else:
            from .engine.guard import guarded_setpoint

            setpoint, reason = guarded_setpoint(
                float(zone["setpoint"]),
                min_temp=float(state.attributes.get("min_temp", DEFAULT_MIN_SETPOINT)),
                max_temp=float(state.attributes.get("max_temp", DEFAULT_MAX_SETPOINT)),
                hvac_mode=state.state,
                last_manual_change=self.manual_changes.get(climate_id),
                now=time.time(),
                manual_hold_minutes=manual_hold_minutes,
            )
        if setpoint is None:
            if raise_on_refusal:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=f"setpoint_{reason}",
                    translation_placeholders={"entity_id": climate_id},
                )
            return None
        self.applied_setpoints[climate_id] = (setpoint, time.time())
        await self.hass.services.async_call(
            "climate", "set_temperature", {"entity_id": climate_id, "temperature": setpoint}, blocking=True
        )
        return setpoint

    async def _async_auto_apply(self, zones: Mapping[str, Any]) -> None:
        """Apply predicted setpoints to the thermostats whose auto-apply switch is on."""
        for climate_id in self.auto_apply:
            zone = zones.get(climate_id)
            state = self.hass.states.get(climate_id)
            if zone is None or state is None:
                continue
            current = state.attributes.get(ATTR_SETPOINT)
            if isinstance(current, (int, float)) and abs(current - zone["setpoint"]) < SETPOINT_TOLERANCE:
                continue
            await self.async_apply_setpoint(climate_id, raise_on_refusal=False)

    @property
    def auto_apply(self) -> list[str]:
        """Thermostats SmartML keeps at the predicted setpoint (persisted)."""
        zones: list[str] = self.state.settings.setdefault("auto_apply", [])
        return zones

    async def async_set_auto_apply(self, climate_id: str, enabled: bool) -> None:
        """Turn auto-apply on or off for a thermostat; returns once every entity shows it."""
        zones = self.auto_apply
        if enabled and climate_id not in zones:
            zones.append(climate_id)
        elif not enabled and climate_id in zones:
            zones.remove(climate_id)
        self.storage.schedule_save()
        await self._async_tell_listeners()

    def _status(self) -> str:
        if self._fitting:
            return STATUS_TRAINING
        if not self.state.learning:
            return STATUS_PAUSED
        # Watched sensors alarm on their own detectors, with no model fit behind them.
        watching = any(sensor["ready"] for sensor in self.watched.status().values())
        return STATUS_READY if self.report.any_ready or watching else STATUS_COLLECTING

    async def _async_read_statistics(self) -> None:
        """Hourly consumption from long-term statistics, which outlive the recorder's states."""
        options = self.config_entry.options
        self.hourly_energy = await async_hourly_energy(
            self.hass,
            list(options.get(CONF_ENERGY) or []),
            list(options.get(CONF_POWER) or []),
            max(self.history_days, ENERGY_STATISTICS_DAYS),
        )

    @paced()
    def _fit(self, now: float, carried: _Carried) -> tuple[HomeModels, FitReport]:
        """Executor: build and fit the models on a snapshot of the observations."""
        from .engine.home import HomeModels

        retention = max(self.history_days, RETENTION_DAYS_MIN) * DAY_SECONDS
        snapshot = self.state.observations.snapshot(since=now - retention)
        models = HomeModels(
            self.spec,
            self.config_entry.options,
            feedback=carried.feedback,
            saved=carried.saved,
            hourly_energy=carried.hourly_energy,
        )
        return models, models.fit(snapshot, now)

    @paced()
    def _predict(self, models: HomeModels, now: float, home_occupied: bool | None) -> dict[str, Any]:
        """Executor: predictions from the recent part of the observations."""
        snapshot = self.state.observations.snapshot(since=now - PREDICT_LOOKBACK_SECONDS)
        return models.predict(snapshot, now, home_occupied)

    async def _async_update_data(self) -> SmartMLData:
        now = time.time()
        refit_due = self._last_fit is None or now - self._last_fit >= REFIT_INTERVAL.total_seconds()
        if self._fit_requested or refit_due:
            self._fit_requested = False
            self._last_fit = now
            self.state.observations.prune_before(now - max(self.history_days, RETENTION_DAYS_MIN) * DAY_SECONDS)
            self._fitting = True
            if self.has_energy:
                await self._async_read_statistics()
            if self.data is not None:
                self.data.status = STATUS_TRAINING
                self.async_update_listeners()
            try:
                # What the models learned live (scores, reported periods, feedback) carries over.
                carried = _Carried(list(self.state.feedback), dict(self.state.models), self.hourly_energy)
                self.models, self.report = await self._async_in_worker(self._fit, now, carried)
            finally:
                self._fitting = False
        predictions: dict[str, Any] = {}
        if self.models is not None and self.report.any_ready:
            predictions = await self._async_in_worker(self._predict, self.models, now, self._home_occupied_now())
            due = predictions.pop("anomalies", []) + self.models.due_anomalies(now)
            if self.learning:
                known = {a["id"] for a in self.anomalies.recent}
                for anomaly in due:
                    if anomaly["id"] not in known and (anomaly["kind"] != KIND_ENERGY or self.has_energy_anomalies):
                        self.anomalies.async_report(anomaly)
            self.state.models.update(self.models.live_state())
            self.storage.schedule_save()
            await self._async_auto_apply(predictions.get(SECTION_CLIMATE, {}))
        for anomaly in await self.watched.async_update(now):
            if self.learning:
                self.anomalies.async_report(anomaly)
        observations = self.state.observations
        return SmartMLData(
            status=self._status(),
            status_reason="; ".join(f"{k}: {v}" for k, v in sorted(self.report.reasons.items())),
            observations=observations.total_points,
            days_covered=round(days_covered(observations, now), 2),
            skipped=dict(observations.skipped),
            predictions=predictions,
            fitted_at=self._last_fit,
            fit_seconds=round(self.report.seconds, 3),
        )


@dataclass(slots=True)
class SmartMLRuntime:
    """What an entry holds while it is loaded."""

    coordinator: SmartMLCoordinator


type SmartMLConfigEntry = ConfigEntry[SmartMLRuntime]


def _run_and_release[T](func: Callable[..., T], *args: Any) -> T:
    """Worker: run model work, then give back the pages its temporary arrays held."""
    try:
        return func(*args)
    finally:
        release_freed_memory()
