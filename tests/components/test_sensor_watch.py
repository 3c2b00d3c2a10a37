"""Numeric sensors marked security-relevant: a streaming detector each, through the anomaly path."""

from __future__ import annotations

import random
import time
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.smartml.const import (
    CONF_SECURITY_SENSORS,
    DOMAIN,
    EVENT_ANOMALY,
    MODEL_SENSOR_WATCH,
)
from custom_components.smartml.engine.sensor_watch import SensorWatch

from .conftest import home_options, set_home_states, setup_entry

GARAGE = "sensor.garage_temperature"
ATTRIBUTES = {"unit_of_measurement": "°C", "device_class": "temperature", "friendly_name": "Garage temperature"}
STEP = 300.0  # one value per 5-minute bucket


def _steady(count: int, seed: int = 3) -> list[float]:
    """A noisy steady temperature; no value repeats the one before (that would be no state change)."""
    rng = random.Random(seed)
    values: list[float] = []
    while len(values) < count:
        value = round(20.0 + rng.gauss(0.0, 0.3), 2)
        if not values or value != values[-1]:
            values.append(value)
    return values


async def _setup(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_SECURITY_SENSORS: [GARAGE]}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    return entry


async def _feed(hass: HomeAssistant, start: float, states: list[Any]) -> None:
    """One state per 5-minute bucket from start on."""
    for i, state in enumerate(states):
        hass.states.async_set(GARAGE, str(state), ATTRIBUTES, timestamp=start + i * STEP)
    await hass.async_block_till_done()


