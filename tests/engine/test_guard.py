"""Guard rails for applying a predicted setpoint."""

from custom_components.smartml.engine.guard import guarded_setpoint

BASE = {
    "min_temp": 7.0,
    "max_temp": 25.0,
    "hvac_mode": "heat",
    "last_manual_change": None,
    "now": 10_000.0,
    "manual_hold_minutes": 60,
}


def test_setpoint_is_rounded_to_half_degrees() -> None:
    assert guarded_setpoint(20.26, **BASE) == (20.5, "ok")


def test_setpoint_is_rounded_to_the_thermostats_step() -> None:
    assert guarded_setpoint(20.4, **BASE, step=1.0) == (20.0, "ok")
    assert guarded_setpoint(68.7, **{**BASE, "max_temp": 86.0}, step=1.0) == (69.0, "ok")
    assert guarded_setpoint(20.26, **BASE, step=0.1) == (20.3, "ok")
    assert guarded_setpoint(20.0, **BASE, step=0.0) == (None, "invalid_prediction")


def test_setpoint_is_clamped_to_thermostat_range() -> None:
    assert guarded_setpoint(31.0, **BASE) == (25.0, "ok")
    assert guarded_setpoint(2.0, **BASE) == (7.0, "ok")


def test_thermostat_that_is_off_is_left_alone() -> None:
    assert guarded_setpoint(20.0, **{**BASE, "hvac_mode": "off"}) == (None, "hvac_off")


def test_thermostat_in_a_mode_without_a_target_temperature_is_left_alone() -> None:
    for mode in ("fan_only", "dry"):
        assert guarded_setpoint(20.0, **{**BASE, "hvac_mode": mode}) == (None, "hvac_mode")
    for mode in ("heat", "cool", "heat_cool", "auto"):
        assert guarded_setpoint(20.0, **{**BASE, "hvac_mode": mode}) == (20.0, "ok")


def test_thermostat_showing_no_target_temperature_is_left_alone() -> None:
    assert guarded_setpoint(20.0, **BASE, shows_target=False) == (None, "no_target")


def test_recent_manual_change_is_respected_until_hold_expires() -> None:
    recent = {**BASE, "last_manual_change": 10_000.0 - 30 * 60}
    assert guarded_setpoint(20.0, **recent) == (None, "manual_override")
    assert guarded_setpoint(20.0, **{**recent, "manual_hold_minutes": 20}) == (20.0, "ok")


def test_nonsense_prediction_is_refused() -> None:
    assert guarded_setpoint(float("nan"), **BASE) == (None, "invalid_prediction")
