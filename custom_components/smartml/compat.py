"""What differs between the Home Assistant releases SmartML runs on (2026.2 to 2026.11).

Each answer is found in what the running release offers, never in its version number,
so that a release which back-ports or drops a change is still served right.
"""

from __future__ import annotations

import inspect
from types import ModuleType

from homeassistant import const as ha_const
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN


def percentage_unit(const: ModuleType = ha_const) -> str:
    """The unit of a percentage sensor.

    From 2026.7 the `PERCENTAGE` constant is deprecated as a unit of measurement in favour
    of the `UnitOfRatio` enumerator; before, there is no enumerator. Both are "%".
    """
    ratio = getattr(const, "UnitOfRatio", None)
    member = getattr(ratio, "PERCENTAGE", None)
    return member if isinstance(member, str) else str(const.PERCENTAGE)


def devices_link_by_id() -> bool:
    """Whether a device's parent is named by its device id (`via_device_id`, 2026.8 on).

    From 2026.8 identifiers are unique only within a config entry, so `via_device`, the
    parent's identifier, is deprecated; releases before do not accept `via_device_id`.
    Entities' device info reaches `DeviceRegistry.async_get_or_create`, so its parameters
    say which form the running release takes.
    """
    return "via_device_id" in inspect.signature(dr.DeviceRegistry.async_get_or_create).parameters


def via_home_device(home_device_id: str | None, entry_id: str) -> dict[str, object]:
    """The device info keys that attach a device to the home device, in the running release's form."""
    if home_device_id is not None and devices_link_by_id():
        return {"via_device_id": home_device_id}
    return {"via_device": (DOMAIN, entry_id)}
