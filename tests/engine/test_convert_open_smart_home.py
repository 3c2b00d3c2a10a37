"""The Open Smart Home converter on tiny synthetic files in its layout (the real data stays outside)."""

from __future__ import annotations

from pathlib import Path

from custom_components.smartml.engine.history_csv import read_history_csv
from evaluation.convert import CONVERTERS, OPEN_SMART_HOME_ROOMS, convert_open_smart_home

# 2017-03-09 00:00 UTC (01:00 in Nürnberg).
T0 = 1_489_017_600


def _write_sources(folder: Path) -> None:
    measurements = folder / "Measurements"
    measurements.mkdir()
    for room in OPEN_SMART_HOME_ROOMS:
        (measurements / f"{room}_SetpointHistory.csv").write_text(
            f"{T0 + 60}\t20\n{T0 + 3600}\t16\n{T0 + 7200}\t16\n", encoding="utf-8"
        )
        (measurements / f"{room}_Temperature.csv").write_text(
            f"{T0}\t18.5\n{T0 + 600}\t18.5\n{T0 + 1200}\t18.9\n", encoding="utf-8"
        )
    (measurements / "Room2_OutdoorTemperature.csv").write_text(f"{T0}\t6.2\n{T0 + 1800}\t6.4\n", encoding="utf-8")


def test_each_room_is_a_climate_entity_with_the_outdoor_sensor(tmp_path: Path) -> None:
    _write_sources(tmp_path)
    spec = convert_open_smart_home(tmp_path, tmp_path / "out")
    assert spec["timezone"] == "Europe/Berlin"
    assert spec["climate"] == ["climate.kitchen", "climate.room1", "climate.toilet"]
    assert spec["outdoor_temperature"] == "sensor.outdoor_temperature"
    assert "open_smart_home" in CONVERTERS


def test_a_state_is_written_on_each_change_of_setpoint_or_room_temperature(tmp_path: Path) -> None:
    _write_sources(tmp_path)
    convert_open_smart_home(tmp_path, tmp_path / "out")
    history = read_history_csv(tmp_path / "out" / "history.csv")
    kitchen = [(ts - T0, attrs) for entity_id, _, ts, attrs in history.rows if entity_id == "climate.kitchen"]
    # Not before both are known; repeated values are no change; no hvac_action is made up.
    assert kitchen == [
        (60, {"temperature": 20.0, "current_temperature": 18.5}),
        (1200, {"temperature": 20.0, "current_temperature": 18.9}),
        (3600, {"temperature": 16.0, "current_temperature": 18.9}),
    ]
    outdoor = [
        (ts - T0, state) for entity_id, state, ts, _ in history.rows if entity_id == "sensor.outdoor_temperature"
    ]
    assert outdoor == [(0, "6.2"), (1800, "6.4")]
