"""Config entry diagnostics and the maintenance services."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartml.const import CONF_NOTIFY, DOMAIN

from .conftest import KITCHEN_MOTION, home_options, set_home_states, setup_entry


async def test_diagnostics_are_redacted_and_complete(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    hass.services.async_register("notify", "mobile_app_phone", lambda call: None)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_NOTIFY: "mobile_app_phone"}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["options"][CONF_NOTIFY] == "**REDACTED**"
    assert diagnostics["status"] == "collecting"
    assert diagnostics["observations"][KITCHEN_MOTION] == {"role": "occupancy", "kind": "state", "points": 1}
    assert diagnostics["learning"] is True
    assert "observations" in diagnostics and "skipped_states" in diagnostics


async def test_reset_forgets_and_retrain_refits(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    coordinator = mock_entry.runtime_data.coordinator
    fitted = coordinator.data.fitted_at
    await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
    assert coordinator.data.fitted_at is not None and coordinator.data.fitted_at >= fitted

    await hass.services.async_call(DOMAIN, "reset", {"config_entry_id": mock_entry.entry_id}, blocking=True)
    assert KITCHEN_MOTION not in coordinator.state.observations.channels
    assert coordinator.data.observations == 0
