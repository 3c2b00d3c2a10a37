"""SensorWatch: alarm rules and explanations around the streaming detector, on synthetic series."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
import json
import math
import random

import pytest

from custom_components.smartml.engine.sensor_watch import (
    ALARM_COOLDOWN_SECONDS,
    MAX_THRESHOLD,
    SENSITIVITY_THRESHOLDS,
    SensorWatch,
    explain,
    format_value,
)

GARAGE = "sensor.garage_temperature"
STEP = 300.0
START = 1_780_000_000.0  # 2026-05-28


def _steady(count: int, seed: int = 1, level: float = 20.0) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0.0, 0.3) for _ in range(count)]


def _times(count: int, start: float = START) -> list[float]:
    return [start + i * STEP for i in range(count)]


def _feed(watch: SensorWatch, values: list[float], start: float = START) -> list[dict]:
    times = _times(len(values), start)
    return watch.feed(GARAGE, times, values, now=times[-1] + STEP, name="Garage temperature", unit="°C")


def test_jump_after_learning_raises_one_explained_anomaly() -> None:
    watch = SensorWatch(timezone="Europe/Berlin")
    anomalies = _feed(watch, [*_steady(600), 41.2, 41.0, 41.1])
    assert len(anomalies) == 1
    anomaly = anomalies[0]
    assert anomaly.kind == "security"
    assert anomaly.type == "unusual_value"
    assert anomaly.entity_ids == [GARAGE]
    assert anomaly.ts == START + 600 * STEP
    assert anomaly.score >= SENSITIVITY_THRESHOLDS["medium"]
    facts = anomaly.facts
    assert isinstance(facts, Mapping)
    assert facts["value"] == 41.2
    assert facts["highest"] < 21.5
    assert facts["days_of_history"] == 2
    # 600 steps of 5 minutes after 2026-05-28 20:26:40 UTC is 22:26:40 UTC, 00:26 in Berlin (UTC+2).
    assert facts["local_time"] == "00:26"
    assert anomaly.explanation == (
        f"Garage temperature read 41.2 °C around 00:26, higher than anything it showed in the last 2 days "
        f"(at most {format_value(facts['highest'], '°C')})."
    )


def test_drop_is_explained_as_lower_than_anything() -> None:
    watch = SensorWatch()
    anomalies = _feed(watch, [*_steady(600), -5.0, -5.1])
    assert len(anomalies) == 1
    assert "lower than anything it showed in the last 2 days (at least" in anomalies[0].explanation


def test_nothing_alarms_while_learning() -> None:
    watch = SensorWatch()
    assert _feed(watch, [*_steady(300), 41.2, 41.0]) == []
    assert watch.status()[GARAGE] == {"values": 302, "ready": False, "threshold": 0.8}


def test_values_scored_long_after_they_were_measured_do_not_alarm() -> None:
    watch = SensorWatch()
    values = [*_steady(600), 41.2, 41.0]
    times = _times(len(values))
    assert watch.feed(GARAGE, times, values, now=times[-1] + 86_400.0) == []
    assert watch.last_time(GARAGE) == times[-1]


def test_at_most_one_alarm_per_sensor_within_the_cooldown() -> None:
    watch = SensorWatch(sensitivity="high")
    values = [*_steady(600), 41.2, *_steady(12, seed=2), 60.0, *_steady(12, seed=3)]
    assert len(_feed(watch, values)) == 1
    # Later than the cooldown, the next episode alarms again.
    later = START + len(values) * STEP + ALARM_COOLDOWN_SECONDS
    anomalies = _feed(watch, [*_steady(30, seed=4), 90.0, 20.0], start=later)
    assert len(anomalies) == 1
    assert anomalies[0].facts["value"]  # type: ignore[index] == 90.0


def test_non_finite_and_old_values_are_ignored() -> None:
    watch = SensorWatch()
    _feed(watch, _steady(10))
    last = watch.last_time(GARAGE)
    watch.feed(GARAGE, [last - STEP, last, last + STEP], [30.0, 30.0, math.nan], now=last + STEP)
    assert watch.status()[GARAGE]["values"] == 10
    assert watch.last_time(GARAGE) == last


def test_state_round_trips_through_json_and_continues_identically() -> None:
    values = [*_steady(600), 41.2, 41.0]
    straight = SensorWatch()
    expected = _feed(straight, values)

    first = SensorWatch()
    _feed(first, values[:400])
    restored = SensorWatch(saved=json.loads(json.dumps(first.as_dict())))
    assert restored.last_time(GARAGE) == START + 399 * STEP
    assert restored.status() == first.status()
    assert _feed(restored, values[400:], start=START + 400 * STEP) == expected
    assert restored.as_dict() == straight.as_dict()


def test_detector_state_of_an_older_version_starts_afresh() -> None:
    watch = SensorWatch()
    _feed(watch, _steady(50))
    saved = watch.as_dict()
    saved["sensors"][GARAGE]["detector"] = {"version": 1, "learning_points": 500, "count": 50}
    restored = SensorWatch(saved=saved)
    assert restored.last_time(GARAGE) == -math.inf
    assert restored.status()[GARAGE]["values"] == 0
    _feed(restored, _steady(5))
    assert restored.status()[GARAGE]["values"] == 5


@pytest.mark.parametrize(
    "saved",
    [
        {"version": 99, "sensors": {GARAGE: {}}},
        {"version": 1, "sensors": "garbage"},
        {"version": 1, "sensors": {GARAGE: {"detector": {"version": 2, "count": "x"}}}},
        {"version": 1, "sensors": {GARAGE: {"threshold": "high"}}},
    ],
)
def test_damaged_state_learns_again(saved: dict) -> None:
    watch = SensorWatch(saved=saved)
    assert watch.threshold(GARAGE) == SENSITIVITY_THRESHOLDS["medium"]
    assert watch.last_time(GARAGE) == -math.inf
    _feed(watch, _steady(5))
    assert watch.status()[GARAGE]["values"] == 5


def test_feedback_raises_that_sensors_threshold_only() -> None:
    watch = SensorWatch()
    (anomaly,) = _feed(watch, [*_steady(600), 41.2, 41.0])
    other = watch.feed("sensor.freezer", _times(3), [-18.0, -18.2, -18.1], now=START)
    assert other == []
    assert watch.add_feedback(replace(anomaly, type="unusual_time")) is False
    assert watch.add_feedback(anomaly) is True
    raised = watch.threshold(GARAGE)
    assert raised == pytest.approx(min(MAX_THRESHOLD, (max(0.8, anomaly.score) + 1.0) / 2.0))
    assert watch.threshold("sensor.freezer") == SENSITIVITY_THRESHOLDS["medium"]
    for _ in range(10):
        watch.add_feedback(anomaly)
    assert watch.threshold(GARAGE) == MAX_THRESHOLD
    # Kept with the state.
    assert SensorWatch(saved=json.loads(json.dumps(watch.as_dict()))).threshold(GARAGE) == MAX_THRESHOLD


def test_sensitivity_sets_the_threshold() -> None:
    assert SensorWatch(sensitivity="low").base_threshold > SensorWatch().base_threshold
    assert SensorWatch(sensitivity="high").base_threshold < SensorWatch().base_threshold
    with pytest.raises(ValueError, match="sensitivity"):
        SensorWatch(sensitivity="paranoid")


def test_keep_only_and_rename() -> None:
    watch = SensorWatch()
    _feed(watch, _steady(5))
    watch.feed("sensor.freezer", _times(3), [-18.0, -18.2, -18.1], now=START)
    saved = SensorWatch(saved=watch.as_dict())
    for target in (watch, saved):
        target.rename(GARAGE, "sensor.garage")
        target.keep_only(["sensor.garage"])
        assert target.status() == {"sensor.garage": {"values": 5, "ready": False, "threshold": 0.8}}


def test_explanation_of_an_unusual_change_within_the_usual_range() -> None:
    facts = {
        "name": "House power",
        "value": 1500.0,
        "unit": "W",
        "local_time": "03:10",
        "lowest": 120.0,
        "highest": 3200.0,
        "previous": 180.0,
        "days_of_history": 1,
    }
    assert explain(facts) == (
        "House power read 1500 W around 03:10 just after 180 W; it has not changed like this in the last day."
    )


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(41.2, "°C", "41.2 °C"), (1850.4, "ppm", "1850 ppm"), (0.534, "kW", "0.534 kW"), (5.0, None, "5")],
)
def test_format_value(value: float, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


def test_a_sensor_learns_again_only_when_its_excluded_periods_over_kept_values_change() -> None:
    watch = SensorWatch()
    values = _steady(50)
    _feed(watch, values)
    span = (START + 10 * STEP, START + 20 * STEP)
    assert watch.must_relearn(GARAGE, [span], first=START)

    watch.relearn(GARAGE)
    watch.feed(GARAGE, _times(50), values, now=START + 50 * STEP, excluded=[span])
    assert watch.status()[GARAGE]["values"] == 40
    assert not watch.must_relearn(GARAGE, [span], first=START)
    # Not learned yet: a period still to come changes nothing.
    assert not watch.must_relearn(GARAGE, [span, (START + 60 * STEP, START + 70 * STEP)], first=START)
    # The period pruned together with its values: nothing to learn again.
    assert not watch.must_relearn(GARAGE, [], first=START + 30 * STEP)
    # What it was learned without survives a restart; a period no longer excluded is learned again.
    restored = SensorWatch(saved=json.loads(json.dumps(watch.as_dict())))
    assert restored.last_time(GARAGE) == START + 49 * STEP
    assert not restored.must_relearn(GARAGE, [span], first=START)
    assert restored.must_relearn(GARAGE, [], first=START)


def test_values_of_an_excluded_period_are_scored_by_a_copy_that_learns_nothing_lasting() -> None:
    straight, holiday = SensorWatch(), SensorWatch()
    values = _steady(600)
    _feed(straight, values)
    _feed(holiday, values)
    away = (START + 600 * STEP, START + 700 * STEP)
    times = _times(3, START + 600 * STEP)
    alarms = holiday.feed(GARAGE, times, [41.2, 41.0, 41.1], now=times[-1] + STEP, excluded=[away])
    assert [anomaly.type for anomaly in alarms] == ["unusual_value"]
    assert holiday.status()[GARAGE]["values"] == 600

    # After the period the sensor goes on as if it had never been.
    after = _steady(20, seed=5)
    expected = _feed(straight, after, start=START + 700 * STEP)
    assert (
        holiday.feed(GARAGE, _times(20, START + 700 * STEP), after, now=START + 720 * STEP, excluded=[away]) == expected
    )
    assert holiday.as_dict()["sensors"][GARAGE]["detector"] == straight.as_dict()["sensors"][GARAGE]["detector"]
