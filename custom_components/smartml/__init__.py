"""SmartML: learns the household's routines from the state bus and predicts them locally."""

from __future__ import annotations

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .config_flow import home_area_as_the_home
from .const import (
    CONF_CLIMATE,
    CONF_SECURITY,
    DOMAIN,
    ISSUE_ENTITY_MISSING,
    ISSUE_RECORDER_EXCLUDES,
    ISSUE_RECORDER_KEEP_DAYS,
    ISSUE_SENSOR_SILENT,
    LOGGER,
    PLATFORMS,
)
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator, SmartMLRuntime
from .entity import left_on_unique_id
from .home_spec import occupancy_areas, rename_in_options
from .services import async_setup_services
from .store import LearnedState, SmartMLStorage

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# Repair issues of one entry (their ids end with the entry's id).
ENTRY_ISSUES = (ISSUE_ENTITY_MISSING, ISSUE_SENSOR_SILENT, ISSUE_RECORDER_EXCLUDES, ISSUE_RECORDER_KEEP_DAYS)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once for all entries."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: SmartMLConfigEntry) -> bool:
    """Bring an entry's options to this version's form."""
    if entry.version > 1:
        return False  # written by a newer SmartML
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(entry, options=home_area_as_the_home(entry.options), minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SmartMLConfigEntry) -> bool:
    """Load what was learned, fill gaps from the recorder, start collecting and predicting."""
    # From the start: a rename while what was learned is loaded, the recorder read or the
    # first fit run is followed too.
    renames = _RenameFollower(hass, entry)
    entry.async_on_unload(hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, renames.async_renamed))
    storage = SmartMLStorage(hass, entry.entry_id)
    state = await storage.async_load() or LearnedState()
    renames.async_loaded(state)
    coordinator = SmartMLCoordinator(hass, entry, storage, state)
    renames.async_attach(coordinator)
    try:
        if storage.loaded_legacy:
            await storage.async_save_now()
        elif storage.copy_missing:
            await storage.async_save_choices()
        await coordinator.anomalies.async_load_phrases()
        await coordinator.async_bootstrap()
        entry.async_on_unload(coordinator.async_start_collecting())
        await coordinator.fitter.async_refresh()
        entry.async_on_unload(coordinator.async_start())
        entry.async_on_unload(coordinator.setpoints.forget_refusals)
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        # Setup is retried with a new coordinator: this one's thread and pending writes end
        # here, so that a late write cannot overwrite the files of the next attempt.
        await coordinator.async_shutdown()
        await storage.async_close()
        raise
    entry.runtime_data = SmartMLRuntime(coordinator)
    # The home device first: area and thermostat devices point at it.
    home_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="SmartML",
        model="Home routines",
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    coordinator.home_device_id = home_device.id
    _async_remove_stale_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _async_remove_stale_entities(hass, entry, coordinator.offered_unique_ids)
    return True


