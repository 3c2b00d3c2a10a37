"""A run of history added at once converts exactly as the same states added one by one."""

from __future__ import annotations

import random
from typing import Any

from custom_components.smartml.engine.observations import (
    ROLE_DEVICE,
    ROLE_WATCHED,
    ObservationStore,
    convert_state,
    normal_unit,
)

WATTS = {"unit_of_measurement": "W"}
KILOWATTS = {"unit_of_measurement": "kW"}
MOTION = {"device_class": "motion"}
HEAT = {"temperature": 21.0, "current_temperature": 19.5, "hvac_action": "heating"}
IDLE = {"temperature": 18.0, "current_temperature": 20.0, "hvac_action": "idle"}

STREAMS: dict[str, tuple[str, list[tuple[str, dict[str, Any] | None]]]] = {
    "sensor.power": (
        "power",
        [("350", WATTS), ("1.2", KILOWATTS), ("banana", WATTS), ("unavailable", WATTS), ("90", None)],
    ),
    "sensor.energy": (
        "energy",
        [
            ("1200.5", {"unit_of_measurement": "Wh"}),
            ("3.25", None),
            ("7", {"unit_of_measurement": "gal"}),
            ("-4", None),
        ],
    ),
    "sensor.hall_temperature": (
        "environment",
        [("70.1", {"unit_of_measurement": "°F"}), ("21.5", {"unit_of_measurement": "°C"}), ("nan", None), ("", None)],
    ),
    "sensor.outside": ("outdoor_temperature", [("-3.5", None), ("inf", None), ("500", None), ("unknown", None)]),
    "binary_sensor.motion": ("occupancy", [("on", MOTION), ("off", MOTION), ("unknown", MOTION), ("on", None)]),
    "climate.hall": ("climate", [("heat", HEAT), ("heat", IDLE), ("off", IDLE), ("cool", {"temperature": "warm"})]),
}


def _rows(entity_id: str, seed: int) -> list[tuple[str, float, dict[str, Any] | None]]:
    rng = random.Random(seed)
    choices = STREAMS[entity_id][1]
    ts = 1_700_000_000.0
    rows = []
    for _ in range(3000):
        # Mostly forward in time, now and then a step back (out of order).
        ts += rng.choice([-30.0, 7.0, 61.0, 301.0, 900.0])
        state, attributes = rng.choice(choices)
        rows.append((state, ts, attributes))
    return rows


def test_add_states_matches_add_state_one_by_one() -> None:
    one_by_one, at_once = ObservationStore(), ObservationStore()
    for seed, (entity_id, (role, _)) in enumerate(STREAMS.items()):
        rows = _rows(entity_id, seed)
        for state, ts, attributes in rows:
            one_by_one.add_state(entity_id, role, state, ts, attributes)
        at_once.add_states(entity_id, role, rows)

    assert at_once.skipped == one_by_one.skipped
    assert set(at_once.channels) == set(one_by_one.channels)
    for channel, buf in one_by_one.channels.items():
        other = at_once.channels[channel]
        assert list(other.times) == list(buf.times), channel
        assert list(other.values) == list(buf.values), channel
        assert (other.bucket_start, other.bucket_value, other.bucket_count) == (
            buf.bucket_start,
            buf.bucket_value,
            buf.bucket_count,
        ) or buf.bucket_count == other.bucket_count == 0


def test_a_watched_sensor_is_kept_in_its_kind_s_unit() -> None:
    def kept(state: str, unit: str) -> tuple[float, str | None]:
        [(_, value)] = convert_state("sensor.x", ROLE_WATCHED, state, {"unit_of_measurement": unit})
        return round(value, 6), normal_unit(ROLE_WATCHED, unit)

    assert kept("68", "°F") == (20.0, "°C")
    assert kept("1.5", "kW") == (1500.0, "W")
    assert kept("2500", "Wh") == (2.5, "kWh")
    assert kept("812", "ppm") == (812.0, "ppm")
    # A watched device's meter is kept in kWh whatever it shows; its power sensor in W.
    assert normal_unit(ROLE_DEVICE, "Wh") == normal_unit(ROLE_DEVICE, "kWh") == "kWh"
    assert normal_unit(ROLE_DEVICE, "kW") == "W"
