"""Service calls with wrong input: translated errors, nothing changed."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.smartml.const import CONF_AREAS, CONF_ENERGY, CONF_OCCUPANCY, CONF_POWER, CONF_PRESENCE, DOMAIN

from .conftest import THERMOSTAT, home_options, set_home_states, setup_entry


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"hours": 0}, "invalid_hours"),
        ({"hours": 49}, "invalid_hours"),
        ({"areas": ["attic"]}, "unknown_area"),
        ({"hours": 6}, "not_ready"),
    ],
)
async def test_get_forecast_rejects_bad_input(
    hass: HomeAssistant, mock_entry: MockConfigEntry, data: dict, key: str
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "get_forecast", data, blocking=True, return_response=True)
    assert err.value.translation_key == key
    assert err.value.translation_domain == DOMAIN


async def test_a_fresh_home_says_why_it_is_not_ready_in_home_assistants_language(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The learning status's reason and get_forecast's refusal speak the user's language, naming the models in words."""
    dutch = {
        "reason_of_model": "{model} — {reason}",
        "reason_model_all": "Alle modellen",
        "reason_home_history": "{days} van {needed} dag geschiedenis",
    }

    async def translations(hass: HomeAssistant, language: str, category: str, integrations: Any) -> dict[str, str]:
        assert (language, category) == ("nl", "exceptions")
        return {f"component.{DOMAIN}.exceptions.{key}.message": text for key, text in dutch.items()}

    monkeypatch.setattr("custom_components.smartml.anomalies.async_get_translations", translations)
    hass.config.language = "nl"
    set_home_states(hass)
    await setup_entry(hass, mock_entry)

    said = "Alle modellen — 0.0 van 1 dag geschiedenis"
    assert hass.states.get("sensor.smartml_learning_status").attributes["reason"] == said
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "get_forecast", {}, blocking=True, return_response=True)
    assert err.value.translation_key == "not_ready"
    assert err.value.translation_placeholders == {"reason": said}


async def test_get_forecast_takes_one_area_without_a_list(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    # Read as ["attic"]: refused for the area, not for its type.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "get_forecast", {"areas": "attic"}, blocking=True, return_response=True)
    assert err.value.translation_key == "unknown_area"


async def test_get_forecast_of_a_home_with_nothing_to_forecast_says_so(hass: HomeAssistant) -> None:
    set_home_states(hass)
    nothing = {key: [] for key in (CONF_OCCUPANCY, CONF_PRESENCE, CONF_POWER, CONF_ENERGY)}
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**nothing, **{CONF_AREAS: {}}))
    await setup_entry(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "get_forecast", {}, blocking=True, return_response=True)
    assert err.value.translation_key == "nothing_to_forecast"


async def test_get_forecast_schema_rejects_wrong_types(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    await setup_entry(hass, mock_entry)
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, "get_forecast", {"hours": "many"}, blocking=True, return_response=True)


async def test_report_false_alarm_without_anomaly_is_refused(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    await setup_entry(hass, mock_entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "report_false_alarm", {}, blocking=True)
    assert err.value.translation_key == "no_anomaly" and not err.value.translation_placeholders
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "nope"}, blocking=True)
    assert err.value.translation_key == "unknown_anomaly"
    assert mock_entry.runtime_data.coordinator.state.feedback == []


async def test_apply_setpoint_without_prediction_changes_nothing(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    calls = []
    hass.services.async_register("climate", "set_temperature", calls.append)
    # Without a prediction the sensor is unavailable, and entity services skip it.
    assert hass.states.get("sensor.living_room_predicted_setpoint").state == "unavailable"
    await hass.services.async_call(
        DOMAIN, "apply_setpoint", {"entity_id": "sensor.living_room_predicted_setpoint"}, blocking=True
    )
    assert calls == []
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == 20.5
