"""Home Assistant 2026.2 to 2026.11: each interface change met by what the running release offers.

Where the installed release has only one side of a change, the other side is put in by
wrapping the real registry or entity with the newer interface, as announced on Home
Assistant's developer blog, so both paths run against a real Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, selector
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_component import DATA_INSTANCES
from homeassistant.helpers.frame import report_usage
from homeassistant.helpers.typing import UNDEFINED
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.smartml import binary_sensor, compat, event, sensor, switch
from custom_components.smartml.const import DOMAIN
from custom_components.smartml.entity import SmartMLEntity

from .conftest import door_anomaly, set_home_states, setup_entry

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE_HOOKS = ("async_prepare_to_add_to_hass", "async_added_to_hass", "async_will_remove_from_hass")


def _registry_taking(monkeypatch: pytest.MonkeyPatch, *, by_id: bool) -> list[str]:
    """Make the device registry take the parent in one form only; returns the forms it was given."""
    original = dr.DeviceRegistry.async_get_or_create
    given: list[str] = []

    def before_2026_8(self: dr.DeviceRegistry, **kwargs: Any) -> dr.DeviceEntry:
        assert "via_device_id" not in kwargs
        if "via_device" in kwargs:
            given.append("via_device")
        return original(self, **kwargs)

    def from_2026_8(self: dr.DeviceRegistry, *, via_device_id: Any = UNDEFINED, **kwargs: Any) -> dr.DeviceEntry:
        assert "via_device" not in kwargs, "deprecated from 2026.8"
        device = original(self, **kwargs)
        if via_device_id is not UNDEFINED:
            given.append("via_device_id")
            device = self.async_update_device(device.id, via_device_id=via_device_id) or device
        return device

    monkeypatch.setattr(dr.DeviceRegistry, "async_get_or_create", from_2026_8 if by_id else before_2026_8)
    return given


@pytest.mark.parametrize(("by_id", "form"), [(False, "via_device"), (True, "via_device_id")])
async def test_area_and_thermostat_devices_hang_from_the_home_device(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch, by_id: bool, form: str
) -> None:
    given = _registry_taking(monkeypatch, by_id=by_id)
    assert compat.devices_link_by_id() is by_id
    set_home_states(hass)
    await setup_entry(hass, mock_entry)

    registry = dr.async_get(hass)
    devices = {
        key: device
        for device in dr.async_entries_for_config_entry(registry, mock_entry.entry_id)
        for _domain, key in device.identifiers
    }
    home = devices[mock_entry.entry_id]
    assert home.via_device_id is None
    for scope in ("kitchen", "climate.living_room"):
        assert devices[f"{mock_entry.entry_id}_{scope}"].via_device_id == home.id
    assert given and set(given) == {form}


class _UnitOfRatio(StrEnum):
    PERCENTAGE = "%"


def test_percentage_unit_is_the_ratio_enumerator_where_the_release_has_it() -> None:
    from_2026_7 = ModuleType("const")
    from_2026_7.PERCENTAGE = "%"  # type: ignore[attr-defined]
    from_2026_7.UnitOfRatio = _UnitOfRatio  # type: ignore[attr-defined]
    before = ModuleType("const")
    before.PERCENTAGE = "%"  # type: ignore[attr-defined]

    assert compat.percentage_unit(from_2026_7) is _UnitOfRatio.PERCENTAGE
    unit = compat.percentage_unit(before)
    assert unit == "%" and not isinstance(unit, StrEnum)


async def test_percentage_sensors_show_percent(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert sensor.PERCENT == "%"
    # Registered, though unavailable until a model is fitted.
    entry = hass.data[DATA_INSTANCES]["sensor"].get_entity("sensor.kitchen_occupancy_probability")
    assert entry is not None and entry.unit_of_measurement == "%"


def _entity_classes() -> list[type[SmartMLEntity]]:
    found: list[type[SmartMLEntity]] = []
    for module in (sensor, binary_sensor, event, switch):
        found += [
            cls
            for _name, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, SmartMLEntity) and cls.__module__ == module.__name__
        ]
    return found


def test_every_entity_opts_in_to_renames_in_place() -> None:
    """2026.11 renames in place only where each class with a lifecycle hook (or a subclass) has the new one."""
    classes = _entity_classes()
    assert len(classes) >= 6
    for cls in classes:
        ours = [base for base in cls.__mro__ if base.__module__.startswith("custom_components.smartml")]
        for base in ours:
            if any(hook in vars(base) for hook in LIFECYCLE_HOOKS):
                assert any(
                    issubclass(other, base) and "async_entity_id_changed" in vars(other) for other in cls.__mro__
                ), f"{cls.__name__}: {base.__name__} has a lifecycle hook without async_entity_id_changed"


def test_entity_ids_are_suggested_in_their_platform_domain() -> None:
    """From 2026.4 an entity id in another domain than its platform's is deprecated (an error in 2027.5)."""
    for cls in _entity_classes():
        assert cls.entity_domain == cls.__module__.rpartition(".")[2], cls.__name__


