"""The demo home: its entities, its recorded days and the calendar they are laid on.

Plain Python (no Home Assistant import) so the feeder and the tests share it. The data in
config/demo/ is timed in seconds since the demo's day 0 at local midnight; a 14-day period
repeats, laid on the calendar from an anchor date chosen the first time the demo starts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
import math
from pathlib import Path
from zoneinfo import ZoneInfo

PERIOD = 14 * 86400
TIMEZONE = "Europe/Madrid"
# Days of the period that are history when the demo first starts; the rest plays live.
HISTORY_DAYS = 11

OCCUPANCY_KEYS = ("bathroom", "bedroom", "kitchen", "living", "door", "resident", "setpoint")
ENERGY_KEYS = ("power", "energy", "indoor", "outdoor")


@dataclass(frozen=True, slots=True)
class DemoEntity:
    """One entity of the demo home and the data key that drives it."""

    key: str
    platform: str
    object_id: str
    name: str
    area: str | None
    device_class: str | None = None

    @property
    def entity_id(self) -> str:
        """The entity id the demo asks for."""
        return f"{self.platform}.{self.object_id}"


ENTITIES = (
    DemoEntity("bathroom", "binary_sensor", "bathroom_motion", "Bathroom motion", "Bathroom", "motion"),
    DemoEntity("bedroom", "binary_sensor", "bedroom_occupancy", "Bed occupancy", "Bedroom", "occupancy"),
    DemoEntity("kitchen", "binary_sensor", "kitchen_motion", "Kitchen motion", "Kitchen", "motion"),
    DemoEntity("living", "binary_sensor", "living_room_occupancy", "Sofa occupancy", "Living room", "occupancy"),
    DemoEntity("door", "binary_sensor", "front_door", "Front door", "Entrance", "door"),
    DemoEntity("resident", "device_tracker", "resident_phone", "Resident phone", None),
    DemoEntity("power", "sensor", "house_power", "House power", None, "power"),
    DemoEntity("energy", "sensor", "house_energy", "House energy", None, "energy"),
    DemoEntity("outdoor", "sensor", "outdoor_temperature", "Outdoor temperature", None, "temperature"),
    DemoEntity("setpoint", "climate", "thermostat", "Thermostat", "Living room", None),
)
AREAS = sorted({entity.area for entity in ENTITIES if entity.area})
PERSON = "person.resident"


@dataclass(slots=True)
class Timeline:
    """Every change of the period, sorted by offset, with the energy total of one period."""

    offsets: list[int]
    keys: list[str]
    values: list[str]
    energy_per_period: float

    @classmethod
    def load(cls, data_dir: Path) -> Timeline:
        """Read occupancy.csv and energy.csv of config/demo."""
        rows: list[tuple[int, str, str]] = []
        with (data_dir / "occupancy.csv").open(encoding="utf-8") as handle:
            rows.extend((int(row["offset"]), row["key"], row["state"]) for row in csv.DictReader(handle))
        energy_total = 0.0
        with (data_dir / "energy.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                offset = int(row["offset"])
                rows.append((offset, "power", row["power_w"]))
                rows.append((offset, "energy", row["energy_kwh"]))
                rows.append((offset, "indoor", row["indoor_c"]))
                rows.append((offset, "outdoor", row["outdoor_c"]))
                energy_total = max(energy_total, float(row["energy_kwh"]))
        rows.sort(key=lambda row: row[0])
        return cls(
            offsets=[row[0] for row in rows],
            keys=[row[1] for row in rows],
            values=[row[2] for row in rows],
            energy_per_period=energy_total,
        )

    def value(self, key: str, value: str, cycle: int) -> str:
        """The state a key shows in a given repetition (the energy meter keeps counting)."""
        if key == "energy":
            return f"{float(value) + cycle * self.energy_per_period:.3f}"
        return value

    def state_at(self, offset: float, cycle: int) -> dict[str, str]:
        """The value of every key at an offset of the period."""
        end = bisect_right(self.offsets, offset)
        state: dict[str, str] = {}
        for index in range(end):
            state[self.keys[index]] = self.values[index]
        # Keys not yet set in this period keep the end of the previous one.
        for index in range(len(self.offsets) - 1, end - 1, -1):
            if len(state) == len(OCCUPANCY_KEYS) + len(ENERGY_KEYS):
                break
            state.setdefault(self.keys[index], self.values[index])
        return {key: self.value(key, value, cycle) for key, value in state.items()}


@dataclass(frozen=True, slots=True)
class Calendar:
    """Lays the period on real days: day 0 of cycle 0 is the anchor date's local midnight."""

    anchor: date
    tz: ZoneInfo

    @classmethod
    def first_start(cls, now: datetime, tz_name: str = TIMEZONE) -> Calendar:
        """The calendar that makes today the (HISTORY_DAYS + 1)-th day of the period."""
        tz = ZoneInfo(tz_name)
        return cls(now.astimezone(tz).date() - timedelta(days=HISTORY_DAYS), tz)

    def to_time(self, cycle: int, offset: float) -> datetime:
        """Real time of an offset of a cycle (local wall clock, so routines keep their hours)."""
        wall = datetime.combine(self.anchor, time()) + timedelta(days=14 * cycle, seconds=offset)
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def to_position(self, moment: datetime) -> tuple[int, float]:
        """(cycle, offset) of a real time."""
        wall = moment.astimezone(self.tz).replace(tzinfo=None)
        seconds = (wall - datetime.combine(self.anchor, time())).total_seconds()
        cycle = math.floor(seconds / PERIOD)
        return cycle, seconds - cycle * PERIOD

    def changes(self, timeline: Timeline, start: datetime, end: datetime) -> Iterator[tuple[datetime, str, str]]:
        """Every change with start < time <= end, in order, as (time, key, state)."""
        cycle, offset = self.to_position(start)
        end_cycle, end_offset = self.to_position(end)
        while (cycle, offset) < (end_cycle, end_offset):
            stop = end_offset if cycle == end_cycle else PERIOD
            first = bisect_right(timeline.offsets, offset)
            last = bisect_right(timeline.offsets, stop)
            for index in range(first, last):
                key = timeline.keys[index]
                yield (
                    self.to_time(cycle, timeline.offsets[index]),
                    key,
                    timeline.value(key, timeline.values[index], cycle),
                )
            cycle, offset = cycle + 1, -1.0
            if cycle > end_cycle:
                break
