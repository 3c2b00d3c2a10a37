"""The demo home is set up from configuration.yaml (`smartml_demo:`) or once from the UI."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN


class DemoConfigFlow(ConfigFlow, domain=DOMAIN):
    """One demo home per Home Assistant."""

    VERSION = 1

    async def async_step_import(self, import_data: dict[str, Any]) -> ConfigFlowResult:
        """Created from configuration.yaml."""
        return await self.async_step_user({})

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the demo home."""
        if user_input is None:
            return self.async_show_form(step_id="user")
        return self.async_create_entry(title="Demo home", data={})