async def _refresh(entry: MockConfigEntry, hass: HomeAssistant) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_jump_after_steady_series_raises_security_anomaly(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values = [*_steady(600), 41.2, 41.0]  # the last value closes the bucket of the jump
    start = time.time() - len(values) * STEP
    await _feed(hass, start, values)

    await _refresh(entry, hass)

    assert len(events) == 1
    data = events[0].data
    assert data["kind"] == "security"
    assert data["type"] == "unusual_value"
    assert data["entity_ids"] == [GARAGE]
    assert data["explanation"].startswith("Garage temperature read 41.2 °C around ")
    assert "higher than anything it showed in the last 2 days" in data["explanation"]
    sensor = hass.states.get("binary_sensor.security_anomaly")
    assert sensor.state == "on"
    assert sensor.attributes["explanation"] == data["explanation"]
    assert hass.states.get("event.smartml_anomaly").attributes["event_type"] == "unusual_value"

    # The sensor staying high is the same episode: no second alarm.
    await _feed(hass, start + len(values) * STEP, [41.1, 40.9])
    await _refresh(entry, hass)
    assert len(events) == 1


async def test_a_jump_that_stays_put_is_alarmed_without_a_further_reading(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values = [*_steady(600), 41.2]  # it jumps ten minutes ago and holds: no state is written since
    await _feed(hass, time.time() - (len(values) + 1) * STEP, values)
    await _refresh(entry, hass)
    assert [event.data["type"] for event in events] == ["unusual_value"]


async def test_nothing_fires_while_the_detector_learns(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values = [*_steady(300), 41.2, 41.0]
    await _feed(hass, time.time() - len(values) * STEP, values)

    await _refresh(entry, hass)

    assert events == []
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    status = entry.runtime_data.coordinator.watched.status()[GARAGE]
    assert status["values"] == 302  # the last bucket's five minutes are over: it is closed too
    assert status["ready"] is False


async def test_unavailable_and_garbage_states_are_ignored(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values: list[Any] = _steady(600)
    for i in range(550, 600, 5):
        values[i] = ("unavailable", "unknown", "garbage", "nan", "")[(i // 5) % 5]
    values.extend(["unavailable", 20.1])
    await _feed(hass, time.time() - len(values) * STEP, values)

    await _refresh(entry, hass)

    assert events == []
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    numeric = sum(isinstance(v, float) for v in values)
    # Every numeric bucket was learned, nothing else.
    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == numeric


async def test_detector_state_survives_a_reload(
    hass: HomeAssistant, hass_storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await _setup(hass)
    values = _steady(600)
    # The last in the 5-minute bucket still open: from the start of the current one.
    now = time.time()
    await _feed(hass, now - now % STEP - (len(values) - 1) * STEP, values)
    await _refresh(entry, hass)
    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == 599
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    saved = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["models"][MODEL_SENSOR_WATCH]
    assert saved["sensors"][GARAGE]["detector"]["count"] == 599
    fed: list[int] = []
    feed = SensorWatch.feed

    def counting_feed(self: SensorWatch, entity_id: str, times: list[float], *args: Any) -> list[dict[str, Any]]:
        fed.append(len(times))
        return feed(self, entity_id, times, *args)

    monkeypatch.setattr(SensorWatch, "feed", counting_feed)

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    # The reload saved the open bucket as a point: the restored detector learns just that one.
    assert fed == [1]
    assert entry.runtime_data.coordinator.watched.status()[GARAGE] == {"values": 600, "ready": True, "threshold": 0.8}


async def test_it_was_me_raises_the_sensors_threshold(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    values = [*_steady(600), 41.2, 41.0]
    await _feed(hass, time.time() - len(values) * STEP, values)
    await _refresh(entry, hass)
    coordinator = entry.runtime_data.coordinator
    before = coordinator.watched.status()[GARAGE]["threshold"]

    response = await hass.services.async_call(DOMAIN, "report_false_alarm", {}, blocking=True, return_response=True)

    assert response["type"] == "unusual_value"
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    assert coordinator.watched.status()[GARAGE]["threshold"] > before
    saved = coordinator.state.models[MODEL_SENSOR_WATCH]["sensors"][GARAGE]
    assert saved["threshold"] == coordinator.watched.status()[GARAGE]["threshold"]


async def test_sensors_no_longer_watched_are_forgotten(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    await _feed(hass, time.time() - 20 * STEP, _steady(20))
    await _refresh(entry, hass)
    assert GARAGE in entry.runtime_data.coordinator.state.models[MODEL_SENSOR_WATCH]["sensors"]

    # New options and a reload, as the options flow does.
    hass.config_entries.async_update_entry(entry, options=home_options())
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    coordinator = entry.runtime_data.coordinator
    assert MODEL_SENSOR_WATCH not in coordinator.state.models
    assert GARAGE not in coordinator.state.observations.channels
    assert coordinator.watched.status() == {}


async def test_a_home_of_watched_sensors_only_is_ready_once_they_learned(hass: HomeAssistant) -> None:
    only_watched = {
        key: [] for key in ("occupancy", "environment", "presence", "power", "energy", "climate", "security")
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=DOMAIN,
        options=home_options(areas={}, **only_watched, **{CONF_SECURITY_SENSORS: [GARAGE]}),
    )
    await setup_entry(hass, entry)
    values = _steady(700)
    start = time.time() - len(values) * STEP
    await _feed(hass, start, values[:100])
    await _refresh(entry, hass)
    assert hass.states.get("sensor.smartml_learning_status").state == "collecting"

    await _feed(hass, start + 100 * STEP, values[100:])
    await _refresh(entry, hass)

    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["ready"] is True
    assert hass.states.get("sensor.smartml_learning_status").state == "ready"


def _iso(ts: float) -> str:
    return dt_util.utc_from_timestamp(ts).isoformat()


async def test_a_period_excluded_after_it_was_learned_is_learned_again_without_it(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    values = _steady(600)
    now = time.time()
    start = now - now % STEP - (len(values) - 1) * STEP
    await _feed(hass, start, values)
    await _refresh(entry, hass)
    watched = entry.runtime_data.coordinator.watched
    assert watched.status()[GARAGE]["values"] == 599

    # The heating was off for those 100 buckets: they are not to count.
    await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": _iso(start + 400 * STEP), "end": _iso(start + 500 * STEP)},
        blocking=True,
        return_response=True,
    )
    await _refresh(entry, hass)

    assert watched.status()[GARAGE]["values"] == 499
    saved = entry.runtime_data.coordinator.state.models[MODEL_SENSOR_WATCH]["sensors"][GARAGE]
    assert saved["learned_without"] == [[start + 400 * STEP, start + 500 * STEP]]
    # Learned again once: the next refresh goes on from the latest value.
    await _refresh(entry, hass)
    assert watched.status()[GARAGE]["values"] == 499


async def test_values_in_an_excluded_period_are_watched_but_not_learned(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values = _steady(600)
    now = time.time()
    start = now - now % STEP - (len(values) + 2) * STEP
    await _feed(hass, start, values)
    await _refresh(entry, hass)
    watched = entry.runtime_data.coordinator.watched
    learned = watched.status()[GARAGE]["values"]
    await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": _iso(start + len(values) * STEP), "end": _iso(time.time() + 3600.0), "entities": [GARAGE]},
        blocking=True,
        return_response=True,
    )

    await _feed(hass, start + len(values) * STEP, [41.2, 41.0])
    await _refresh(entry, hass)

    # Still guarded on a holiday, but the holiday's values teach the sensor nothing.
    assert [event.data["type"] for event in events] == ["unusual_value"]
    assert watched.status()[GARAGE]["values"] == learned


async def test_forget_data_takes_a_spike_out_of_what_a_watched_sensor_learned(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    values: list[Any] = _steady(600)
    values[550:552] = [41.2, 41.0]  # a glitch three hours ago: too old to alarm, but learned as usual
    now = time.time()
    start = now - now % STEP - (len(values) + 2) * STEP
    await _feed(hass, start, values)
    await _refresh(entry, hass)
    assert events == []

    response = await hass.services.async_call(
        DOMAIN,
        "forget_data",
        {"entity_id": GARAGE, "start": _iso(start + 549.5 * STEP), "end": _iso(start + 552.5 * STEP)},
        blocking=True,
        return_response=True,
    )
    assert response == {"forgotten_readings": 3}
    await _refresh(entry, hass)
    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == 597

    # The same glitch now is unusual again, where the learned one had made it usual.
    await _feed(hass, start + len(values) * STEP, [41.2, 41.0])
    await _refresh(entry, hass)
    assert [event.data["type"] for event in events] == ["unusual_value"]


async def _feed_in(hass: HomeAssistant, start: float, values: list[float], unit: str) -> None:
    """One state per 5-minute bucket from start on, shown in `unit`."""
    for i, value in enumerate(values):
        hass.states.async_set(
            GARAGE, str(value), {**ATTRIBUTES, "unit_of_measurement": unit}, timestamp=start + i * STEP
        )
    await hass.async_block_till_done()


async def test_a_watched_sensor_shown_in_another_unit_goes_on_learning_in_its_kind_s_unit(hass: HomeAssistant) -> None:
    """The home switched to °F: the same garage, still learned and told in °C."""
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    celsius = _steady(600)
    fahrenheit = [round(c * 9 / 5 + 32, 2) for c in _steady(12, seed=4)]
    start = time.time() - (len(celsius) + len(fahrenheit) + 2) * STEP
    await _feed_in(hass, start, celsius, "°C")
    await _feed_in(hass, start + len(celsius) * STEP, fahrenheit, "°F")
    await _refresh(entry, hass)
    assert events == []
    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == 612

    # 41.2 °C shown as 106.16 °F is unusual, and told in the unit it was learned in.
    await _feed_in(hass, start + 612 * STEP, [106.16, 105.8], "°F")
    await _refresh(entry, hass)
    [event] = events
    assert event.data["explanation"].startswith("Garage temperature read 41.2 °C around ")
    assert "°F" not in event.data["explanation"]


async def test_a_watched_power_shown_in_kw_is_learned_in_w(hass: HomeAssistant) -> None:
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    watts = [v * 10 for v in _steady(600)]
    start = time.time() - (len(watts) + 12) * STEP
    await _feed_in(hass, start, watts, "W")
    await _feed_in(hass, start + len(watts) * STEP, [v / 100 for v in _steady(12, seed=4)], "kW")
    await _refresh(entry, hass)
    assert events == []
    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == 612


async def test_a_watched_sensor_whose_unit_cannot_be_converted_learns_afresh(hass: HomeAssistant) -> None:
    """ppm to mg/m³: the detector starts afresh, not comparing the new values with the old ones."""
    entry = await _setup(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    ppm = [v * 20 for v in _steady(600)]
    start = time.time() - (len(ppm) + 20) * STEP
    await _feed_in(hass, start, ppm, "ppm")
    await _refresh(entry, hass)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.watched.status()[GARAGE]["values"] == 600

    await _feed_in(hass, start + len(ppm) * STEP, [v / 25 for v in _steady(12, seed=4)], "mg/m³")
    await _refresh(entry, hass)
    await _refresh(entry, hass)
    assert events == []
    assert coordinator.watched.status()[GARAGE]["values"] == 0
    saved = coordinator.state.models[MODEL_SENSOR_WATCH]["sensors"][GARAGE]
    assert saved["unit"] == "mg/m³"
    # The observations stay for whatever else learns from the entity.
    assert len(coordinator.state.observations.channels[GARAGE].times) >= 600
    # Learned afresh from what comes in the new unit.
    await _feed_in(hass, start + (len(ppm) + 12) * STEP, [v / 25 for v in _steady(4, seed=5)], "mg/m³")
    await _refresh(entry, hass)
    assert 0 < coordinator.watched.status()[GARAGE]["values"] <= 4


@pytest.mark.parametrize(("unit", "learned"), [("°C", 600), ("°F", 0)])
async def test_a_sensor_learned_before_units_were_kept_learns_afresh_only_if_its_values_were_converted(
    hass: HomeAssistant, hass_storage: dict[str, Any], unit: str, learned: int
) -> None:
    """Watched values were kept as they came: in °F, they are not in the °C of the values now kept."""
    entry = await _setup(hass)
    now = time.time()
    await _feed_in(hass, now - now % STEP - 599 * STEP, _steady(600), unit)
    await _refresh(entry, hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    saved = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["models"][MODEL_SENSOR_WATCH]
    del saved["sensors"][GARAGE]["unit"]  # as an older version saved it

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _refresh(entry, hass)

    assert entry.runtime_data.coordinator.watched.status()[GARAGE]["values"] == learned
