"""A seeded simulation of one heated zone and its household, from real occupancy and weather.

Used by `scripts/evaluate --task climate` when no history is given. Everything is on a
one-minute grid in a fixed UTC+1 clock (`Etc/GMT-1`, the standard time of both sources, so
no DST step appears):

- Outdoor temperature: `T_out` of the Appliances energy data (Chièvres airport, Belgium,
  10-minute rows, 2016-01-11 17:00 -> 03-31 23:50, local standard time), linearly
  interpolated. The simulated period is its whole days, 2016-01-12 -> 03-31 (80 days).
- Occupancy: the Ordóñez home A (Madrid, 2011-11-28 -> 12-11, 14 days) as written by
  `scripts/convert ordonez`: `person.resident` (away during the `Leaving` label) and the
  bed pressure mat. The 14 days hold each weekday twice; every simulated day takes one of
  the two real days of its weekday, drawn with the seed, midnight to midnight. So the
  80 days are real days re-used about 5.7 times each, in a seeded order that keeps the
  weekday; a test day always has a twin among the training days (documented).
- Household: a thermostat program with a sleep setback from the resident's usual bedtime
  to the usual rise (medians of the bed mat over the 14 days, to 15 minutes); comfort
  while home and awake, eco while away (set on leaving, back on return); the comfort
  level varies by day (±0.5 °C with probability 0.2 each); on a day the resident gets up
  more than 30 min before the program's rise they switch to comfort by hand; on 15 % of
  days a +1 °C manual override for 1 to 3 h at a random awake hour.
- Zone: first order, dT/dt = (T_out - T)/tau + heating_rate*u, integrated exactly per
  minute; the thermostat heats (u=1) below target - 0.2 °C and stops above target + 0.2 °C.
  The sensor reports T + N(0, 0.05) rounded to 0.1 °C every 5 minutes.
"""

from __future__ import annotations

from collections.abc import Callable
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import math
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.constants import DAY_SECONDS, HOUR_SECONDS
from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.engine.slots import state_at

SIM_TIMEZONE: Final = "Etc/GMT-1"  # UTC+1 all year (the POSIX sign is inverted)
CLOCK: Final = timezone(timedelta(hours=1))
MINUTE: Final = 60.0
DAY_MINUTES: Final = 1440
CLIMATE: Final = "climate.living_room"
OUTDOOR: Final = "sensor.outdoor_temperature"
PERSON: Final = "person.resident"
BED: Final = "binary_sensor.bedroom_bed_pressure"

COMFORT: Final = 21.0
SLEEP: Final = 17.5
ECO: Final = 16.0
HYSTERESIS: Final = 0.2
SENSOR_NOISE: Final = 0.05
SENSOR_EVERY_MINUTES: Final = 5
OVERRIDE_DAY_SHARE: Final = 0.15
OVERRIDE_RISE: Final = 1.0
EARLY_RISE_MINUTES: Final = 30

# A recorded state: entity_id, state, epoch seconds, attributes (None for plain states).
type HistoryRow = tuple[str, str, float, dict[str, float | str] | None]


@dataclass(slots=True)
class Household:
    """The simulated period on a minute grid: who is home, the weather, the chosen setpoint."""

    start: float  # epoch of the first minute (a local midnight)
    minutes: int
    home: NDArray[np.bool_]
    t_out: NDArray[np.float64]
    chosen: NDArray[np.float64]
    manual: NDArray[np.bool_]  # minutes under a manual change (early rise or override)
    override: NDArray[np.bool_]  # minutes under a one-off override
    bedtime_minute: int
    rise_minute: int
    days_source: list[str]

    @property
    def times(self) -> NDArray[np.float64]:
        """Epoch seconds of each minute."""
        return self.start + MINUTE * np.arange(self.minutes, dtype=np.float64)


