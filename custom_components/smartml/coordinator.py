"""Coordinator: owns the observations, the collector and the models of one entry.

It predicts every minute and refits every few hours (or on `smartml.retrain`); both run
in the executor on a snapshot of the observations, so the event loop only ever appends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .collector import Collector
from .const import (
    CONF_HISTORY_DAYS,
    DEFAULT_HISTORY_DAYS,
    DOMAIN,
    LOGGER,
    PREDICT_INTERVAL,
    REFIT_INTERVAL,
    RETENTION_DAYS_MIN,
    STATUS_COLLECTING,
    STATUS_PAUSED,
    STATUS_READY,
    STATUS_TRAINING,
)
from .engine.home import DAY_SECONDS, FitReport, days_covered
from .engine.observations import entity_roles
from .history import ImportResult, async_bootstrap, async_check_recorder, async_import_csv
from .store import LearnedState, SmartMLStorage

if TYPE_CHECKING:
    from .engine.home import HomeModels

# Predictions look back this far (state in force, recent activity); the rest is not copied.
PREDICT_LOOKBACK_SECONDS = 8 * DAY_SECONDS


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


class SmartMLCoordinator(DataUpdateCoordinator[SmartMLData]):
    """Schedules prediction and refits and owns the learned state of one entry."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, storage: SmartMLStorage, state: LearnedState) -> None:
        """Set up from the loaded (or fresh) learned state."""
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, update_interval=PREDICT_INTERVAL)
        self.storage = storage
        self.state = state
        self.spec = build_spec(entry.options, hass.config.time_zone)
        self.roles = entity_roles(self.spec)
        self.history_days = int(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        self.collector = Collector(hass, state.observations, self.roles, self._async_observed)
        self.collector.enabled = state.learning
        self.models: HomeModels | None = None
        self.report = FitReport()
        self._fit_requested = True
        self._fitting = False
        self._last_fit: float | None = None
        storage.attach(state.as_dict)
        # Entities removed from the options are forgotten; kept ones keep what they learned.
        state.observations.drop_entities(self.roles)
        for entity_id in [e for e in state.bootstrapped if e not in self.roles]:
            del state.bootstrapped[entity_id]

    @callback
    def _async_observed(self) -> None:
        self.storage.schedule_save()

    @property
    def learning(self) -> bool:
        """Whether new states are being collected."""
        return self.state.learning

    @callback
    def async_set_learning(self, enabled: bool) -> None:
        """Pause or resume collection (persisted)."""
        self.state.learning = enabled
        self.collector.enabled = enabled
        self.storage.schedule_save()
        if self.data is not None:
            self.data.status = self._status()
        self.async_update_listeners()

    async def async_bootstrap(self) -> ImportResult:
        """Merge recorder history of entities not bootstrapped yet."""
        async_check_recorder(self.hass, self.config_entry.entry_id, self.roles, self.history_days)
        missing = sorted(e for e in self.roles if e not in self.state.bootstrapped)
        result = await async_bootstrap(self.hass, self.state.observations, self.roles, missing, self.history_days)
        now = time.time()
        for entity_id in missing:
            self.state.bootstrapped[entity_id] = now
        if missing:
            self.storage.schedule_save()
        return result

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
        self.models = None
        await self.async_bootstrap()
        await self.storage.async_save_now()
        await self.async_retrain()

    def _status(self) -> str:
        if self._fitting:
            return STATUS_TRAINING
        if not self.state.learning:
            return STATUS_PAUSED
        return STATUS_READY if self.report.any_ready else STATUS_COLLECTING

    def _fit(self, now: float) -> tuple[HomeModels, FitReport]:
        """Executor: build and fit the models on a snapshot of the observations."""
        from .engine.home import HomeModels

        retention = max(self.history_days, RETENTION_DAYS_MIN) * DAY_SECONDS
        snapshot = self.state.observations.snapshot(since=now - retention)
        models = HomeModels(self.spec, self.config_entry.options)
        return models, models.fit(snapshot, now)

    def _predict(self, models: HomeModels, now: float) -> dict[str, Any]:
        """Executor: predictions from the recent part of the observations."""
        snapshot = self.state.observations.snapshot(since=now - PREDICT_LOOKBACK_SECONDS)
        return models.predict(snapshot, now)

    async def _async_update_data(self) -> SmartMLData:
        now = time.time()
        refit_due = self._last_fit is None or now - self._last_fit >= REFIT_INTERVAL.total_seconds()
        if self._fit_requested or refit_due:
            self._fit_requested = False
            self._last_fit = now
            self.state.observations.prune_before(now - max(self.history_days, RETENTION_DAYS_MIN) * DAY_SECONDS)
            self._fitting = True
            if self.data is not None:
                self.data.status = STATUS_TRAINING
                self.async_update_listeners()
            try:
                self.models, self.report = await self.hass.async_add_executor_job(self._fit, now)
            finally:
                self._fitting = False
        predictions: dict[str, Any] = {}
        if self.models is not None and self.report.any_ready:
            predictions = await self.hass.async_add_executor_job(self._predict, self.models, now)
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
