"""Devices watched for being left on, on a real Home Assistant with recorded history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import CONF_DEVICES, CONF_ENERGY, CONF_POWER, DOMAIN, EVENT_ANOMALY
from custom_components.smartml.engine.constants import TYPE_DEVICE_LEFT_ON

from .conftest import home_options, setup_entry
from .home_history import STEP, record_home

OVEN = "sensor.oven_power"
DRYER = "sensor.dryer_power"
OVEN_ATTRIBUTES = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}
HISTORY_DAYS = 10


def _oven_watts(hour: int) -> float:
    """The oven runs one hour at dinner (18:00-19:00) and draws 2 W otherwise."""
    return 2000.0 if hour == 18 else 2.0


async def _record_oven(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, days: int = HISTORY_DAYS, entity_ids: tuple[str, ...] = (OVEN,)
) -> None:
    """The oven's history, before the rest of the home's (record_home waits for the recorder)."""
    now = dt_util.now()
    moment = dt_util.start_of_local_day(now) - timedelta(days=days)
    while moment < now - STEP:
        freezer.move_to(moment)
        for entity_id in entity_ids:
            hass.states.async_set(entity_id, f"{_oven_watts(dt_util.as_local(moment).hour):.0f}", OVEN_ATTRIBUTES)
        moment += STEP
    freezer.move_to(now)


def _tomorrow_evening() -> datetime:
    """18:00 local tomorrow: the oven's usual time."""
    return dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=18)


async def _oven_home(hass: HomeAssistant, freezer: FrozenDateTimeFactory, **options: Any) -> MockConfigEntry:
    """At the oven's usual time, with its history and the home's recorded: SmartML set up watching it."""
    freezer.move_to(_tomorrow_evening())
    await _record_oven(hass, freezer)
    await record_home(hass, freezer, days=HISTORY_DAYS)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_DEVICES: [OVEN], **options}))
    await setup_entry(hass, entry)
    return entry


async def _oven_runs(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    watts: float,
    hours: float,
    entity_ids: tuple[str, ...] = (OVEN,),
) -> None:
    """The oven draws `watts` for `hours`, reporting every 15 minutes, with the models refreshed."""
    for _ in range(int(hours * 4)):
        for entity_id in entity_ids:
            hass.states.async_set(entity_id, f"{watts:.0f}", OVEN_ATTRIBUTES, force_update=True)
        await hass.async_block_till_done()
        freezer.tick(timedelta(minutes=15))
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()


