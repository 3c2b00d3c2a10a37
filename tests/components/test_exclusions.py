"""Days that don't count: excluded periods, forgotten readings, a calendar of unusual days."""

from __future__ import annotations

from datetime import datetime, timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.components.recorder import Recorder
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockPlatform, mock_platform

from custom_components.smartml.const import CONF_DEVICES, CONF_EXCLUDE_CALENDAR, DOMAIN
from custom_components.smartml.diagnostics import async_get_config_entry_diagnostics
from custom_components.smartml.engine.home import HomeModels
from custom_components.smartml.engine.observations import ObservationStore

from .conftest import ENERGY, FRONT_DOOR, home_options, set_home_states, setup_entry
from .home_history import record_home

UNUSUAL_DAY = 4  # days before today
CALENDAR = "calendar.unusual_days"


@pytest.fixture
def mid_morning(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 10:05 local time."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=10, minutes=5))


def _unusual_day() -> tuple[datetime, datetime]:
    start = dt_util.start_of_local_day(dt_util.now() - timedelta(days=UNUSUAL_DAY))
    return start, start + timedelta(days=1)


def _security_rates(models: HomeModels | None) -> dict[str, list[Any]]:
    assert models is not None and models.security is not None
    return {key: source.rates for key, source in models.security.sources_.items()}


async def _fit_never_seen(hass: HomeAssistant, entry: MockConfigEntry) -> HomeModels:
    """The models fitted on observations from which the unusual day's readings are gone."""
    coordinator = entry.runtime_data.coordinator
    never: ObservationStore = coordinator.state.observations.snapshot()
    start, end = _unusual_day()
    for entity_id in coordinator.roles:
        never.forget_between(entity_id, start.timestamp(), end.timestamp())
    models = HomeModels(coordinator.spec, entry.options)
    await hass.async_add_executor_job(models.fit, never, time.time())
    return models


async def test_an_excluded_day_changes_no_learned_rate(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mid_morning: None,
) -> None:
    await record_home(hass, freezer, unusual_day=UNUSUAL_DAY)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    learned_with_the_day = _security_rates(coordinator.models)
    start, end = _unusual_day()

    response = await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": start.isoformat(), "end": end.isoformat(), "reason": "Guests"},
        blocking=True,
        return_response=True,
    )

    assert response == {"excluded_periods": 1}
    learned = _security_rates(coordinator.models)
    assert learned != learned_with_the_day  # the night door and the busy afternoon had taught something
    assert learned == pytest.approx(_security_rates(await _fit_never_seen(hass, mock_entry)))
    energy = coordinator.models.energy  # type: ignore[union-attr]
    never_energy = (await _fit_never_seen(hass, mock_entry)).energy
    assert energy.profile_.tolist() == pytest.approx(never_energy.profile_.tolist(), nan_ok=True)

    # Kept with the household's choices: a restart refits without the day too.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_entry.runtime_data.coordinator
    assert [(p.start, p.end, p.reason) for p in coordinator.state.excluded] == [
        (start.timestamp(), end.timestamp(), "Guests")
    ]
    assert _security_rates(coordinator.models) == pytest.approx(learned)
    diagnostics = await async_get_config_entry_diagnostics(hass, mock_entry)
    assert diagnostics["excluded_periods"] == {"count": 1, "hours": 24.0, "from_calendar": 0}
    assert str(start.date()) not in str(diagnostics)


