"""Setup, unload and reload of an entry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import sys
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml import fitting
from custom_components.smartml.const import DOMAIN, ISSUE_ENTITY_MISSING, ISSUE_SENSOR_SILENT
from custom_components.smartml.coordinator import SmartMLCoordinator
from custom_components.smartml.fitting import SmartMLFitCoordinator

from .conftest import (
    FRONT_DOOR,
    HALL_MOTION,
    KITCHEN_MOTION,
    THERMOSTAT,
    HeldFit,
    home_options,
    set_home_states,
    setup_entry,
)
from .home_history import record_home


async def test_setup_creates_status_entities(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    status = hass.states.get("sensor.smartml_learning_status")
    assert status is not None
    assert status.state == "collecting"
    assert hass.states.get("switch.smartml_learning").state == "on"


async def test_unload_stops_collecting(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.NOT_LOADED
    seen = coordinator.collector.events_seen
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert coordinator.collector.events_seen == seen


async def test_setup_does_not_import_scikit_learn(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        del sys.modules[name]
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert "sklearn" not in sys.modules


async def test_an_entry_with_an_area_called_home_is_migrated_to_the_whole_home(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Set up before an area called Home stood for the whole home: its sensors move to the home's own."""
    set_home_states(hass)
    options = home_options()
    options["areas"] = {**options["areas"], "home": {"occupancy": [HALL_MOTION], "environment": []}}
    options["occupancy"] = []
    entry = MockConfigEntry(domain=DOMAIN, title="SmartML", unique_id=DOMAIN, options=options, minor_version=1)
    await setup_entry(hass, entry)
    assert entry.minor_version == 2
    assert "home" not in entry.options["areas"]
    assert "kitchen" in entry.options["areas"]
    assert entry.options["occupancy"] == [HALL_MOTION]
    assert "does not generate unique IDs" not in caplog.text
    assert hass.states.get("binary_sensor.home_occupancy_predicted") is not None


async def test_a_chosen_entity_that_no_longer_exists_raises_a_repair_issue(
    hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    issue_id = f"entity_missing_{mock_entry.entry_id}"
    issues = ir.async_get(hass)

    hass.states.async_remove(KITCHEN_MOTION)  # deleted, with no registry entry to keep it
    await coordinator.async_refresh()
    assert issues.async_get_issue(DOMAIN, issue_id) is None  # Home Assistant may still be starting up
    freezer.tick(timedelta(minutes=11))
    await coordinator.async_refresh()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"entities": KITCHEN_MOTION}

    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    freezer.tick(timedelta(minutes=1))
    await coordinator.async_refresh()
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_a_failed_setup_leaves_no_thread_or_late_write_behind(
    hass: HomeAssistant, hass_storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_prediction(self: SmartMLCoordinator) -> None:
        raise ConfigEntryNotReady("the prediction failed")

    monkeypatch.setattr(SmartMLCoordinator, "_async_update_data", failing_prediction)
    set_home_states(hass)
    entry = MockConfigEntry(domain=DOMAIN, title="SmartML", unique_id=DOMAIN, data={}, options=home_options())
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    # What the attempt learned is written at once, not left to a delayed write.
    assert f"{DOMAIN}.{entry.entry_id}" in hass_storage
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(f"{DOMAIN}_models")]


async def test_a_refit_still_reading_when_the_entry_unloads_fits_nothing_after(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The six-hourly refit waits on the recorder's statistics as the entry unloads (a reload)."""
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    statistics_read = asyncio.Event()
    fitted: list[float] = []

    async def slow_statistics(*_: Any, **__: Any) -> None:
        await statistics_read.wait()  # months of hourly statistics on a small machine

    def fit(self: SmartMLFitCoordinator, now: float, carried: Any) -> Any:
        fitted.append(now)
        raise AssertionError("no fit after the entry unloaded")

    monkeypatch.setattr(fitting, "async_hourly_energy", slow_statistics)
    monkeypatch.setattr(SmartMLFitCoordinator, "_fit", fit)
    refit = hass.async_create_task(coordinator.fitter.async_refresh())
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    statistics_read.set()
    await refit
    await hass.async_block_till_done()
    assert fitted == []
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(f"{DOMAIN}_models")]


async def test_a_door_opened_while_the_first_fit_runs_is_observed(
    hass: HomeAssistant, mock_entry: MockConfigEntry, held_first_fit: HeldFit
) -> None:
    """A restart or a reload on a small machine: the first fit takes a while, the home goes on."""
    set_home_states(hass)

    async def door_opens_and_closes() -> None:
        for state in ("on", "off"):
            hass.states.async_set(FRONT_DOOR, state, {"device_class": "door"})
            await asyncio.sleep(0)

    await held_first_fit.async_set_up(hass, mock_entry, door_opens_and_closes)
    assert mock_entry.state is ConfigEntryState.LOADED
    door = mock_entry.runtime_data.coordinator.state.observations.channels[FRONT_DOOR]
    assert list(door.values) == [0.0, 1.0, 0.0]


