"""The blueprints on a real Home Assistant: who is told of what, and only once."""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.engine.constants import (
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_VALUE,
)

from .conftest import door_anomaly, set_home_states, setup_entry

SECURITY_BLUEPRINT = "security_anomaly_notify.yaml"
LIGHT = "light.hall"


async def _use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    source = Path(__file__).parents[2] / "blueprints" / "automation" / "smartml" / name
    target = Path(hass.config.path("blueprints", "automation", "smartml"))
    await hass.async_add_executor_job(lambda: target.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(shutil.copy, source, target / name)
    config = {"automation": {"use_blueprint": {"path": f"smartml/{name}", "input": inputs}}}
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()


async def test_security_blueprint_tells_every_security_anomaly_once_and_lights_up_for_entries(
    hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    told: list[ServiceCall] = []
    lit: list[ServiceCall] = []
    hass.services.async_register("notify", "my_phone", told.append)
    hass.services.async_register("light", "turn_on", lit.append)
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await _use_blueprint(
        hass,
        SECURITY_BLUEPRINT,
        {"notify_service": "notify.my_phone", "lights": {"entity_id": LIGHT}, "only_when_dark": False},
    )
    anomalies = mock_entry.runtime_data.coordinator.anomalies

    # Each a new incident: hours apart.
    for number, type_ in enumerate((TYPE_UNUSUAL_VALUE, TYPE_PRESENCE_DOUBT, TYPE_ENTRY_WITHOUT_ARRIVAL)):
        anomalies.async_report(door_anomaly(f"a{number}", type_=type_))
        await hass.async_block_till_done()
        freezer.tick(timedelta(hours=2))

    assert len(told) == 3
    # A freezer's odd temperature or a doubted presence is worth a message, not the lights.
    assert len(lit) == 1 and lit[0].data["entity_id"] == [LIGHT]

    # A reload restores the last event: nobody is told again.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert (len(told), len(lit)) == (3, 1)


async def test_security_blueprint_without_lights_only_tells(
    hass: HomeAssistant, mock_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[ServiceCall] = []
    hass.services.async_register("notify", "notify", told.append)
    assert await async_setup_component(hass, "light", {})
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await _use_blueprint(hass, SECURITY_BLUEPRINT, {"only_when_dark": False})  # the lights left empty

    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly(type_=TYPE_ENTRY_WITHOUT_ARRIVAL))
    await hass.async_block_till_done()

    assert len(told) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
