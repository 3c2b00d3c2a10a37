"""scripts/convert: public smart-home data sets to a history CSV and a home spec.

    scripts/convert ordonez --source ../shared/data/ordonez_adl --out build/ordonez_a
    scripts/convert kasteren --source ../shared/data/kasteren2008 --out build/kasteren
    scripts/convert open_smart_home --source ../shared/data/open_smart_home --out build/open_smart_home
    scripts/convert kasteren2010 --source <folder holding houseB-ss.txt and its maps> --out build/kasteren2010_b

(for a folder holding several Ordóñez homes, `--source <folder>/OrdonezB_Sensors.txt` picks
home B) writes `history.csv` (entity_id,state,last_changed, and an attributes column where states
carry attributes) and `home.json` into --out.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import json
from pathlib import Path
import sys
from typing import Any
from zoneinfo import ZoneInfo

PERSON = "person.resident"
ORDONEZ_TIMEZONE = "Europe/Madrid"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.strip().lower()).strip("_")


def _iso(raw: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(raw).replace(tzinfo=tz).isoformat()


def _ordonez_rows(path: Path) -> list[tuple[str, str, list[str]]]:
    """(start, end, the other fields) of each line of an Ordóñez file.

    Lines that do not start with two readable times are left out: the header (one or two
    lines, as copies differ) and any blank or broken line, which must not stop a home from
    converting.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    rows: list[tuple[str, str, list[str]]] = []
    for line in lines:
        parts = line.split()
        if len(parts) < 5:
            continue
        start, end = f"{parts[0]} {parts[1]}", f"{parts[2]} {parts[3]}"
        try:
            datetime.fromisoformat(start), datetime.fromisoformat(end)
        except ValueError:
            continue
        rows.append((start, end, parts[4:]))
    return rows


def _ordonez_files(source: Path) -> tuple[Path, Path]:
    """The sensor and activity files of one Ordóñez home.

    `source` is a home's `Ordonez<X>_Sensors.txt` (its `_ADLs.txt` beside it) or a folder
    holding the files of one or more homes; of several, home A is taken, as published first.
    """
    if source.is_file():
        sensors = source
    else:
        found = sorted(source.glob("Ordonez*_Sensors.txt"))
        if not found:
            raise FileNotFoundError(f"no Ordonez<home>_Sensors.txt in {source}")
        sensors = found[0]
    activities = sensors.with_name(sensors.name.replace("_Sensors", "_ADLs"))
    return sensors, activities


def convert_ordonez(source: Path, out: Path) -> dict[str, Any]:
    """Ordóñez ADL home: each activation is on at start, off at end; rooms are areas.

    The `Leaving` activity is the ground truth of nobody home and becomes the state of
    `person.resident`. The main door magnetic sensor is the home's security entity.
    """
    tz = ZoneInfo(ORDONEZ_TIMEZONE)
    sensors, activities = _ordonez_files(source)
    firings: list[Firing] = []
    for start, end, fields in _ordonez_rows(sensors):
        if len(fields) < 3:
            continue
        location, kind, place = fields[0], fields[1], fields[2]
        firings.append(
            Firing(
                start=_iso(start, tz),
                end=_iso(end, tz),
                entity_id=f"binary_sensor.{_slug(place)}_{_slug(location)}_{_slug(kind)}",
                area=_slug(place),
                security=location.lower() == "maindoor",
            )
        )
    away = [
        (_iso(start, tz), _iso(end, tz))
        for start, end, fields in _ordonez_rows(activities)
        if fields[0].lower() == "leaving"
    ]
    return _write_activity_home(out, ORDONEZ_TIMEZONE, firings, away)


@dataclass(frozen=True, slots=True)
class Firing:
    """One sensor activation of an activity home: on from start to end (ISO times)."""

    start: str
    end: str
    entity_id: str
    area: str
    security: bool  # a door the security model watches