async def test_forget_data_removes_a_spike_and_restores_the_forecast(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mid_morning: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    before = coordinator.prediction.energy.forecast.p50[:3]  # type: ignore[union-attr]
    meter = float(hass.states.get(ENERGY).state)
    attributes = {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"}
    glitch = dt_util.now() + timedelta(minutes=10)
    # A meter gone wrong for an hour, counting 8 kWh an hour, then back on its true track.
    for minutes, reading in (
        (0, meter + 2.0),
        (15, meter + 4.0),
        (30, meter + 6.0),
        (45, meter + 8.0),
        (60, meter + 10.0),
    ):
        freezer.move_to(glitch + timedelta(minutes=minutes))
        hass.states.async_set(ENERGY, f"{reading:.3f}", attributes)
        await hass.async_block_till_done()
    freezer.move_to(glitch + timedelta(minutes=65))
    hass.states.async_set(ENERGY, f"{meter + 0.3:.3f}", attributes)
    await hass.async_block_till_done()
    freezer.move_to(glitch + timedelta(minutes=70))
    await hass.services.async_call(DOMAIN, "retrain", blocking=True)
    spiked = coordinator.prediction.energy.forecast.p50[:3]  # type: ignore[union-attr]
    learned = coordinator.models.energy.history_  # type: ignore[union-attr]
    glitch_hour = int(np.flatnonzero(learned.starts == glitch.timestamp() - glitch.timestamp() % 3600)[0])
    assert learned.y[glitch_hour] > 5.0  # learned as 6.7 kWh drawn in an hour

    response = await hass.services.async_call(
        DOMAIN,
        "forget_data",
        {
            "entity_id": ENERGY,
            "start": (glitch - timedelta(minutes=1)).isoformat(),
            "end": (glitch + timedelta(minutes=61)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )

    assert response == {"forgotten_readings": 5}
    learned = coordinator.models.energy.history_  # type: ignore[union-attr]
    assert np.isnan(learned.y[glitch_hour])  # nothing of that hour is learned from
    restored = coordinator.prediction.energy.forecast.p50[:3]  # type: ignore[union-attr]
    assert restored == pytest.approx(before, rel=0.25)
    assert restored == pytest.approx(spiked, rel=0.25)  # the forecast itself resists one hour gone wrong
    # The span stays out of what the meter's models learn, so a recorder read cannot bring it back.
    assert [(p.entities, p.reason) for p in coordinator.state.excluded] == [((ENERGY,), "forgotten readings")]


async def test_a_period_excluded_by_mistake_is_learned_from_again_once_removed(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mid_morning: None,
) -> None:
    """An end typed months too late keeps the home from learning: the period can be removed."""
    await record_home(hass, freezer, unusual_day=UNUSUAL_DAY)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    learned_with_the_day = _security_rates(coordinator.models)
    start, _end = _unusual_day()
    mistyped = {"start": start.isoformat(), "end": (start + timedelta(days=90)).isoformat()}
    await hass.services.async_call(DOMAIN, "exclude_period", mistyped, blocking=True)
    spike = {"entity_id": ENERGY, "start": (start - timedelta(days=1)).isoformat(), "end": start.isoformat()}
    await hass.services.async_call(DOMAIN, "forget_data", spike, blocking=True)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    freezer.tick(timedelta(minutes=30))
    await hass.services.async_call("switch", "turn_on", {"entity_id": "switch.smartml_learning"}, blocking=True)
    assert _security_rates(coordinator.models) != learned_with_the_day

    span = {"start": start.isoformat(), "end": (start + timedelta(days=90)).isoformat()}
    response = await hass.services.async_call(
        DOMAIN, "remove_excluded_period", span, blocking=True, return_response=True
    )

    # What SmartML excluded itself stays: forgotten readings must not come back from the
    # recorder, and nothing was collected while learning was paused.
    assert response == {"removed_periods": 1, "excluded_periods": 2}
    assert [p.reason for p in coordinator.state.excluded] == ["forgotten readings", "learning paused"]
    assert _security_rates(coordinator.models) == pytest.approx(learned_with_the_day)
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert len(mock_entry.runtime_data.coordinator.state.excluded) == 2


async def test_forget_data_leaves_readings_still_to_come_alone(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    """An end in the future forgets what was read until now; later readings are learned as ever."""
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    await hass.async_block_till_done()
    now = dt_util.now()
    span = {"entity_id": FRONT_DOOR, "start": (now - timedelta(hours=1)).isoformat()}
    span["end"] = (now + timedelta(days=60)).isoformat()
    await hass.services.async_call(DOMAIN, "forget_data", span, blocking=True)

    coordinator = mock_entry.runtime_data.coordinator
    assert [period.end for period in coordinator.state.excluded] == [pytest.approx(now.timestamp())]


class _UnusualDays(CalendarEntity):
    """A calendar with one event: the unusual day, as a household would mark guests."""

    _attr_name = "Unusual days"

    def __init__(self, start: datetime, end: datetime) -> None:
        self._event = CalendarEvent(start=start, end=end, summary="Guests")

    @property
    def event(self) -> CalendarEvent | None:
        return None

    async def async_get_events(self, hass: HomeAssistant, start_date: datetime, end_date: datetime) -> list[Any]:
        event = self._event
        return [event] if event.start_datetime_local < end_date and event.end_datetime_local > start_date else []


async def _set_up_calendar(hass: HomeAssistant, start: datetime, end: datetime) -> None:
    """The household's calendar of unusual days, with one event."""

    async def setup_platform(
        hass: HomeAssistant, config: dict[str, Any], add_entities: AddEntitiesCallback, *_: Any
    ) -> None:
        add_entities([_UnusualDays(start, end)])

    mock_platform(hass, "household.calendar", MockPlatform(async_setup_platform=setup_platform))
    assert await async_setup_component(hass, "calendar", {"calendar": {"platform": "household"}})
    await hass.async_block_till_done()


async def test_forgetting_a_flapping_door_keeps_the_state_it_ended_in(
    hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    opened = dt_util.utcnow() + timedelta(minutes=1)
    # The door is opened, flaps while its contact is loose, and ends closed.
    for minutes, state in ((0, "on"), (5, "off"), (6, "on"), (7, "off"), (8, "on"), (9, "off")):
        freezer.move_to(opened + timedelta(minutes=minutes))
        hass.states.async_set(FRONT_DOOR, state, {"device_class": "door"})
        await hass.async_block_till_done()
    freezer.move_to(opened + timedelta(hours=2))
    loose = (opened + timedelta(minutes=4), opened + timedelta(minutes=10))
    response = await hass.services.async_call(
        DOMAIN,
        "forget_data",
        {"entity_id": FRONT_DOOR, "start": loose[0].isoformat(), "end": loose[1].isoformat()},
        blocking=True,
        return_response=True,
    )
    assert response == {"forgotten_readings": 5}
    channel = coordinator.state.observations.channels[FRONT_DOOR]
    assert (channel.times[-1], channel.values[-1]) == (loose[1].timestamp(), 0.0)  # closed after the span
    # The next opening is a change the models check, not taken for an attribute update.
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    await hass.async_block_till_done()
    assert channel.times[-1] == hass.states.get(FRONT_DOOR).last_updated_timestamp
    assert list(channel.values[-2:]) == [0.0, 1.0]


async def test_a_calendar_event_is_a_day_not_learned_from(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mid_morning: None,
) -> None:
    await record_home(hass, freezer, unusual_day=UNUSUAL_DAY)
    start, end = _unusual_day()
    await _set_up_calendar(hass, start, end)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_EXCLUDE_CALENDAR: CALENDAR}))
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.coordinator

    assert [(p.start, p.end, p.reason) for p in coordinator.state.calendar_excluded] == [
        (start.timestamp(), end.timestamp(), "Guests")
    ]
    assert _security_rates(coordinator.models) == pytest.approx(_security_rates(await _fit_never_seen(hass, entry)))
    assert coordinator.state.excluded == []  # a calendar's days are kept apart from the periods people set


async def test_a_calendar_holiday_is_left_out_as_far_back_as_the_devices_learn(hass: HomeAssistant) -> None:
    """Watched devices learn 16 weeks back: a holiday 80 days ago counts for them as a service period would."""
    start = dt_util.start_of_local_day(dt_util.now() - timedelta(days=80))
    await _set_up_calendar(hass, start, start + timedelta(days=7))
    set_home_states(hass)
    hass.states.async_set("sensor.freezer_power", "80", {"unit_of_measurement": "W", "device_class": "power"})
    options = home_options(**{CONF_EXCLUDE_CALENDAR: CALENDAR, CONF_DEVICES: ["sensor.freezer_power"]})
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=options)
    await setup_entry(hass, entry)
    assert [p.start for p in entry.runtime_data.coordinator.state.calendar_excluded] == [start.timestamp()]


async def test_a_calendar_not_up_at_startup_keeps_the_days_last_read_and_is_read_once_started(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory, mid_morning: None
) -> None:
    start, end = _unusual_day()
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_EXCLUDE_CALENDAR: CALENDAR}))
    key = f"{DOMAIN}.{entry.entry_id}"
    last_read = {"start": start.timestamp() - 7 * 86400, "end": end.timestamp() - 7 * 86400, "reason": "Visit"}
    hass_storage[key] = {"version": 1, "minor_version": 5, "key": key, "data": {"calendar_excluded": [last_read]}}
    hass.set_state(CoreState.starting)
    set_home_states(hass)
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.coordinator

    # The calendar is not up yet: the fit leaves out the days it told before the restart.
    assert [(p.start, p.reason) for p in coordinator.state.calendar_excluded] == [(last_read["start"], "Visit")]
    assert list(coordinator.state.observations.excluded) == coordinator.state.calendar_excluded
    first_fit = coordinator.fitter.data.fitted_at
    assert first_fit is not None

    # It comes up; once Home Assistant has started it is read again, and its days are refitted without.
    await _set_up_calendar(hass, start, end)
    freezer.tick(timedelta(minutes=1))
    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    told = [(start.timestamp(), end.timestamp(), "Guests")]
    assert [(p.start, p.end, p.reason) for p in coordinator.state.calendar_excluded] == told
    assert list(coordinator.state.observations.excluded) == coordinator.state.calendar_excluded
    assert (coordinator.fitter.data.fitted_at or 0.0) > first_fit
    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[key]["data"]["calendar_excluded"]
    assert [(p["start"], p["end"], p["reason"]) for p in stored] == told


async def test_a_renamed_calendar_is_followed(hass: HomeAssistant) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create("calendar", "household", "unusual-days", suggested_object_id="holidays")
    set_home_states(hass)
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_EXCLUDE_CALENDAR: "calendar.holidays"})
    )
    await setup_entry(hass, entry)
    registry.async_update_entity("calendar.holidays", new_entity_id="calendar.family")
    await hass.async_block_till_done()
    assert entry.options[CONF_EXCLUDE_CALENDAR] == "calendar.family"


async def test_a_period_excluded_months_ago_stays_excluded_while_devices_learn_from_it(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    old = float(int(time.time() - 80 * 86_400.0))  # before the 8 weeks of observations, within the devices' 16
    response = await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": dt_util.utc_from_timestamp(old), "end": dt_util.utc_from_timestamp(old + 86_400.0)},
        blocking=True,
        return_response=True,
    )
    assert response is not None and response["excluded_periods"] == 1
    await coordinator.async_retrain()
    assert [period.start for period in coordinator.state.excluded] == [old]
