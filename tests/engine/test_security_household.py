"""Security in a home of two: one person's comings and goings while the other stays in."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.smartml.engine.anomaly import SecurityModel
from custom_components.smartml.engine.constants import MODEL_SECURITY, TYPE_UNUSUAL_TIME
from custom_components.smartml.engine.home import HomeModels
from custom_components.smartml.engine.observations import ObservationStore, entity_roles
from custom_components.smartml.engine.results import Anomaly

TZ = ZoneInfo("Europe/Paris")
DOOR = "binary_sensor.front_door"
ALEX = "person.alex"
BO = "person.bo"
KITCHEN = "binary_sensor.kitchen_motion"
SPEC = {
    "timezone": "Europe/Paris",
    "areas": {"kitchen": {"occupancy": [KITCHEN]}},
    "presence": [ALEX, BO],
    "security": [DOOR],
}
FIRST_DAY = datetime(2024, 3, 4, tzinfo=TZ)  # a Monday


def _at(day: int, hour: float) -> float:
    return (FIRST_DAY + timedelta(days=day, hours=hour)).timestamp()


def _home(days: int = 21, extra: list[tuple[str, str, float]] | None = None) -> ObservationStore:
    """Two people: on weekdays Alex leaves at 08:30 while Bo is still in, Bo at 09:00, both
    back at 17:00 (the door a few seconds before each presence changes); nobody goes out at
    night (unless `extra` says so)."""
    rng = np.random.default_rng(2)
    roles = entity_roles(SPEC)
    rows: list[tuple[str, str, float]] = [(ALEX, "home", _at(0, 0)), (BO, "home", _at(0, 0)), (DOOR, "off", _at(0, 0))]
    for day in range(days):
        for hour in [*np.arange(7.0, 8.5, 0.25), *np.arange(18.0, 23.0, 0.25)]:
            rows += [(KITCHEN, "on", _at(day, hour)), (KITCHEN, "off", _at(day, hour + 0.1))]
        if (FIRST_DAY + timedelta(days=day)).weekday() >= 5:
            continue
        for person, leave in ((ALEX, 8.5), (BO, 9.0)):
            out = _at(day, leave + rng.uniform(-0.2, 0.2))
            rows += [(DOOR, "on", out), (DOOR, "off", out + 20), (person, "not_home", out + 60)]
        back = _at(day, 17.0 + rng.uniform(-0.5, 0.5))
        rows += [(DOOR, "on", back), (DOOR, "off", back + 30), (ALEX, "home", back + 10), (BO, "home", back + 12)]
    store = ObservationStore(max_points=10**6)
    for entity_id, state, ts in sorted([*rows, *(extra or [])], key=lambda r: r[2]):
        store.add_state(entity_id, roles[entity_id], state, ts)
    return store


@pytest.fixture
def model() -> SecurityModel:
    fitted = SecurityModel()
    fitted.fit(_home(), SPEC, _at(21, 0))
    assert fitted.ready()[0]
    return fitted


def _door(model: SecurityModel, ts: float) -> None:
    model.check(DOOR, 1.0, ts)
    model.check(DOOR, 0.0, ts + 20)


def _reported(model: SecurityModel, ts: float) -> list[Anomaly]:
    return [found for minute in range(1, 61) for found in model.check_open_durations(ts + 60.0 * minute)]


def test_the_door_at_an_odd_hour_is_still_told_when_nobody_comes_or_goes(model: SecurityModel) -> None:
    _door(model, _at(21, 5.5))
    assert [a.type for a in _reported(model, _at(21, 5.5))] == [TYPE_UNUSUAL_TIME]


def test_one_leaving_early_while_the_other_sleeps_is_their_going(model: SecurityModel) -> None:
    _door(model, _at(21, 5.5))
    model.check(ALEX, 0.0, _at(21, 5.5) + 60)
    # Back in for the keys a minute later: still the leaving.
    _door(model, _at(21, 5.5) + 120)
    assert _reported(model, _at(21, 5.5)) == []


def test_one_coming_home_at_night_while_the_other_sleeps_is_their_coming(model: SecurityModel) -> None:
    model.check(BO, 0.0, _at(20, 22.0))
    _door(model, _at(21, 3.0))
    model.check(BO, 1.0, _at(21, 3.0) + 30)
    assert _reported(model, _at(21, 3.0)) == []


def test_one_coming_home_waits_as_long_as_an_entry_would(model: SecurityModel) -> None:
    model.entry_grace_s_ = 300.0  # a phone that takes four minutes to say home
    model.check(BO, 0.0, _at(20, 22.0))
    _door(model, _at(21, 3.0))
    model.check(BO, 1.0, _at(21, 3.0) + 230)
    assert _reported(model, _at(21, 3.0)) == []


def test_one_person_s_early_goings_in_the_history_do_not_raise_the_threshold() -> None:
    extra: list[tuple[str, str, float]] = []
    for day in (5, 12, 19):  # Saturdays: Alex off at 05:30 while Bo sleeps, back at 22:00
        out, back = _at(day, 5.5), _at(day, 22.0)
        extra += [(DOOR, "on", out), (DOOR, "off", out + 20), (ALEX, "not_home", out + 60)]
        extra += [(DOOR, "on", back), (ALEX, "home", back + 10), (DOOR, "off", back + 30)]
    fitted = {}
    for name, store in (("plain", _home()), ("early", _home(extra=extra))):
        fitted[name] = SecurityModel()
        fitted[name].fit(store, SPEC, _at(21, 0))
    door = fitted["early"].sources_[fitted["early"].entity_source_[DOOR]]
    assert door.events == fitted["plain"].sources_[door.key].events + 6
    # The calibration (below the floor here) is what they would have raised.
    assert fitted["early"].calibration_.threshold == pytest.approx(fitted["plain"].calibration_.threshold)


def test_without_presence_entities_a_quiet_home_is_not_taken_for_an_empty_one() -> None:
    # The occupancy model's guess comes from the very activity security would score: the first
    # movement after a quiet hour would always look like someone in an empty home.
    spec = {**SPEC, "presence": []}
    kept = _home()
    store = ObservationStore(max_points=10**6)
    roles = entity_roles(spec)
    rows = [
        (entity_id, "on" if value > 0.5 else "off", ts)
        for entity_id, channel in kept.channels.items()
        if entity_id in roles
        for ts, value in zip(channel.times, channel.values, strict=True)
    ]
    for entity_id, state, ts in sorted(rows, key=lambda r: r[2]):
        store.add_state(entity_id, roles[entity_id], state, ts)
    models = HomeModels(spec)
    models.fit(store, _at(21, 0))
    assert models.report.ready[MODEL_SECURITY]
    models.predict(store, _at(21, 12.0))  # midday on a weekday: usually nobody in
    assert models.home_occupied_ is False
    assert models.check_event(KITCHEN, 1.0, _at(21, 12.0) + 60) is None
    assert models.due_anomalies(_at(21, 12.5)) == []
    # A door at an hour it never opens is still told (at once: no arrival to wait for).
    found = models.check_event(DOOR, 1.0, _at(22, 3.0))
    assert found is not None and found.type == TYPE_UNUSUAL_TIME