def _write_activity_home(
    out: Path, tz_name: str, firings: list[Firing], away: list[tuple[str, str]] | None
) -> dict[str, Any]:
    """Write the history and spec of a home of binary sensors in areas and a resident's spells away.

    Each firing is on at its start and off at its end; `person.resident` is home from the
    first firing (or a minute before a spell away that comes first) on, except during the
    away spells (the data's ground truth of nobody home). Without spells (None) the home has
    no presence entity.
    """
    if not firings:
        raise ValueError(f"no sensor firings for {out}")
    events: list[tuple[str, str, str]] = []
    areas: dict[str, dict[str, list[str]]] = {}
    security: list[str] = []
    for firing in firings:
        area = areas.setdefault(firing.area, {"occupancy": []})
        if firing.entity_id not in area["occupancy"]:
            area["occupancy"].append(firing.entity_id)
        if firing.security and firing.entity_id not in security:
            security.append(firing.entity_id)
        events.append((firing.start, firing.entity_id, "on"))
        events.append((firing.end, firing.entity_id, "off"))
    if away is not None:
        first = min(datetime.fromisoformat(event[0]) for event in events)
        if away:
            # Leaving starts at home: a spell away that opens the data begins with a departure.
            first = min(first, min(datetime.fromisoformat(start) for start, _ in away) - timedelta(minutes=1))
        events.append((first.isoformat(), PERSON, "home"))
        for start, end in away:
            events.append((start, PERSON, "not_home"))
            events.append((end, PERSON, "home"))
    spec = {
        "timezone": tz_name,
        "areas": areas,
        "presence": [] if away is None else [PERSON],
        "security": security,
        "power": [],
        "energy": [],
        "climate": [],
    }
    _write(out, sorted(events, key=lambda e: (datetime.fromisoformat(e[0]).timestamp(), e[1])), spec)
    return spec