def read_outdoor(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Epoch times and T_out of the Appliances energy CSV (naive local standard time, UTC+1)."""
    times: list[float] = []
    values: list[float] = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            moment = datetime.fromisoformat(row["date"]).replace(tzinfo=CLOCK)
            times.append(moment.timestamp())
            values.append(float(row["T_out"]))
    return np.array(times), np.array(values)


def _median_minute_of_day(times: NDArray[np.float64]) -> int:
    """Circular-safe median time of day (minutes, UTC+1) of some moments, to 15 minutes."""
    minutes = ((times + HOUR_SECONDS) % DAY_SECONDS) / 60.0
    # Centre the circle on the mean direction so that a midnight crossing does not split it.
    angle = np.angle(np.mean(np.exp(2j * np.pi * minutes / DAY_MINUTES)))
    centre = (angle % (2 * np.pi)) / (2 * np.pi) * DAY_MINUTES
    shifted = (minutes - centre + DAY_MINUTES / 2) % DAY_MINUTES
    median = (float(np.median(shifted)) + centre - DAY_MINUTES / 2) % DAY_MINUTES
    return int(round(median / 15.0) * 15) % DAY_MINUTES


def _in_window(minute_of_day: NDArray[np.int64], begin: int, end: int) -> NDArray[np.bool_]:
    """Whether each minute of day lies in [begin, end) on the circle."""
    return np.asarray((minute_of_day - begin) % DAY_MINUTES < (end - begin) % DAY_MINUTES)


def build_household(ordonez_history: Path, ordonez_home: Path, weather_csv: Path, seed: int) -> Household:
    """The seeded household over the weather period (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out_t, out_v = read_outdoor(weather_csv)
    first = datetime.fromtimestamp(out_t[0], CLOCK)
    day0 = (first + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    last = datetime.fromtimestamp(out_t[-1], CLOCK)
    n_days = (last.replace(hour=0, minute=0, second=0) - day0).days + (1 if last.hour == 23 else 0)
    start = day0.timestamp()
    minutes = n_days * DAY_MINUTES
    times = start + MINUTE * np.arange(minutes, dtype=np.float64)
    t_out = np.interp(times, out_t, out_v)

    replay = load_replay(ordonez_history, ordonez_home)
    store = replay.store
    source_first = datetime.fromtimestamp(replay.start, CLOCK).replace(hour=0, minute=0, second=0)
    source_days = [source_first + timedelta(days=k) for k in range(14)]
    by_weekday: dict[int, list[datetime]] = {}
    for day in source_days:
        by_weekday.setdefault(day.weekday(), []).append(day)
    bed_buf = store.channels[BED]
    bed_t, bed_v = np.array(bed_buf.times), np.array(bed_buf.values)
    bedtime = _median_minute_of_day(bed_t[bed_v > 0.5])
    rise = _median_minute_of_day(bed_t[bed_v < 0.5])

    home = np.zeros(minutes, dtype=bool)
    in_bed = np.zeros(minutes, dtype=bool)
    chosen_days: list[str] = []
    minute_grid = MINUTE * np.arange(DAY_MINUTES, dtype=np.float64)
    for d in range(n_days):
        sim_day = day0 + timedelta(days=d)
        source = by_weekday[sim_day.weekday()][int(rng.integers(len(by_weekday[sim_day.weekday()])))]
        chosen_days.append(source.date().isoformat())
        src_times = source.timestamp() + minute_grid
        presence = state_at(store.channels[PERSON], src_times, default=1.0)  # home before the first label
        home[d * DAY_MINUTES : (d + 1) * DAY_MINUTES] = presence > 0.5
        in_bed[d * DAY_MINUTES : (d + 1) * DAY_MINUTES] = state_at(bed_buf, src_times, default=0.0) > 0.5

    minute_of_day = np.tile(np.arange(DAY_MINUTES, dtype=np.int64), n_days)
    sleeping_program = _in_window(minute_of_day, bedtime, rise)
    # The day's comfort level changes at the program's rise, not at midnight.
    wake_day = np.floor((np.arange(minutes) - rise) / DAY_MINUTES).astype(np.int64) + 1
    comfort_by_day = COMFORT + rng.choice([-0.5, 0.0, 0.5], size=n_days + 1, p=[0.2, 0.6, 0.2])
    comfort = comfort_by_day[np.clip(wake_day, 0, n_days)]
    chosen = np.where(sleeping_program, SLEEP, comfort)
    manual = np.zeros(minutes, dtype=bool)
    override = np.zeros(minutes, dtype=bool)
    for d in range(n_days):
        base = d * DAY_MINUTES
        # Up early: once out of bed (5 min later) before the program's rise, comfort by hand.
        window = np.arange(base, base + DAY_MINUTES)
        asleep_then = sleeping_program[window] & (minute_of_day[window] < rise)
        out_of_bed = asleep_then & ~in_bed[window] & home[window]
        early = np.flatnonzero(out_of_bed & ((rise - minute_of_day[window]) > EARLY_RISE_MINUTES))
        if len(early):
            begin = base + int(early[0]) + 5
            end = base + rise
            if begin < end:
                chosen[begin:end] = comfort[begin:end]
                manual[begin:end] = True
        if rng.random() < OVERRIDE_DAY_SHARE:
            awake = (bedtime - rise) % DAY_MINUTES
            offset = int(rng.integers(60, max(awake - 180, 61)))
            length = int(rng.integers(60, 181))
            begin = base + (rise + offset) % DAY_MINUTES
            span = slice(begin, min(begin + length, minutes))
            chosen[span] = chosen[span] + OVERRIDE_RISE
            manual[span] = True
            override[span] = True
    chosen = np.where(home, chosen, ECO)
    manual &= home
    override &= home
    return Household(start, minutes, home, t_out, chosen, manual, override, bedtime, rise, chosen_days)


class Zone:
    """First-order zone with an on/off heater under a hysteresis thermostat."""

    def __init__(self, tau_hours: float, heating_rate: float, temperature: float) -> None:
        """Time constant (h), heating rate at full power (°C/h), starting temperature."""
        self.decay = math.exp(-MINUTE / (tau_hours * 3600.0))
        self.gain = heating_rate * tau_hours
        self.temperature = temperature
        self.heating = False

    def step(self, target: float, t_out: float) -> bool:
        """Advance one minute towards `target`; True if it heated during the minute."""
        if self.temperature < target - HYSTERESIS:
            self.heating = True
        elif self.temperature > target + HYSTERESIS:
            self.heating = False
        equilibrium = t_out + (self.gain if self.heating else 0.0)
        self.temperature = equilibrium + (self.temperature - equilibrium) * self.decay
        return self.heating


def run_zone(
    zone: Zone,
    t_out: NDArray[np.float64],
    target: NDArray[np.float64] | Callable[[int, float], float],
    first: int,
    last: int,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Simulate minutes [first, last): temperature at the start of each minute and heater state.

    `target` is an array by minute or a callable (minute index, current temperature) -> target.
    """
    n = last - first
    temps = np.empty(n)
    heat = np.zeros(n, dtype=bool)
    goal_at = target if callable(target) else _by_minute(target)
    for k in range(n):
        i = first + k
        temps[k] = zone.temperature
        heat[k] = zone.step(goal_at(i, zone.temperature), float(t_out[i]))
    return temps, heat


def _by_minute(targets: NDArray[np.float64]) -> Callable[[int, float], float]:
    """A target array as a control: the target of the minute, whatever the temperature."""
    fixed = np.asarray(targets)

    def goal(i: int, _temperature: float) -> float:
        return float(fixed[i])

    return goal


def record(
    household: Household, temps: NDArray[np.float64], heat: NDArray[np.bool_], seed: int
) -> tuple[ObservationStore, list[HistoryRow]]:
    """What Home Assistant would have recorded of the household's own thermostat run.

    Returns the store and the rows (entity_id, state, ts, attributes) for a history CSV.
    """
    rng = np.random.default_rng(seed + 1)
    times = household.times
    reading = np.round(temps + rng.normal(0.0, SENSOR_NOISE, len(temps)), 1)
    sensor_minutes = np.arange(0, household.minutes, SENSOR_EVERY_MINUTES)
    shown = np.empty(household.minutes)
    shown[:] = np.repeat(reading[sensor_minutes], SENSOR_EVERY_MINUTES)[: household.minutes]
    rows: list[HistoryRow] = []
    changed = np.flatnonzero(
        np.r_[True, (np.diff(shown) != 0) | (np.diff(household.chosen) != 0) | (np.diff(heat.astype(np.int8)) != 0)]
    )
    for i in changed.tolist():
        attributes = {
            "temperature": float(household.chosen[i]),
            "current_temperature": float(shown[i]),
            "hvac_action": "heating" if heat[i] else "idle",
        }
        rows.append((CLIMATE, "heat", float(times[i]), attributes))
    for i in range(0, household.minutes, 10):
        rows.append((OUTDOOR, f"{household.t_out[i]:.2f}", float(times[i]), {"unit_of_measurement": "°C"}))
    flips = np.flatnonzero(np.r_[True, np.diff(household.home.astype(np.int8)) != 0])
    for i in flips.tolist():
        rows.append((PERSON, "home" if household.home[i] else "not_home", float(times[i]), None))
    rows.sort(key=lambda row: row[2])
    store = ObservationStore(max_points=10**9)
    store.merge_states(rows, home_roles())
    return store, rows


def home_spec() -> dict[str, Any]:
    """The simulated home's spec."""
    return {
        "timezone": SIM_TIMEZONE,
        "areas": {},
        "presence": [PERSON],
        "power": [],
        "energy": [],
        "climate": [CLIMATE],
        "security": [],
        "outdoor_temperature": OUTDOOR,
    }


def home_roles() -> dict[str, str]:
    """Roles of the simulated entities."""
    return {CLIMATE: "climate", OUTDOOR: "outdoor_temperature", PERSON: "presence"}


def write_history(path: Path, rows: list[HistoryRow]) -> None:
    """Write rows as a Home Assistant history CSV with an attributes column."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entity_id", "state", "last_changed", "attributes"])
        for entity_id, state, ts, attributes in rows:
            stamp = datetime.fromtimestamp(ts, CLOCK).isoformat()
            writer.writerow([entity_id, state, stamp, json.dumps(attributes) if attributes else ""])
