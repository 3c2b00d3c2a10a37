"""The refit coordinator: every few hours (or on `smartml.retrain`) the models are fitted anew.

A fit runs in SmartML's worker thread on a snapshot of the observations, so the event
loop only ever appends. Its result, the fitted models and a report of which are ready, is
what the prediction coordinator predicts with until the next fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, CoreState, HomeAssistant, callback
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .calendar_days import async_calendar_periods
from .const import (
    CONF_DEVICES,
    CONF_ENERGY,
    CONF_EXCLUDE_CALENDAR,
    CONF_HISTORY_DAYS,
    CONF_POWER,
    DEFAULT_HISTORY_DAYS,
    DOMAIN,
    ENERGY_STATISTICS_DAYS,
    LOGGER,
    REFIT_INTERVAL,
    RETENTION_DAYS_MIN,
)
from .engine.constants import DAY_SECONDS, DEVICE_LEARN_DAYS, MODEL_ENERGY, JsonObject, models_for
from .engine.home import FitReport
from .engine.pacing import paced
from .engine.results import Anomaly, AnomalyJson
from .history import async_hourly_energy, async_hourly_watts
from .store import LearnedState
from .worker import ModelWorker

if TYPE_CHECKING:
    from .engine.home import HomeModels


@dataclass(frozen=True, slots=True)
class FitOutcome:
    """The models of the last fit (None before the first) and its report."""

    models: HomeModels | None
    report: FitReport
    fitted_at: float | None


@dataclass(frozen=True, slots=True)
class _Carried:
    """What a refit takes over from before it, copied in the event loop."""

    # As stored: read in the worker (up to MAX_FEEDBACK items, milliseconds on the loop).
    feedback: list[AnomalyJson]
    saved: dict[str, JsonObject]
    hourly_energy: tuple[list[float], list[float]] | None
    device_hourly: dict[str, tuple[list[float], list[float]]]


class SmartMLFitCoordinator(DataUpdateCoordinator[FitOutcome]):
    """Refits the models of one entry on its own, slower cadence."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        state: LearnedState,
        spec: Mapping[str, Any],
        worker: ModelWorker,
        on_fit_started: Callable[[], None],
    ) -> None:
        """Fit the models of spec from state's observations in worker.

        on_fit_started is called in the event loop as a fit begins (the status shows it).
        """
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} fit", update_interval=REFIT_INTERVAL)
        self.state = state
        self.spec = spec
        self.worker = worker
        self.history_days = int(entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))
        self.hourly_energy: tuple[list[float], list[float]] | None = None
        # Per watched device with long-term statistics: (hour starts, mean W).
        self.device_hourly: dict[str, tuple[list[float], list[float]]] = {}
        self.fitting = False
        # Counts the resets: a fit (or a prediction) begun before one used what was forgotten.
        self.resets = 0
        self._on_fit_started = on_fit_started
        # Cancels the calendar's read once Home Assistant has started (pending after a failed read).
        self._calendar_retry: CALLBACK_TYPE | None = None
        self.data = FitOutcome(None, FitReport(), None)

    @property
    def models(self) -> HomeModels | None:
        """The fitted models, None before the first fit."""
        return self.data.models

    @callback
    def async_forget(self) -> None:
        """Drop the fitted models (smartml.reset); the next fit starts from scratch."""
        self.resets += 1
        self.data = FitOutcome(None, FitReport(), None)

    @property
    def retention_seconds(self) -> float:
        """How far back observations are kept and fitted on."""
        return max(self.history_days, RETENTION_DAYS_MIN) * DAY_SECONDS

    @property
    def excluded_seconds(self) -> float:
        """How far back excluded periods matter.

        Watched devices learn further back than the observations (from long-term
        statistics): a period excluded there, by the service or the calendar, must stay
        excluded as long.
        """
        return max(self.retention_seconds, DEVICE_LEARN_DAYS * DAY_SECONDS)

    async def _async_update_data(self) -> FitOutcome:
        now = time.time()
        resets = self.resets
        self.state.observations.prune_before(now - self.retention_seconds)
        self.state.prune_excluded(now - self.excluded_seconds)
        await self._async_read_calendar(now - self.excluded_seconds)
        self.fitting = True
        self._on_fit_started()
        try:
            if MODEL_ENERGY in models_for(self.spec):
                await self._async_read_statistics()
            # What the models learned live (scores, reported periods, feedback) carries over.
            carried = _Carried(
                list(self.state.feedback),
                self.state.live_states(),
                self.hourly_energy,
                self.device_hourly,
            )
            if self.worker.stopped:
                # Unloaded (or stopping) while the calendar or the statistics were read: no fit.
                return self.data
            models, report = await self.worker.async_run(self._fit, now, carried)
            if self.resets != resets:
                return self.data  # reset while it ran: what it learned is what was forgotten
            if self.data.models is not None:
                # In the event loop, so that no event falls between the carry and the swap.
                models.continue_live_from(self.data.models)
            # "It was me" said while the fit ran teaches the new models too.
            taught = {item.get("id") for item in carried.feedback}
            for item in self.state.feedback:
                if item.get("id") not in taught:
                    models.add_feedback(Anomaly.from_json(item))
        finally:
            self.fitting = False
        return FitOutcome(models, report, now)

    async def _async_read_calendar(self, since: float) -> None:
        """The calendar's days not to learn from; while it cannot be read, the last known stay.

        At startup the calendar's entity is often not up yet: it is read again once Home
        Assistant has started, and a difference refits.
        """
        calendar = self.config_entry.options.get(CONF_EXCLUDE_CALENDAR)
        periods = await async_calendar_periods(self.hass, calendar, since) if calendar else []
        if periods is not None:
            self.state.calendar_excluded = periods
        elif self._calendar_retry is None and self.hass.state is not CoreState.running:
            self._calendar_retry = async_at_started(self.hass, self._async_calendar_up)
        self.state.update_excluded()

    async def _async_calendar_up(self, _hass: HomeAssistant) -> None:
        """Home Assistant has started: refit if the calendar now tells other days than the last known."""
        self._calendar_retry = None
        calendar = str(self.config_entry.options.get(CONF_EXCLUDE_CALENDAR))
        periods = await async_calendar_periods(self.hass, calendar, time.time() - self.excluded_seconds)
        if periods is not None and periods != self.state.calendar_excluded:
            await self.async_request_refresh()

    async def async_shutdown(self) -> None:
        """Stop refitting (entry unloaded)."""
        if self._calendar_retry is not None:
            self._calendar_retry()
            self._calendar_retry = None
        await super().async_shutdown()

    async def _async_read_statistics(self) -> None:
        """Hourly consumption and devices' power from long-term statistics, which outlive the recorder's states."""
        options = self.config_entry.options
        self.hourly_energy = await async_hourly_energy(
            self.hass,
            list(options.get(CONF_ENERGY) or []),
            list(options.get(CONF_POWER) or []),
            max(self.history_days, ENERGY_STATISTICS_DAYS),
        )
        self.device_hourly = await async_hourly_watts(
            self.hass, list(options.get(CONF_DEVICES) or []), DEVICE_LEARN_DAYS
        )

    @paced()
    def _fit(self, now: float, carried: _Carried) -> tuple[HomeModels, FitReport]:
        """Worker: build and fit the models on a snapshot of the observations."""
        from .engine.home import HomeModels

        snapshot = self.state.observations.snapshot(since=now - self.retention_seconds)
        models = HomeModels(
            self.spec,
            self.config_entry.options,
            feedback=[Anomaly.from_json(item) for item in carried.feedback],
            saved=carried.saved,
            hourly_energy=carried.hourly_energy,
            device_hourly=carried.device_hourly,
        )
        return models, models.fit(snapshot, now)
