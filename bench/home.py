"""A synthetic home of N entities: its SmartML options and its state history.

The mix follows a typical Home Assistant install: motion sensors and doors that change
a few dozen times a day, people, environmental sensors every 5 minutes, power sensors
every minute, energy meters, thermostats and an outdoor thermometer. Each entity has a
plausible daily routine so that the models fit on something like a real home.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import math
import random
from typing import Any

DAY = 86_400.0

# (kind, share of the entities); the rest of the sum is rounded into "environment".
MIX: tuple[tuple[str, float], ...] = (
    ("motion", 0.25),
    ("door", 0.10),
    ("person", 0.02),
    ("power", 0.15),
    ("energy", 0.05),
    ("climate", 0.075),
    ("outdoor", 0.005),
)
# Rows per entity per day, for the documentation.
ROWS_PER_DAY = {
    "motion": 60,
    "door": 16,
    "person": 4,
    "environment": 288,
    "power": 1440,
    "energy": 288,
    "climate": 48,
    "outdoor": 288,
}
TIME_ZONE = "Europe/Berlin"


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity of the synthetic home."""

    entity_id: str
    kind: str
    area: str | None
    attributes: dict[str, Any]


def build_entities(count: int) -> list[Entity]:
    """The home's entities, `count` in all, spread over areas of four sensors each."""
    counts = {kind: max(1, round(share * count)) for kind, share in MIX}
    counts["environment"] = max(0, count - sum(counts.values()))
    entities: list[Entity] = []
    areas = max(1, counts["motion"] // 2)
    for kind, n in counts.items():
        for i in range(n):
            area = f"area_{i % areas:03d}" if kind in ("motion", "environment") else None
            entities.append(Entity(_entity_id(kind, i), kind, area, _attributes(kind)))
    return entities[:count]


def _entity_id(kind: str, i: int) -> str:
    domain = {
        "motion": "binary_sensor",
        "door": "binary_sensor",
        "person": "person",
        "climate": "climate",
    }.get(kind, "sensor")
    return f"{domain}.bench_{kind}_{i:04d}"


def _attributes(kind: str) -> dict[str, Any]:
    by_kind: dict[str, dict[str, Any]] = {
        "motion": {"device_class": "motion"},
        "door": {"device_class": "door"},
        "person": {},
        "environment": {"device_class": "temperature", "unit_of_measurement": "°C", "state_class": "measurement"},
        "outdoor": {"device_class": "temperature", "unit_of_measurement": "°C", "state_class": "measurement"},
        "power": {"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"},
        "energy": {"device_class": "energy", "unit_of_measurement": "kWh", "state_class": "total_increasing"},
        "climate": {"hvac_modes": ["off", "heat"], "min_temp": 7, "max_temp": 35},
    }
    return by_kind[kind]


def options(entities: list[Entity], history_days: int = 28) -> dict[str, Any]:
    """SmartML config entry options (the home spec keys) for these entities."""
    areas: dict[str, dict[str, list[str]]] = {}
    spec: dict[str, Any] = {
        "areas": areas,
        "occupancy": [],
        "environment": [],
        "presence": [],
        "power": [],
        "energy": [],
        "climate": [],
        "security": [],
        "outdoor_temperature": None,
        "notify": None,
        "history_days": history_days,
        "sensitivity": "medium",
        "energy_anomalies": True,
    }
    for entity in entities:
        if entity.kind in ("motion", "environment"):
            role = "occupancy" if entity.kind == "motion" else "environment"
            area = areas.setdefault(entity.area or "area_000", {"occupancy": [], "environment": []})
            area[role].append(entity.entity_id)
        elif entity.kind == "door":
            spec["security"].append(entity.entity_id)
        elif entity.kind == "person":
            spec["presence"].append(entity.entity_id)
        elif entity.kind == "outdoor":
            spec["outdoor_temperature"] = entity.entity_id
        else:
            spec[entity.kind].append(entity.entity_id)
    return spec


def _home(day_seconds: float) -> bool:
    """Whether the household is home at this time of day (a weekday routine)."""
    hour = day_seconds / 3600.0
    return hour < 7.5 or hour >= 17.5


def history(entity: Entity, start: float, end: float, seed: int) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(time, state, attributes) rows of one entity from start to end (epoch seconds)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    kind = entity.kind
    if kind in ("motion", "door", "person"):
        per_day = ROWS_PER_DAY[kind] // 2
        for day in range(math.ceil((end - start) / DAY)):
            base = start + day * DAY
            moments: list[float] = []
            while len(moments) < per_day:
                offset = rng.uniform(0, DAY)
                # Activity mostly while home; doors at the routine's edges.
                if _home(offset) or rng.random() < 0.15:
                    moments.append(offset)
            for offset in sorted(moments):
                ts = base + offset
                if ts >= end:
                    break
                on, off = ("home", "not_home") if kind == "person" else ("on", "off")
                yield ts, on if kind != "person" else (on if _home(offset) else off), entity.attributes
                yield ts + rng.uniform(30, 600), off if kind != "person" else on, entity.attributes
        return
    step = DAY / ROWS_PER_DAY[kind]
    ts = start + rng.uniform(0, step)
    total = rng.uniform(100, 5000)
    setpoint = 20.0
    while ts < end:
        offset = ts % DAY
        home = _home(offset)
        if kind == "power":
            watts = (350 if home else 120) + rng.gauss(0, 40) + (1500 if rng.random() < 0.02 else 0)
            yield ts, f"{max(watts, 0.0):.1f}", entity.attributes
        elif kind == "energy":
            total += (0.04 if home else 0.01) * rng.uniform(0.5, 1.5)
            yield ts, f"{total:.3f}", entity.attributes
        elif kind in ("environment", "outdoor"):
            daily = math.sin(2 * math.pi * offset / DAY)
            value = (8 + 6 * daily if kind == "outdoor" else 20.5 + 1.5 * daily) + rng.gauss(0, 0.2)
            yield ts, f"{value:.2f}", entity.attributes
        else:  # climate
            setpoint = 21.0 if home else 17.0
            current = setpoint - rng.uniform(0, 1.5)
            attrs = {
                **entity.attributes,
                "temperature": setpoint,
                "current_temperature": round(current, 1),
                "hvac_action": "heating" if current < setpoint - 0.5 else "idle",
            }
            yield ts, "heat", attrs
        ts += step * rng.uniform(0.8, 1.2)


def current_state(entity: Entity, now: float) -> tuple[str, dict[str, Any]]:
    """A plausible current state, to set before SmartML starts."""
    last: tuple[str, dict[str, Any]] = ("off", entity.attributes)
    for _ts, state, attrs in history(entity, now - 3600, now, seed=1):
        last = (state, attrs)
    return last


def live_stream(entities: list[Entity], events: int, seed: int = 7) -> list[tuple[str, str, dict[str, Any]]]:
    """A stream of state changes (entity_id, state, attributes) spread over all entities."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    out: list[tuple[str, str, dict[str, Any]]] = []
    toggles: dict[str, bool] = {}
    for i in range(events):
        entity = entities[i % len(entities)]
        kind = entity.kind
        if kind in ("motion", "door"):
            toggles[entity.entity_id] = not toggles.get(entity.entity_id, False)
            state, attrs = ("on" if toggles[entity.entity_id] else "off"), entity.attributes
        elif kind == "person":
            toggles[entity.entity_id] = not toggles.get(entity.entity_id, False)
            state, attrs = ("home" if toggles[entity.entity_id] else "not_home"), entity.attributes
        elif kind == "climate":
            attrs = {**entity.attributes, "temperature": 20.0, "current_temperature": round(rng.uniform(18, 21), 1)}
            attrs["hvac_action"] = "heating" if attrs["current_temperature"] < 19.5 else "idle"
            state = "heat"
        else:
            state, attrs = f"{rng.uniform(10, 900):.1f}", entity.attributes
        out.append((entity.entity_id, state, attrs))
    return out