def _write(out: Path, events: Sequence[tuple[str, ...]], spec: dict[str, Any]) -> None:
    """Write the history (time, entity_id, state[, attributes JSON]) and the spec into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with_attributes = any(len(event) > 3 for event in events)
    with (out / "history.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entity_id", "state", "last_changed", *(["attributes"] if with_attributes else [])])
        for ts, entity_id, state, *attributes in events:
            writer.writerow([entity_id, state, ts, *attributes])
    (out / "home.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


# CASAS (WSU) homes are in Washington State.
CASAS_TIMEZONE = "America/Los_Angeles"
_CASAS_BINARY = {"ON": "on", "OFF": "off", "OPEN": "on", "CLOSE": "off", "PRESENT": "on", "ABSENT": "off"}


def _casas_log(source: Path) -> Path:
    """The event log of a CASAS release: the file itself, or data/data.txt/<name>.txt in a folder."""
    if source.is_file():
        return source
    for name in ("data", "data.txt", "rawdata.txt", "ann.txt"):
        if (source / name).is_file():
            return source / name
    raise FileNotFoundError(f"no CASAS event log (data, data.txt) in {source}")


def convert_casas(source: Path, out: Path) -> dict[str, Any]:
    """CASAS event log (`date time sensor value [activity begin|end]`) to a history and a spec.

    Motion (M*) and other ON/OFF sensors are occupancy entities; door sensors (D*,
    OPEN/CLOSE) are security entities. Areas come from an optional `areas.json` next to the
    log ({"M003": "bedroom", ...}); without one every motion sensor is its own area.
    Activity labels with "leave" / "enter" in their name (Aruba's Leave_Home/Enter_Home)
    become the state of `person.resident`. Numeric sensors are left out.
    """
    log = _casas_log(source)
    mapping_file = (source if source.is_dir() else source.parent) / "areas.json"
    mapping: dict[str, str] = {}
    if mapping_file.is_file():
        mapping = {str(k): _slug(str(v)) for k, v in json.loads(mapping_file.read_text(encoding="utf-8")).items()}
    tz = ZoneInfo(CASAS_TIMEZONE)
    events: list[tuple[str, str, str]] = []
    areas: dict[str, dict[str, list[str]]] = {}
    security: list[str] = []
    presence: list[tuple[str, str]] = []
    with log.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 4:
                continue
            sensor, value = parts[2], parts[3].upper()
            state = _CASAS_BINARY.get(value)
            try:
                stamp = _iso(f"{parts[0]} {parts[1]}", tz)
            except ValueError:
                continue
            if state is not None:
                is_door = sensor.upper().startswith("D") or value in ("OPEN", "CLOSE")
                entity_id = f"binary_sensor.{_slug(sensor)}_{'door' if is_door else 'motion'}"
                if is_door:
                    if entity_id not in security:
                        security.append(entity_id)
                else:
                    area = areas.setdefault(mapping.get(sensor, _slug(sensor)), {"occupancy": []})
                    if entity_id not in area["occupancy"]:
                        area["occupancy"].append(entity_id)
                events.append((stamp, entity_id, state))
            label = " ".join(parts[4:]).lower()
            if "leave" in label and ("end" in label or "begin" not in label):
                presence.append((stamp, "not_home"))
            elif "enter" in label and ("begin" in label or "end" not in label):
                presence.append((stamp, "home"))
    if not events:
        raise ValueError(f"no ON/OFF or OPEN/CLOSE events in {log}")
    spec_presence: list[str] = []
    if any(s == "not_home" for _, s in presence) and any(s == "home" for _, s in presence):
        spec_presence = [PERSON]
        first = min(events, key=lambda e: datetime.fromisoformat(e[0]).timestamp())[0]
        events.append((first, PERSON, "home"))
        events.extend((ts, PERSON, state) for ts, state in presence)
    spec = {
        "timezone": CASAS_TIMEZONE,
        "areas": areas,
        "presence": spec_presence,
        "security": security,
        "power": [],
        "energy": [],
        "climate": [],
    }
    _write(out, sorted(events, key=lambda e: (datetime.fromisoformat(e[0]).timestamp(), e[1])), spec)
    return spec


# van Kasteren 2008: contacts only. The areas follow the sensor names and the apartment's
# floor plan in the paper (the washing machine stands in the bathroom).
KASTEREN_TIMEZONE = "Europe/Amsterdam"
KASTEREN_SENSORS = {
    1: ("microwave", "kitchen"),
    5: ("hall_toilet_door", "toilet"),
    6: ("hall_bathroom_door", "bathroom"),
    7: ("cups_cupboard", "kitchen"),
    8: ("fridge", "kitchen"),
    9: ("plates_cupboard", "kitchen"),
    12: ("front_door", "hall"),
    13: ("dishwasher", "kitchen"),
    14: ("toilet_flush", "toilet"),
    17: ("freezer", "kitchen"),
    18: ("pans_cupboard", "kitchen"),
    20: ("washing_machine", "bathroom"),
    23: ("groceries_cupboard", "kitchen"),
    24: ("hall_bedroom_door", "bedroom"),
}
KASTEREN_FRONT_DOOR = 12
KASTEREN_LEAVE_HOUSE = 1
_KASTEREN_TIME = "%d-%b-%Y %H:%M:%S"


def _kasteren_rows(path: Path) -> list[tuple[datetime, datetime, int]]:
    """(start, end, id) of each data line; the header block and the id lists are skipped."""
    rows: list[tuple[datetime, datetime, int]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) < 3:
            continue
        try:
            start = datetime.strptime(parts[0], _KASTEREN_TIME)
            end = datetime.strptime(parts[1], _KASTEREN_TIME)
            rows.append((start, end, int(parts[2])))
        except ValueError:
            continue
    return rows


def convert_kasteren(source: Path, out: Path) -> dict[str, Any]:
    """van Kasteren 2008: each contact firing is on at its start, off at its end.

    Every contact is a binary sensor in the area it sits in; the front door is the home's
    security entity. The `leave house` activity is the ground truth of nobody home and
    becomes the state of `person.resident`, as Ordóñez's `Leaving` does.
    """
    tz = ZoneInfo(KASTEREN_TIMEZONE)
    firings = [
        Firing(
            start=start.replace(tzinfo=tz).isoformat(),
            end=end.replace(tzinfo=tz).isoformat(),
            entity_id=f"binary_sensor.{KASTEREN_SENSORS[sensor][0]}",
            area=KASTEREN_SENSORS[sensor][1],
            security=sensor == KASTEREN_FRONT_DOOR,
        )
        for start, end, sensor in _kasteren_rows(source / "kasterenSenseData.txt")
        if sensor in KASTEREN_SENSORS
    ]
    away = [
        (start.replace(tzinfo=tz).isoformat(), end.replace(tzinfo=tz).isoformat())
        for start, end, activity in _kasteren_rows(source / "kasterenActData.txt")
        if activity == KASTEREN_LEAVE_HOUSE
    ]
    return _write_activity_home(out, KASTEREN_TIMEZONE, firings, away)


# Transfer-learning layout, one folder a home: `house<X>-ss.txt` firings and `house<X>-as.txt`
# activities (start, end, id as in van Kasteren 2008), `sensorMap<X>-ids.txt` (id,name,location)
# and `actionMap<X>.txt` (id,label). van Kasteren 2010 houses B and C use it, and so does the
# re-export of Tapia's MIT homes, whose sensor names carry the room (`Kitchen-Freezer-houseD`).
TAPIA_TIMEZONE = "America/New_York"
# The layout's location classes grouped into the rooms they stand in.
TL_LOCATION_AREAS = {
    "kitchen": "kitchen",
    "kitchstor": "kitchen",
    "kitchheat": "kitchen",
    "sleep": "bedroom",
    "sleepdoor": "bedroom",
    "bathroom": "bathroom",
    "bathroomdoor": "bathroom",
    "toilet": "toilet",
    "outside": "hall",
    "other": "living_room",
}


def _tl_file(source: Path, pattern: str) -> Path:
    found = sorted(source.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} in {source}")
    return found[0]


def _tl_map(path: Path) -> dict[int, list[str]]:
    """id -> the other comma-separated fields of a sensor or action map (blank or broken lines left out)."""
    rows: dict[int, list[str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = [part.strip() for part in line.split(",")]
        try:
            rows[int(parts[0])] = parts[1:]
        except ValueError:
            continue
    return rows


def _tl_firings(source: Path, tz: ZoneInfo, first: datetime, last: datetime) -> list[Firing]:
    """The named sensors' firings from `first` to `last` (local times); a sensor id missing from
    the map is left out, having no room."""
    sensors = _tl_map(_tl_file(source, "sensorMap*.txt"))
    named: dict[int, tuple[str, str, bool]] = {}
    for sensor, fields in sensors.items():
        if len(fields) < 2:
            continue
        name, location = fields[0], fields[-1]
        room, _, rest = name.partition("-")
        if rest.lower().rsplit("-", 1)[-1].startswith("house"):  # `<Room>-<object>-house<X>`
            area, name = _slug(room), rest.rsplit("-", 1)[0] + f" {room}"
        else:
            area = TL_LOCATION_AREAS.get(_slug(location), _slug(location))
        entity_id = f"binary_sensor.{_slug(name)}"
        if any(entity_id == other for other, _, _ in named.values()):
            entity_id = f"{entity_id}_{sensor}"
        # The door to the outside is the one the security model watches.
        named[sensor] = (entity_id, area, location.lower() == "outside" and "door" in name.lower())
    return [
        Firing(
            start=start.replace(tzinfo=tz).isoformat(),
            end=end.replace(tzinfo=tz).isoformat(),
            entity_id=named[sensor][0],
            area=named[sensor][1],
            security=named[sensor][2],
        )
        for start, end, sensor in _kasteren_rows(_tl_file(source, "house*-ss.txt"))
        if sensor in named and first <= start and end <= last
    ]


def _convert_tl_home(source: Path, out: Path, tz_name: str, leaving_is_away: bool) -> dict[str, Any]:
    """A home in the transfer-learning layout, kept to the span its activity labels cover.

    Where the `leave-house` spells are the time away (`leaving_is_away`), they are the ground
    truth of nobody home, so firings before the first label or after the last are left out:
    there, an absence would go unrecorded. Otherwise the home has no presence entity.
    """
    tz = ZoneInfo(tz_name)
    labels = {
        activity: fields[0].lower()
        for activity, fields in _tl_map(_tl_file(source, "actionMap*.txt")).items()
        if fields
    }
    activities = _kasteren_rows(_tl_file(source, "house*-as.txt"))
    if not activities:
        raise ValueError(f"no activity labels in {source}")
    first, last = min(start for start, _, _ in activities), max(end for _, end, _ in activities)
    firings = _tl_firings(source, tz, first, last)
    away = [
        (start.replace(tzinfo=tz).isoformat(), end.replace(tzinfo=tz).isoformat())
        for start, end, activity in activities
        if "leav" in labels.get(activity, "")
    ]
    return _write_activity_home(out, tz_name, firings, away if leaving_is_away else None)


def convert_kasteren2010(source: Path, out: Path) -> dict[str, Any]:
    """van Kasteren 2010 house B or C (one folder a house): contacts, PIRs and pressure mats in
    the rooms their location class names; the front door is the security entity."""
    return _convert_tl_home(source, out, KASTEREN_TIMEZONE, leaving_is_away=True)


def convert_tapia(source: Path, out: Path) -> dict[str, Any]:
    """Tapia's MIT homes (subject 1 or 2) in the same layout: object contacts in the room their
    name starts with; the foyer or hallway door is the security entity.

    Their `leave-house` labels are the minutes of getting ready to go (4 min median, never
    over 45), not the time away: these homes have no presence entity.
    """
    return _convert_tl_home(source, out, TAPIA_TIMEZONE, leaving_is_away=False)


# Energy homes. Their clocks do not follow daylight saving time (see each SOURCE.md), so
# the specs use a fixed offset zone: time of week then means what it meant in the home.
ENERGY_POWER = "sensor.home_power"
ENERGY_METER = "sensor.home_energy"
OUTDOOR = "sensor.outdoor_temperature"


def _energy_spec(tz_name: str, outdoor: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "timezone": tz_name,
        "areas": {},
        "presence": [],
        "security": [],
        "power": [ENERGY_POWER],
        "energy": [ENERGY_METER],
        "climate": [],
    }
    if outdoor:
        spec["outdoor_temperature"] = OUTDOOR
    return spec


def convert_appliances(source: Path, out: Path) -> dict[str, Any]:
    """Appliances energy house (Candanedo et al. 2017): 10-min Wh to a power and an energy sensor.

    The home's consumption is `Appliances + lights` (Wh in each 10 minutes). A row stamped t
    covers the 10 minutes before t: the meter (cumulative kWh) reads the running total at t,
    the power sensor (W) the mean power of those 10 minutes from their start. `T_out` is the
    outdoor temperature sensor.
    """
    path = source if source.is_file() else next(source.glob("energydata_complete*.csv"))
    tz = timezone(timedelta(hours=1))
    events: list[tuple[str, str, str]] = []
    total_kwh = 0.0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamp = datetime.fromisoformat(row["date"]).replace(tzinfo=tz)
            wh = float(row["Appliances"]) + float(row["lights"])
            total_kwh += wh / 1000.0
            events.append(((stamp - timedelta(minutes=10)).isoformat(), ENERGY_POWER, f"{wh * 6.0:.1f}"))
            events.append((stamp.isoformat(), ENERGY_METER, f"{total_kwh:.4f}"))
            events.append((stamp.isoformat(), OUTDOOR, f"{float(row['T_out']):.2f}"))
    spec = _energy_spec("Etc/GMT-1", outdoor=True)
    _write(out, sorted(events, key=lambda e: (datetime.fromisoformat(e[0]).timestamp(), e[1])), spec)
    return spec


UCI_HOUSEHOLD_DEFAULT = Path(__file__).resolve().parent.parent / "data" / "uci_household_power"


def convert_uci_household(source: Path, out: Path) -> dict[str, Any]:
    """UCI household power (hourly copy in data/uci_household_power) to a power and an energy sensor.

    Each hour's kWh is the meter's increase over that hour (reading at its end) and its mean
    power (W) the power sensor's state from its start; hours without data make the power
    sensor `unavailable` and leave the meter unread.
    """
    path = source if source.is_file() else source / "hourly_kwh.csv"
    events: list[tuple[str, str, str]] = []
    total_kwh = 0.0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            start = datetime.fromisoformat(row["hour_start"])
            if not row["kwh"]:
                events.append((start.isoformat(), ENERGY_POWER, "unavailable"))
                continue
            kwh = float(row["kwh"])
            total_kwh += kwh
            events.append((start.isoformat(), ENERGY_POWER, f"{kwh * 1000.0:.1f}"))
            events.append(((start + timedelta(hours=1)).isoformat(), ENERGY_METER, f"{total_kwh:.4f}"))
    spec = _energy_spec("Etc/GMT-1", outdoor=False)
    _write(out, sorted(events, key=lambda e: (datetime.fromisoformat(e[0]).timestamp(), e[1])), spec)
    return spec


# Open Smart Home Data Set (Fraunhofer IBP flat, Nürnberg): radiator thermostats per room.
OPEN_SMART_HOME_TIMEZONE = "Europe/Berlin"
OPEN_SMART_HOME_ROOMS = ("Kitchen", "Room1", "Toilet")


def _epoch_series(path: Path) -> list[tuple[int, float]]:
    """(epoch seconds, value) of a TAB separated measurement file, in time order."""
    rows: list[tuple[int, float]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            rows.append((int(parts[0]), float(parts[1])))
    return sorted(rows)


def convert_open_smart_home(source: Path, out: Path) -> dict[str, Any]:
    """Open Smart Home flat: one `climate.<room>` per room and the outdoor temperature sensor.

    A climate state (`heat`) is written whenever the setpoint in force or the room air
    temperature changes, with both as the attributes `temperature` and
    `current_temperature`, as Home Assistant records a thermostat. The data has no
    `hvac_action`, valve position or heating power, and neither has the history.
    """
    folder = source / "Measurements" if (source / "Measurements").is_dir() else source
    tz = ZoneInfo(OPEN_SMART_HOME_TIMEZONE)

    def iso(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, tz).isoformat()

    events: list[tuple[int, str, str, str]] = []
    climate: list[str] = []
    for room in OPEN_SMART_HOME_ROOMS:
        entity_id = f"climate.{_slug(room)}"
        readings = [(t, "temperature", v) for t, v in _epoch_series(folder / f"{room}_SetpointHistory.csv")]
        readings += [(t, "current_temperature", v) for t, v in _epoch_series(folder / f"{room}_Temperature.csv")]
        attributes: dict[str, float] = {}
        for epoch, name, value in sorted(readings):
            if attributes.get(name) == value:
                continue
            attributes[name] = value
            if len(attributes) == 2:  # a thermostat shows both once it has reported both
                events.append((epoch, entity_id, "heat", json.dumps(attributes)))
        climate.append(entity_id)
    for epoch, value in _epoch_series(folder / "Room2_OutdoorTemperature.csv"):
        events.append((epoch, OUTDOOR, f"{value:.1f}", json.dumps({"unit_of_measurement": "°C"})))
    spec = {
        "timezone": OPEN_SMART_HOME_TIMEZONE,
        "areas": {},
        "presence": [],
        "security": [],
        "power": [],
        "energy": [],
        "climate": climate,
        "outdoor_temperature": OUTDOOR,
    }
    _write(out, [(iso(epoch), *rest) for epoch, *rest in sorted(events)], spec)
    return spec


# The UCI house's sub-metered circuits, each an energy sensor of its own (a smart plug or
# circuit meter in a Home Assistant home).
UCI_CIRCUITS: dict[str, str] = {
    "Sub_metering_1": "sensor.kitchen_circuit_energy",
    "Sub_metering_2": "sensor.laundry_circuit_energy",
    "Sub_metering_3": "sensor.water_heater_circuit_energy",
}


def convert_uci_submeters(source: Path, out: Path) -> dict[str, Any]:
    """UCI household 2007 with its sub-meters: the house meter and one energy sensor per circuit.

    Rows are hourly sums of minute values: `Global_active_power` / 60 is the house's kWh in
    the hour, `Sub_metering_*` the circuit's Wh. Meters read their running totals at the end
    of each hour; the circuits are `devices` of the spec, not part of the house total.
    """
    path = source if source.is_file() else source / "hourly_2007.csv"
    tz = timezone(timedelta(hours=1))
    events: list[tuple[str, str, str]] = []
    totals = dict.fromkeys((ENERGY_METER, *UCI_CIRCUITS.values()), 0.0)
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            end = (datetime.fromisoformat(row["datetime"]) + timedelta(hours=1)).replace(tzinfo=tz).isoformat()
            if not row["Global_active_power"]:
                continue
            totals[ENERGY_METER] += float(row["Global_active_power"]) / 60.0
            for column, entity_id in UCI_CIRCUITS.items():
                totals[entity_id] += float(row[column] or 0.0) / 1000.0
            events.extend((end, entity_id, f"{total:.4f}") for entity_id, total in totals.items())
    spec = _energy_spec("Etc/GMT-1", outdoor=False)
    spec["power"] = []
    spec["devices"] = list(UCI_CIRCUITS.values())
    _write(out, events, spec)
    return spec


CONVERTERS = {
    "ordonez": convert_ordonez,
    "casas": convert_casas,
    "kasteren": convert_kasteren,
    "kasteren2010": convert_kasteren2010,
    "tapia": convert_tapia,
    "appliances": convert_appliances,
    "uci_household": convert_uci_household,
    "open_smart_home": convert_open_smart_home,
    "uci_submeters": convert_uci_submeters,
}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="scripts/convert")
    parser.add_argument("dataset", choices=sorted(CONVERTERS))
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    CONVERTERS[args.dataset](args.source, args.out)
    print(f"wrote {args.out / 'history.csv'} and {args.out / 'home.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
