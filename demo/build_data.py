"""Build config/demo/ (the demo home's data) from the two public data sets.

    .venv/bin/python -m demo.build_data --ordonez ../shared/data/ordonez_adl \
        --energy ../shared/data/appliances_energy --out config/demo

Writes two small CSV files whose times are seconds since the demo's day 0 at local
midnight (a Monday), so the demo can lay them on any calendar (see config/demo/SOURCE.md):

- occupancy.csv  `offset,key,state`: room activity (any sensor of the room active),
  the main door, the resident's presence and the thermostat setpoint.
- energy.csv     `offset,power_w,energy_kwh,indoor_c,outdoor_c`: one row per 10 min.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

PERIOD = timedelta(days=14)
ORDONEZ_DAY0 = datetime(2011, 11, 28)  # a Monday, the first day of home A
ENERGY_DAY0 = datetime(2016, 1, 18)  # the first Monday after the series starts

# Ordóñez place -> demo key; the main door is its own key.
ROOMS = {"Bathroom": "bathroom", "Bedroom": "bedroom", "Kitchen": "kitchen", "Living": "living"}
SETPOINT_HOME = 21.0
SETPOINT_SETBACK = 17.0


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def _offset(day: str, time: str) -> int:
    return int((datetime.fromisoformat(f"{day} {time}") - ORDONEZ_DAY0).total_seconds())


def _clip(start: int, end: int) -> tuple[int, int] | None:
    """Keep intervals inside the 14-day period (the last night is cut at its end)."""
    last = int(PERIOD.total_seconds()) - 1
    start, end = max(start, 0), min(end, last)
    return (start, end) if start < end else None


def _union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _on_off(key: str, intervals: list[tuple[int, int]], on: str, off: str) -> list[tuple[int, str, str]]:
    events = [(0, key, off)]
    for start, end in _union(intervals):
        events.extend(((start, key, on), (end, key, off)))
    return events


def occupancy_events(source: Path) -> list[tuple[int, str, str]]:
    """Room activity, door, presence and setpoint as (offset, key, state)."""
    by_key: dict[str, list[tuple[int, int]]] = {key: [] for key in [*ROOMS.values(), "door"]}
    for parts in _rows(source / "OrdonezA_Sensors.txt"):
        interval = _clip(_offset(parts[0], parts[1]), _offset(parts[2], parts[3]))
        if interval is None:
            continue
        location, place = parts[4], parts[6]
        by_key["door" if location == "Maindoor" else ROOMS[place]].append(interval)
    away: list[tuple[int, int]] = []
    setback: list[tuple[int, int]] = []
    for parts in _rows(source / "OrdonezA_ADLs.txt"):
        interval = _clip(_offset(parts[0], parts[1]), _offset(parts[2], parts[3]))
        if interval is None:
            continue
        if parts[4] == "Leaving":
            away.append(interval)
        if parts[4] in ("Leaving", "Sleeping"):
            setback.append(interval)
    events: list[tuple[int, str, str]] = []
    for key, intervals in by_key.items():
        events.extend(_on_off(key, intervals, "on", "off"))
    events.extend(_on_off("resident", away, "not_home", "home"))
    events.extend(_on_off("setpoint", setback, str(SETPOINT_SETBACK), str(SETPOINT_HOME)))
    return sorted(events)


def energy_rows(source: Path) -> list[tuple[int, float, float, float, float]]:
    """10-min rows of the 14 days from ENERGY_DAY0: power, cumulative energy, temperatures."""
    path = next(source.glob("energydata_complete*.csv"))
    rows: list[tuple[int, float, float, float, float]] = []
    total_wh = 0.0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            offset = int((datetime.fromisoformat(row["date"]) - ENERGY_DAY0).total_seconds())
            if not 0 <= offset < PERIOD.total_seconds():
                continue
            wh = float(row["Appliances"]) + float(row["lights"])
            total_wh += wh
            # Wh in 10 min -> mean W; the meter reads the total at the end of the interval.
            rows.append((offset, wh * 6, total_wh / 1000, float(row["T2"]), float(row["T_out"])))
    return rows


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m demo.build_data")
    parser.add_argument("--ordonez", type=Path, required=True)
    parser.add_argument("--energy", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "occupancy.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["offset", "key", "state"])
        writer.writerows(occupancy_events(args.ordonez))
    with (args.out / "energy.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["offset", "power_w", "energy_kwh", "indoor_c", "outdoor_c"])
        for offset, power, energy, indoor, outdoor in energy_rows(args.energy):
            writer.writerow([offset, f"{power:.0f}", f"{energy:.3f}", f"{indoor:.2f}", f"{outdoor:.2f}"])


if __name__ == "__main__":
    main()