def _rename_in_place(hass: HomeAssistant, domain: str, old: str, new: str) -> SmartMLEntity:
    """What 2026.11 does on a rename: state moved, `entity_id` set, the hook called."""
    entity = hass.data[DATA_INSTANCES][domain].get_entity(old)
    assert isinstance(entity, SmartMLEntity)
    hass.states.async_remove(old)
    entity.entity_id = new
    entity.async_entity_id_changed(old)
    entity.async_write_ha_state()
    return entity


@pytest.mark.parametrize("release_has_hook", [False, True])
async def test_anomalies_reach_entities_renamed_in_place(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch, release_has_hook: bool
) -> None:
    inherited: list[str] = []
    if release_has_hook:
        record: Callable[[Entity, str], None] = lambda _entity, old: inherited.append(old)  # noqa: E731
        monkeypatch.setattr(Entity, "async_entity_id_changed", record, raising=False)
    elif hasattr(Entity, "async_entity_id_changed"):
        monkeypatch.delattr(Entity, "async_entity_id_changed")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)

    _rename_in_place(hass, "binary_sensor", "binary_sensor.security_anomaly", "binary_sensor.intruder")
    _rename_in_place(hass, "event", "event.smartml_anomaly", "event.house_alerts")
    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.security_anomaly") is None
    assert hass.states.get("binary_sensor.intruder").state == "on"
    assert hass.states.get("event.house_alerts").attributes["event_type"] == "entry_without_arrival"
    # Base classes keep their own bookkeeping where the release has the hook.
    assert inherited == (["binary_sensor.security_anomaly", "event.smartml_anomaly"] if release_has_hook else [])


def _targets(node: object) -> list[dict[str, Any]]:
    """Every target selector config (and service target) in a services or blueprint YAML tree."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "target" and isinstance(value, dict):
                found.append(value)
            found += _targets(value)
    elif isinstance(node, list):
        for value in node:
            found += _targets(value)
    return found


class _BlueprintLoader(yaml.SafeLoader):
    """Reads blueprints' `!input` tags as plain names."""


_BlueprintLoader.add_constructor("!input", lambda loader, node: loader.construct_scalar(node))


def test_targets_filter_entities_only() -> None:
    """From 2026.11 a device filter in a target selector fails validation."""
    files = [ROOT / "custom_components" / DOMAIN / "services.yaml", *sorted((ROOT / "blueprints").rglob("*.yaml"))]
    targets = [
        target
        for path in files
        for target in _targets(yaml.load(path.read_text(encoding="utf-8"), Loader=_BlueprintLoader))
    ]
    assert len(targets) >= 2
    for target in targets:
        assert "device" not in target
        selector.validate_selector({"target": target})


async def test_a_renamed_thermostat_s_device_is_found_without_the_lookup_2026_8_deprecates(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From 2026.8 `DeviceRegistry.async_get_device` reports a custom integration that calls it."""
    original = dr.DeviceRegistry.async_get_device

    def from_2026_8(self: dr.DeviceRegistry, *args: Any, **kwargs: Any) -> dr.DeviceEntry | None:
        report_usage("calls `device_registry.async_get_device`, which is deprecated", breaks_in_ha_version="2027.8.0")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dr.DeviceRegistry, "async_get_device", from_2026_8)
    registry = er.async_get(hass)
    registry.async_get_or_create("climate", "test", "living_room", suggested_object_id="living_room")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry.async_update_entity("climate.living_room", new_entity_id="climate.lounge")
    await hass.async_block_till_done()

    assert mock_entry.options["climate"] == ["climate.lounge"]
    scopes = {
        key
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), mock_entry.entry_id)
        for _domain, key in device.identifiers
    }
    assert f"{mock_entry.entry_id}_climate.lounge" in scopes
    assert f"{mock_entry.entry_id}_climate.living_room" not in scopes