async def test_a_thermostat_set_by_hand_while_the_first_fit_runs_is_noticed(
    hass: HomeAssistant, mock_entry: MockConfigEntry, held_first_fit: HeldFit
) -> None:
    """Auto-apply must not override a setpoint someone chose while SmartML was starting."""
    set_home_states(hass)

    async def set_by_hand() -> None:
        hass.states.async_set(THERMOSTAT, "heat", {"temperature": 23.0, "current_temperature": 19.8})
        await asyncio.sleep(0)

    await held_first_fit.async_set_up(hass, mock_entry, set_by_hand)
    assert mock_entry.state is ConfigEntryState.LOADED
    assert THERMOSTAT in mock_entry.runtime_data.coordinator.setpoints.manual_changes


async def test_a_reset_while_a_refit_runs_keeps_nothing_of_that_refit(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    assert mock_entry.runtime_data.coordinator.fitter.data.report.any_ready
    coordinator = mock_entry.runtime_data.coordinator
    started, release = threading.Event(), threading.Event()
    fit = SmartMLFitCoordinator._fit
    fitted: list[tuple[Any, dict[str, Any]]] = []

    def slow_fit(self: SmartMLFitCoordinator, now: float, carried: Any) -> Any:
        if not fitted:
            started.set()
            release.wait(10)
        outcome = fit(self, now, carried)
        fitted.append((outcome[0], dict(carried.saved)))
        return outcome

    monkeypatch.setattr(SmartMLFitCoordinator, "_fit", slow_fit)
    refit = hass.async_create_task(coordinator.fitter.async_refresh())
    assert await hass.async_add_executor_job(started.wait, 10)
    bootstrap = coordinator.async_bootstrap
    in_use: list[Any] = []

    async def refit_ends_first() -> Any:
        release.set()  # the refit ends while the reset reads the recorder again
        await refit
        await hass.async_block_till_done()
        in_use.append(coordinator.models)
        return await bootstrap()

    monkeypatch.setattr(coordinator, "async_bootstrap", refit_ends_first)
    await coordinator.async_reset()
    await hass.async_block_till_done()

    (_, _), (after_reset, carried) = fitted
    # The refit begun before the reset is not used, nor carried: the one after it starts from scratch.
    assert in_use == [None]
    assert carried == {}
    assert coordinator.models is after_reset


async def test_a_reset_while_a_prediction_runs_keeps_nothing_of_it(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    assert coordinator.state.models  # the live side of the models, kept for the next fit
    started, release = threading.Event(), threading.Event()
    predict = SmartMLCoordinator._predict

    def slow_predict(self: SmartMLCoordinator, *args: Any) -> Any:
        if not started.is_set():
            started.set()
            release.wait(10)
        return predict(self, *args)

    carried: list[dict[str, Any]] = []
    fit = SmartMLFitCoordinator._fit

    def fit_after_reset(self: SmartMLFitCoordinator, now: float, taken_over: Any) -> Any:
        carried.append(dict(taken_over.saved))
        return fit(self, now, taken_over)

    monkeypatch.setattr(SmartMLCoordinator, "_predict", slow_predict)
    monkeypatch.setattr(SmartMLFitCoordinator, "_fit", fit_after_reset)
    refresh = hass.async_create_task(coordinator.async_refresh())
    assert await hass.async_add_executor_job(started.wait, 10)
    bootstrap = coordinator.async_bootstrap

    async def prediction_ends_first() -> Any:
        release.set()  # the prediction ends while the reset reads the recorder again
        await refresh
        await hass.async_block_till_done()
        return await bootstrap()

    monkeypatch.setattr(coordinator, "async_bootstrap", prediction_ends_first)
    await coordinator.async_reset()
    await hass.async_block_till_done()
    assert carried == [{}]


async def test_a_prediction_still_running_when_home_assistant_stops_raises_nothing(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    # Long enough after setup for a chosen entity to count as gone.
    monkeypatch.setattr("custom_components.smartml.coordinator.ENTITY_MISSING_AFTER_SECONDS", 0.0)
    started, release = threading.Event(), threading.Event()
    predict = SmartMLCoordinator._predict

    def slow_predict(self: SmartMLCoordinator, *args: Any) -> Any:
        started.set()
        release.wait(10)
        return predict(self, *args)

    monkeypatch.setattr(SmartMLCoordinator, "_predict", slow_predict)
    refresh = hass.async_create_task(coordinator.async_refresh())
    assert await hass.async_add_executor_job(started.wait, 10)
    # Home Assistant stops: the front door's integration is gone before SmartML's refresh ends.
    hass.states.async_remove(FRONT_DOOR)
    stop = hass.async_create_task(coordinator.worker.async_stop())
    await asyncio.sleep(0)
    release.set()
    await stop
    await refresh
    await hass.async_block_till_done()

    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_ENTITY_MISSING}_{mock_entry.entry_id}") is None


async def test_the_entry_s_repair_issues_go_with_it(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    issue_id = f"{ISSUE_SENSOR_SILENT}_{mock_entry.entry_id}"

    def raise_issue() -> None:
        severity = ir.IssueSeverity.WARNING
        ir.async_create_issue(
            hass, DOMAIN, issue_id, is_fixable=False, severity=severity, translation_key=ISSUE_SENSOR_SILENT
        )

    raise_issue()
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    # An entry not loaded (disabled, or waiting to retry its setup) is removed without an unload.
    raise_issue()
    assert await hass.config_entries.async_remove(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