class _RenameFollower:
    """Follows the entities SmartML uses to their new ids: options, what was learned, its own entities."""

    def __init__(self, hass: HomeAssistant, entry: SmartMLConfigEntry) -> None:
        """Listen before what was learned is loaded; renames until then wait for it."""
        self.hass, self.entry = hass, entry
        self._coordinator: SmartMLCoordinator | None = None
        self._waiting: list[tuple[str, str]] = []

    @callback
    def async_loaded(self, state: LearnedState) -> None:
        """What was learned is loaded: it follows the renames heard meanwhile.

        Before the coordinator is made, which forgets what the options no longer name.
        """
        for old, new in self._waiting:
            state.rename_entity(old, new)
        self._waiting = []

    @callback
    def async_attach(self, coordinator: SmartMLCoordinator) -> None:
        """From now on the coordinator follows each rename at once."""
        self._coordinator = coordinator

    @callback
    def async_renamed(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        """An entity of the registry changed: follow it if SmartML uses it."""
        hass, entry, data = self.hass, self.entry, event.data
        if data["action"] != "update":
            return
        if (old := data.get("old_entity_id")) is None:
            # A security entity shown as another kind ("Show as"): a motion sensor is no door.
            if data["changes"].keys() & {"device_class", "original_device_class"} and data["entity_id"] in (
                entry.options.get(CONF_SECURITY) or []
            ):
                hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        new = data["entity_id"]
        # The options, not the roles of this setup: a second rename before the reload is ours too.
        options = rename_in_options(entry.options, old, new)
        if options == entry.options:
            return
        if self._coordinator is None:
            self._waiting.append((old, new))
        else:
            self._coordinator.async_rename_entity(old, new)
        # A reload with the new options collects under the new id.
        hass.config_entries.async_update_entry(entry, options=options)
        try:
            _async_follow_rename(hass, entry, old, new)
        except (dr.DeviceCollisionError, ValueError) as err:
            # The new id was another's (deleted) thermostat or device: SmartML's entities start afresh.
            LOGGER.debug("SmartML's own entities of %s could not follow it to %s: %s", old, new, err)
        hass.config_entries.async_schedule_reload(entry.entry_id)


@callback
def _async_follow_rename(hass: HomeAssistant, entry: SmartMLConfigEntry, old: str, new: str) -> None:
    """Move SmartML's own entities and device of a renamed thermostat or watched device to its new id.

    Their unique ids hold the entity id: without this, the reload would offer new entities
    and remove the old ones, with the ids, names and enabled state the user gave them.
    """
    devices, entities = dr.async_get(hass), er.async_get(hass)
    old_scope, new_scope = f"{entry.entry_id}_{old}", f"{entry.entry_id}_{new}"
    moved: list[er.RegistryEntry] = []
    # Looked up among the entry's own devices: identifiers are unique only within a config
    # entry from 2026.8, which deprecates the registry-wide `async_get_device`.
    device = next(
        (
            device
            for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
            if (DOMAIN, old_scope) in device.identifiers
        ),
        None,
    )
    if device is not None:
        devices.async_update_device(device.id, new_identifiers={(DOMAIN, new_scope)})
        moved += er.async_entries_for_device(entities, device.id, include_disabled_entities=True)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id == left_on_unique_id(entry.entry_id, old):
            moved.append(entity)
    for entity in moved:
        if entity.unique_id.startswith(f"{old_scope}_"):
            new_unique_id = new_scope + entity.unique_id.removeprefix(old_scope)
            entities.async_update_entity(entity.entity_id, new_unique_id=new_unique_id)


@callback
def _async_remove_stale_devices(hass: HomeAssistant, entry: SmartMLConfigEntry) -> None:
    """Remove the devices of areas and thermostats the options no longer have."""
    kept = {entry.entry_id}
    kept.update(f"{entry.entry_id}_{area}" for area in occupancy_areas(entry.options))
    kept.update(f"{entry.entry_id}_{climate_id}" for climate_id in entry.options.get(CONF_CLIMATE) or [])
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(domain == DOMAIN and key in kept for domain, key in device.identifiers):
            # Removing the device itself: a device belongs to one config entry from 2026.8,
            # which deprecates taking an entry off a device.
            registry.async_remove_device(device.id)


@callback
def _async_remove_stale_entities(hass: HomeAssistant, entry: SmartMLConfigEntry, offered: dict[str, set[str]]) -> None:
    """Remove the entities their platform no longer offers: a house meter or watched device taken out.

    An entity the user disabled is still offered, so it stays disabled rather than coming back.
    A platform whose setup failed before it offered anything keeps its entities and their settings.
    """
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain in offered and entity.unique_id not in offered[entity.domain]:
            registry.async_remove(entity.entity_id)


async def async_unload_entry(hass: HomeAssistant, entry: SmartMLConfigEntry) -> bool:
    """Unload the platforms, stop predicting and fitting, then save what was learned a last time."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        coordinator = entry.runtime_data.coordinator
        # Stopped first, so that no refresh still running schedules a write after the last one.
        await coordinator.async_shutdown()
        await coordinator.storage.async_close()
        _async_delete_issues(hass, entry)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: SmartMLConfigEntry) -> None:
    """Delete the learned state with the entry."""
    _async_delete_issues(hass, entry)
    await SmartMLStorage(hass, entry.entry_id).async_remove()


@callback
def _async_delete_issues(hass: HomeAssistant, entry: SmartMLConfigEntry) -> None:
    """The entry's repair issues go with it (a loaded entry raises again what still holds)."""
    for key in ENTRY_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")
