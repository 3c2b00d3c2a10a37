"""SmartML demo home: a real household's sensors and meters, replayed as Home Assistant entities.

Areas, devices and entities come from config/demo (see its SOURCE.md). At the first start
the history before now is written to the recorder; after that the data plays live.
"""

from __future__ import annotations

from datetime import date, timedelta
import os
from pathlib import Path

from homeassistant.components.recorder import get_instance, history
from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import DATA_DIR_NAME, DOMAIN, ENV_SPEED, SIGNAL_UPDATE, STORE_KEY, STORE_VERSION
from .feeder import DemoHome
from .home import ENTITIES, Calendar, Timeline

CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)
PLATFORMS = [Platform.BINARY_SENSOR, Platform.CLIMATE, Platform.DEVICE_TRACKER, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create the demo entry from configuration.yaml the first time."""
    if DOMAIN in config and not hass.config_entries.async_entries(DOMAIN):
        hass.async_create_task(hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT}, data={}))
    return True


async def _async_calendar(hass: HomeAssistant) -> Calendar:
    """The calendar chosen at the first start, kept so later starts continue it."""
    store: Store[dict[str, str]] = Store(hass, STORE_VERSION, STORE_KEY)
    stored = await store.async_load() or {}
    if "anchor" in stored:
        return Calendar(date.fromisoformat(stored["anchor"]), dt_util.get_default_time_zone())
    calendar = Calendar.first_start(dt_util.utcnow(), str(hass.config.time_zone))
    await store.async_save({"anchor": calendar.anchor.isoformat()})
    return calendar


async def _async_has_history(hass: HomeAssistant) -> bool:
    """Whether the recorder already holds the demo's earlier days."""
    now = dt_util.utcnow()
    door = next(spec.entity_id for spec in ENTITIES if spec.key == "door")
    states = await get_instance(hass).async_add_executor_job(
        lambda: history.state_changes_during_period(
            hass, now - timedelta(days=7), now - timedelta(hours=1), door, no_attributes=True
        )
    )
    return bool(states.get(door))


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Load the data, add the entities, write the history once, then play live."""
    data_dir = Path(hass.config.path(DATA_DIR_NAME))
    timeline = await hass.async_add_executor_job(Timeline.load, data_dir)
    speed = float(os.environ.get(ENV_SPEED) or 1)
    home = DemoHome(hass, timeline, await _async_calendar(hass), speed)
    entry.runtime_data = home
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)

    async def _async_started(_: HomeAssistant) -> None:
        if "recorder" in hass.config.components and not await _async_has_history(hass):
            home.async_write_history(dt_util.utcnow())
            # Give every entity its current state back, then wait for the database.
            async_dispatcher_send(hass, SIGNAL_UPDATE, frozenset(home.values))
            # A purge that keeps everything makes the recorder re-read its oldest state, so
            # the history views show the days just written.
            await hass.services.async_call("recorder", "purge", {"keep_days": 365})
            await get_instance(hass).async_block_till_done()
        entry.async_on_unload(home.async_start())

    entry.async_on_unload(async_at_started(hass, _async_started))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Stop playing."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
