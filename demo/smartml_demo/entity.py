"""Base of the demo entities: one device per entity, in the entity's area."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN, SIGNAL_UPDATE
from .feeder import DemoHome
from .home import DemoEntity


class DemoHomeEntity(Entity):
    """An entity whose state is the demo data's current value for its key."""

    _attr_should_poll = False
    _attr_has_entity_name = True
    _attr_name = None
    # Keys besides the entity's own that change its state.
    extra_keys: tuple[str, ...] = ()

    def __init__(self, home: DemoHome, spec: DemoEntity) -> None:
        self.home = home
        self.spec = spec
        self.entity_id = spec.entity_id
        self._attr_unique_id = f"{DOMAIN}_{spec.object_id}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, spec.object_id)},
            name=spec.name,
            manufacturer="SmartML demo",
            model=spec.platform.replace("_", " ").capitalize(),
            suggested_area=spec.area,
        )

    @property
    def value(self) -> str | None:
        """The current value of the entity's key."""
        return self.home.values.get(self.spec.key)

    async def async_added_to_hass(self) -> None:
        """Follow the feeder."""
        self.async_on_remove(async_dispatcher_connect(self.hass, SIGNAL_UPDATE, self._changed))

    @callback
    def _changed(self, keys: frozenset[str]) -> None:
        if self.spec.key in keys or not keys.isdisjoint(self.extra_keys):
            self.async_write_ha_state()
