"""The demo home's day in a real recorder: what SmartML's own entities add to it.

The demo home (docs/demo.md) is laid out as `scripts/develop` does it: its areas and
entities, eleven days of the real household's history written into the recorder by the
demo's own feeder, SmartML added through its config flow with the demo's choices. Then a
day of minute refreshes runs with the household's next day playing on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import DOMAIN
from demo.configure import SMARTML_INPUT
from demo.smartml_demo.feeder import DemoHome
from demo.smartml_demo.home import ENTITIES, PERSON, TIMEZONE, Calendar, Timeline

from .recorder_day import async_minute_refreshes, async_recorded

DEMO_DATA = Path(__file__).resolve().parents[2] / "config" / "demo"
# What the demo's sensors say about themselves (demo/smartml_demo/sensor.py).
SENSOR_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "power": {"unit_of_measurement": "W", "state_class": "measurement"},
    "energy": {"unit_of_measurement": "kWh", "state_class": "total_increasing"},
    "temperature": {"unit_of_measurement": "°C", "state_class": "measurement"},
}
BUDGET_BYTES = 2 * 1024 * 1024


async def _demo_home(hass: HomeAssistant) -> DemoHome:
    """The demo home's areas and entities, with its history in the recorder up to now."""
    await hass.config.async_set_time_zone(TIMEZONE)
    areas = ar.async_get(hass)
    registry = er.async_get(hass)
    for spec in ENTITIES:
        entry = registry.async_get_or_create(
            spec.platform, "smartml_demo", spec.key, suggested_object_id=spec.object_id
        )
        if spec.area:
            registry.async_update_entity(entry.entity_id, area_id=areas.async_get_or_create(spec.area).id)
        attributes = {"friendly_name": spec.name}
        if spec.device_class:
            attributes |= {"device_class": spec.device_class, **SENSOR_ATTRIBUTES.get(spec.device_class, {})}
        hass.states.async_set(spec.entity_id, "unknown", attributes)
    hass.states.async_set(PERSON, "unknown", {"friendly_name": "Resident"})
    now = dt_util.utcnow()
    timeline = await hass.async_add_executor_job(Timeline.load, DEMO_DATA)
    home = DemoHome(hass, timeline, Calendar.first_start(now, TIMEZONE), 1.0)
    home.async_write_history(now)
    home.async_write_values(now, home.values, list(home.values))
    await async_wait_recording_done(hass)
    # As the demo does: the recorder re-reads its oldest state, so its history covers the days written.
    await hass.services.async_call("recorder", "purge", {"keep_days": 365}, blocking=True)
    await get_instance(hass).async_block_till_done()
    return home


async def test_the_demo_home_adds_less_than_2_mb_a_day_to_the_recorder(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    home = await _demo_home(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SMARTML_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    coordinator = entry.runtime_data.coordinator
    assert len(entry.options["areas"]) == 4
    assert hass.states.get("sensor.smartml_learning_status").state == "ready"
    await async_wait_recording_done(hass)
    ours = [e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)]
    before = await async_recorded(hass, ours)
    values = dict(home.values)
    last = [dt_util.utcnow()]

    def household(_minute: int, now: datetime) -> None:
        for moment, key, value in home.calendar.changes(home.timeline, last[0], now):
            values[key] = value
            home.async_write_values(moment, values, [key])
        last[0] = now

    await async_minute_refreshes(hass, freezer, coordinator, household)
    day = await async_recorded(hass, ours) - before

    assert not day.forecast
    assert 0 < day.bytes < BUDGET_BYTES
    print(
        f"Demo home, SmartML's {len(ours)} entities, a day of minute refreshes: "
        f"{day.rows} states rows, {day.bytes} bytes ({day.bytes / 1024:.0f} kB) with attributes and indexes; "
        f"most rows: {day.most_written()}"
    )
