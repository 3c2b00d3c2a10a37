"""Every SmartML service with wrong input: a translated error (or a schema error), and
nothing learned changes."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceNotSupported, ServiceValidationError, Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
import voluptuous as vol

from custom_components.smartml.const import ANOMALY_TYPES, DOMAIN
from tests.components.conftest import KITCHEN_MOTION, set_home_states, setup_entry

SETPOINT = "sensor.living_room_predicted_setpoint"
SCHEMA_ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("import_history", {}),
    ("import_history", {"path": ""}),
    ("import_history", {"path": "x" * 5000}),
    ("import_history", {"path": ["a", "b"]}),
    ("import_history", {"path": {"nested": 1}}),
    ("import_history", {"path": "/tmp/x.csv", "unexpected": 1}),
    ("retrain", {"unexpected": True}),
    ("retrain", {"config_entry_id": ["x"]}),
    ("reset", {"config_entry_id": {"x": 1}}),
    ("get_forecast", {"hours": "many"}),
    ("get_forecast", {"hours": None}),
    ("get_forecast", {"areas": [{"x": 1}]}),
    ("report_false_alarm", {"event_id": ["a"]}),
    ("report_false_alarm", {"bogus": "a"}),
    ("exclude_period", {"start": "2026-11-20T00:00:00"}),
    ("exclude_period", {"start": "yesterday", "end": "2026-11-20T00:00:00"}),
    ("exclude_period", {"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00", "entities": "not an entity"}),
    ("exclude_period", {"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00", "reason": "x" * 500}),
    ("remove_excluded_period", {"start": "2026-11-20T00:00:00"}),
    ("remove_excluded_period", {"start": "2026-11-20T00:00:00", "end": "later"}),
    ("forget_data", {"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00"}),
    ("forget_data", {"entity_id": ["a", "b"], "start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00"}),
    ("apply_setpoint", {"entity_id": SETPOINT, "manual_hold_minutes": -5}),
    ("apply_setpoint", {"entity_id": SETPOINT, "manual_hold_minutes": "nan"}),
    ("apply_setpoint", {"entity_id": SETPOINT, "manual_hold_minutes": 10**6}),
]
TRANSLATED_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("import_history", {"path": "/etc/passwd"}, "path_not_allowed"),
    ("import_history", {"path": "relative/../x.csv"}, "path_not_allowed"),
    ("import_history", {"path": "\x00"}, "path_not_allowed"),
    ("import_history", {"path": "/tmp/x.csv", "config_entry_id": "nope"}, "entry_not_loaded"),
    ("retrain", {"config_entry_id": "nope"}, "entry_not_loaded"),
    ("reset", {"config_entry_id": "nope"}, "entry_not_loaded"),
    ("get_forecast", {"hours": -1}, "invalid_hours"),
    ("get_forecast", {"hours": 10**9}, "invalid_hours"),
    ("get_forecast", {"areas": ["kitchen", "'; DROP TABLE"]}, "unknown_area"),
    ("get_forecast", {"config_entry_id": "nope"}, "entry_not_loaded"),
    ("report_false_alarm", {"event_id": "x" * 10_000}, "unknown_anomaly"),
    ("report_false_alarm", {"config_entry_id": "nope"}, "entry_not_loaded"),
    ("exclude_period", {"start": "2026-11-20T10:00:00", "end": "2026-11-20T09:00:00"}, "period_not_ordered"),
    ("exclude_period", {"start": "2026-01-01T00:00:00", "end": "2026-11-20T00:00:00"}, "period_too_long"),
    (
        "exclude_period",
        {"start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00", "entities": ["light.attic"]},
        "entities_not_learned",
    ),
    ("remove_excluded_period", {"start": "2026-11-20T10:00:00", "end": "2026-11-20T09:00:00"}, "period_not_ordered"),
    ("remove_excluded_period", {"start": "2026-01-01T00:00:00", "end": "2026-11-20T00:00:00"}, "no_excluded_period"),
    (
        "forget_data",
        {"entity_id": "sensor.elsewhere", "start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00"},
        "entities_not_learned",
    ),
    (
        "forget_data",
        {"entity_id": KITCHEN_MOTION, "start": "2020-11-20T00:00:00", "end": "2020-11-21T00:00:00"},
        "nothing_to_forget",
    ),
]


def _learned(entry: MockConfigEntry) -> dict[str, Any]:
    state = entry.runtime_data.coordinator.state
    return {
        "observations": state.observations.as_dict(),
        "feedback": list(state.feedback),
        "learning": state.learning,
        "excluded": list(state.excluded),
    }


async def _loaded(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    set_home_states(hass)
    await setup_entry(hass, entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    return _learned(entry)


def _response(service: str) -> bool | None:
    responding = (
        "get_forecast",
        "import_history",
        "report_false_alarm",
        "exclude_period",
        "remove_excluded_period",
        "forget_data",
    )
    return True if service in responding else None


@pytest.mark.parametrize(("service", "data"), SCHEMA_ERRORS)
async def test_malformed_service_data_is_a_schema_error_and_changes_nothing(
    hass: HomeAssistant, mock_entry: MockConfigEntry, service: str, data: dict[str, Any]
) -> None:
    before = await _loaded(hass, mock_entry)
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=_response(service))
    assert _learned(mock_entry) == before


@pytest.mark.parametrize(("service", "data", "key"), TRANSLATED_ERRORS)
async def test_wrong_service_input_raises_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, mock_entry: MockConfigEntry, service: str, data: dict[str, Any], key: str
) -> None:
    before = await _loaded(hass, mock_entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=_response(service))
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert _learned(mock_entry) == before


async def test_every_translation_key_raised_exists(hass: HomeAssistant) -> None:
    """A translation key without a message shows the user a bare key."""
    import json
    from pathlib import Path

    strings = json.loads(
        (Path(__file__).parents[2] / "custom_components" / "smartml" / "strings.json").read_text(encoding="utf-8")
    )
    exceptions = strings["exceptions"]
    for _service, _data, key in TRANSLATED_ERRORS:
        assert key in exceptions, key
        assert exceptions[key]["message"]


def test_every_reason_the_engine_gives_is_translated() -> None:
    """A learning status reason without its text would show the user a bare key."""
    import json
    from pathlib import Path
    import re

    from custom_components.smartml.engine import results
    from custom_components.smartml.fit_reasons import REASON_PHRASE_KEYS

    smartml = Path(__file__).parents[2] / "custom_components" / "smartml"
    exceptions = json.loads((smartml / "strings.json").read_text(encoding="utf-8"))["exceptions"]
    # Every reason the engine makes names its key by a constant of results.py that is listed.
    made = {
        name
        for module in (smartml / "engine").glob("*.py")
        for name in re.findall(r"Reason\(\s*(\w+)", module.read_text(encoding="utf-8"))
    }
    assert made
    assert {getattr(results, name) for name in made} <= set(results.REASON_KEYS)
    for key in REASON_PHRASE_KEYS:
        assert exceptions[key]["message"], key


@pytest.mark.parametrize("service", ["retrain", "reset", "get_forecast", "report_false_alarm"])
async def test_services_without_a_loaded_entry_raise_a_translated_error(hass: HomeAssistant, service: str) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, {}, blocking=True, return_response=_response(service))
    assert err.value.translation_key == "entry_not_loaded"


async def test_apply_setpoint_with_malformed_hold_is_a_schema_error(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    before = await _loaded(hass, mock_entry)
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "apply_setpoint",
            {"entity_id": "sensor.living_room_predicted_setpoint", "manual_hold_minutes": "soon"},
            blocking=True,
        )
    assert _learned(mock_entry) == before


@pytest.mark.parametrize("target", ["sensor.smartml_learning_status", "sensor.smartml_observations"])
async def test_apply_setpoint_on_another_sensor_is_not_supported(
    hass: HomeAssistant, mock_entry: MockConfigEntry, target: str
) -> None:
    """Only a predicted setpoint can be applied: any other SmartML sensor is refused with a translated error."""
    before = await _loaded(hass, mock_entry)
    with pytest.raises(ServiceNotSupported) as err:
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": target}, blocking=True)
    assert err.value.translation_key == "service_not_supported"
    assert _learned(mock_entry) == before


def test_every_anomaly_type_of_the_event_entity_is_translated() -> None:
    """The logbook and the entity card show a type's name, never its bare key."""
    import json
    from pathlib import Path

    strings = json.loads(
        (Path(__file__).parents[2] / "custom_components" / "smartml" / "strings.json").read_text(encoding="utf-8")
    )
    states = strings["entity"]["event"]["anomaly"]["state_attributes"]["event_type"]["state"]
    assert set(ANOMALY_TYPES) <= set(states)


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("reset", {}),
        ("import_history", {"path": "/tmp/x.csv"}),
        ("forget_data", {"entity_id": KITCHEN_MOTION, "start": "2026-11-20T00:00:00", "end": "2026-11-21T00:00:00"}),
    ],
)
async def test_what_deletes_readings_or_reads_files_is_for_administrators(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_read_only_user: MockUser, service: str, data: dict[str, Any]
) -> None:
    before = await _loaded(hass, mock_entry)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            service,
            data,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
            return_response=_response(service),
        )
    assert _learned(mock_entry) == before
