"""Services of SmartML, registered once in async_setup."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_PATH,
    DOMAIN,
    SERVICE_IMPORT_HISTORY,
    SERVICE_RESET,
    SERVICE_RETRAIN,
)
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator

ENTRY_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
IMPORT_SCHEMA = ENTRY_SCHEMA.extend({vol.Required(ATTR_PATH): vol.All(cv.string, vol.Length(min=1, max=4096))})


def coordinator_for(hass: HomeAssistant, call: ServiceCall) -> SmartMLCoordinator:
    """The coordinator of the entry a call names (or the only loaded one)."""
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    entries: list[SmartMLConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED and (entry_id is None or entry.entry_id == entry_id)
    ]
    if not entries:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry_id": entry_id or "-"},
        )
    return entries[0].runtime_data.coordinator


async def _async_retrain(call: ServiceCall) -> None:
    await coordinator_for(call.hass, call).async_retrain()


async def _async_reset(call: ServiceCall) -> None:
    await coordinator_for(call.hass, call).async_reset()


async def _async_import_history(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    result = await coordinator.async_import_history(call.data[ATTR_PATH])
    response: dict[str, Any] = result.as_dict()
    return response


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the domain services."""
    hass.services.async_register(DOMAIN, SERVICE_RETRAIN, _async_retrain, schema=ENTRY_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_RESET, _async_reset, schema=ENTRY_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_IMPORT_HISTORY,
        _async_import_history,
        schema=IMPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