async def test_oven_left_on_turns_its_sensor_on_once_and_feedback_raises_its_limit(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # Evening, 18:00 local: the oven's usual time; it has never run longer than an hour.
    entry = await _oven_home(hass, freezer)
    events = async_capture_events(hass, EVENT_ANOMALY)
    left_on = "binary_sensor.oven_power_left_on"
    assert hass.states.get(left_on).state == "off"

    # An hour and a half is still within the usual hour plus the margin.
    await _oven_runs(hass, entry, freezer, 2000.0, 1.5)
    assert hass.states.get(left_on).state == "off"
    await _oven_runs(hass, entry, freezer, 2000.0, 2.0)
    state = hass.states.get(left_on)
    assert state.state == "on"
    assert "Oven power has drawn 2.0 kW for" in state.attributes["explanation"]
    assert "never run longer than 1 h when started between 12:00 and 00:00" in state.attributes["explanation"]
    fired = [event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]
    assert len(fired) == 1 and fired[0].data["entity_ids"] == [OVEN]
    # Still on an hour later: the sensor stays on, the same episode, no second event.
    await _oven_runs(hass, entry, freezer, 2000.0, 1.0)
    assert hass.states.get(left_on).state == "on"
    assert len([event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]) == 1

    # It was a long roast: marked normal, the limit rises above what was seen.
    profile = entry.runtime_data.coordinator.models.energy.devices_.profiles_[OVEN]
    limit_before = max(profile.limit_s)
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": fired[0].data["id"]}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(left_on).state == "off"
    profile = entry.runtime_data.coordinator.models.energy.devices_.profiles_[OVEN]
    minutes = fired[0].data["facts"]["minutes"]
    assert max(profile.limit_s) >= minutes * 60 > limit_before


async def test_a_plug_is_watched_in_a_home_without_a_house_meter(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Only a smart plug is listed: no house forecast to show, and the plug is watched all the same."""
    entry = await _oven_home(hass, freezer, **{CONF_POWER: [], CONF_ENERGY: []})
    events = async_capture_events(hass, EVENT_ANOMALY)
    left_on = "binary_sensor.oven_power_left_on"
    assert hass.states.get(left_on).state == "off"
    assert hass.states.get("sensor.energy_forecast_next_hour") is None

    await _oven_runs(hass, entry, freezer, 2000.0, 3.5)
    assert hass.states.get(left_on).state == "on"
    fired = [event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]
    assert len(fired) == 1 and fired[0].data["entity_ids"] == [OVEN]
    assert entry.runtime_data.coordinator.models.energy.enough_data()[0] is False


async def test_a_long_run_left_unanswered_is_learned_up_to_its_alert(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await _oven_home(hass, freezer)
    events = async_capture_events(hass, EVENT_ANOMALY)
    coordinator = entry.runtime_data.coordinator

    # A long roast, 2 h 15 min: past the usual hour plus the margin, and nobody answers.
    await _oven_runs(hass, entry, freezer, 2000.0, 2.25)
    assert len([event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]) == 1
    limit_before = coordinator.models.energy.devices_.profiles_[OVEN].limit_s[18]
    # Off until the next evening; the models are refitted on the day that passed.
    await _oven_runs(hass, entry, freezer, 2.0, 0.25)
    for _ in range(3):
        freezer.tick(timedelta(hours=7))
        await coordinator.async_refresh()
        await hass.async_block_till_done()
    freezer.move_to(dt_util.start_of_local_day(dt_util.now()) + timedelta(hours=18))
    await coordinator.fitter.async_refresh()
    await hass.async_block_till_done()
    # What it ran up to the alert is learned, what came after it is not: the limit rises by
    # the margin (not by the whole roast), and the same roast the next evening is within it.
    limit = coordinator.models.energy.devices_.profiles_[OVEN].limit_s[18]
    assert limit_before < 2.25 * 3600 <= limit < (2.25 + 0.75) * 3600
    await _oven_runs(hass, entry, freezer, 2000.0, 2.25)
    assert hass.states.get("binary_sensor.oven_power_left_on").state == "off"
    assert len([event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]) == 1


async def test_a_device_learns_its_usual_runs_from_long_term_statistics_older_than_its_states(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Sixteen weeks of hourly statistics, a few days of states: the weekly roast in the statistics is usual."""
    freezer.move_to(_tomorrow_evening())
    days = 4
    first_state = dt_util.start_of_local_day(dt_util.now()) - timedelta(days=days)
    # The oven's recorder statistics, hourly means, from 16 weeks back to its first state:
    # its usual hour at dinner, and on Sundays a roast of three hours (18:00-21:00).
    hour, rows = first_state - timedelta(weeks=16), []
    while hour < first_state:
        local = dt_util.as_local(hour)
        roast = local.weekday() == 6 and 18 <= local.hour < 21
        watts = 2000.0 if roast else _oven_watts(local.hour)
        rows.append({"start": hour.astimezone(dt_util.UTC), "mean": watts, "min": watts, "max": watts})
        hour += timedelta(hours=1)
    async_import_statistics(
        hass,
        {
            "mean_type": StatisticMeanType.ARITHMETIC,
            "has_sum": False,
            "name": None,
            "source": "recorder",
            "statistic_id": OVEN,
            "unit_class": "power",
            "unit_of_measurement": "W",
        },
        rows,
    )
    await async_wait_recording_done(hass)
    # A second plug, used the same way in the last days but without statistics.
    await _record_oven(hass, freezer, days=days, entity_ids=(OVEN, DRYER))
    await record_home(hass, freezer, days=days)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_DEVICES: [OVEN, DRYER]}))
    await setup_entry(hass, entry)
    events = async_capture_events(hass, EVENT_ANOMALY)
    coordinator = entry.runtime_data.coordinator
    assert set(coordinator.fitter.device_hourly) == {OVEN}
    profiles = coordinator.models.energy.devices_.profiles_
    # The oven has learned from 16 weeks, its roasts included; the plug from its few days.
    assert profiles[OVEN].days > 16 * 7 - 1
    assert profiles[OVEN].longest_s[18] == 3 * 3600
    assert profiles[DRYER].days < days + 1
    assert profiles[DRYER].longest_s[18] == 3600

    # Two and a half hours at dinner: an ordinary roast for the oven, far too long for the plug.
    await _oven_runs(hass, entry, freezer, 2000.0, 2.5, entity_ids=(OVEN, DRYER))
    assert hass.states.get("binary_sensor.oven_power_left_on").state == "off"
    assert hass.states.get("binary_sensor.dryer_power_left_on").state == "on"
    fired = [event for event in events if event.data["type"] == TYPE_DEVICE_LEFT_ON]
    assert [event.data["entity_ids"] for event in fired] == [[DRYER]]


async def test_plugs_not_up_yet_are_named_after_their_devices(hass: HomeAssistant) -> None:
    """Two plugs whose integration starts after SmartML: each "Power" entity of its own device."""
    devices, entities = dr.async_get(hass), er.async_get(hass)
    source = MockConfigEntry(domain="plugs")
    source.add_to_hass(hass)
    for name in ("Washer", "Dryer"):
        device = devices.async_get_or_create(config_entry_id=source.entry_id, identifiers={("plugs", name)}, name=name)
        entities.async_get_or_create(
            "sensor",
            "plugs",
            name,
            suggested_object_id=f"{name.lower()}_power",
            device_id=device.id,
            has_entity_name=True,
            original_name="Power",
        )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SmartML",
        unique_id=DOMAIN,
        options=home_options(**{CONF_DEVICES: ["sensor.washer_power", "sensor.dryer_power"]}),
    )
    await setup_entry(hass, entry)
    names = [hass.states.get(f"binary_sensor.{name}_power_left_on").name for name in ("washer", "dryer")]
    assert names == ["SmartML Washer Power left on", "SmartML Dryer Power left on"]
