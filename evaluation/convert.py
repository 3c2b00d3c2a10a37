"""scripts/convert: public smart-home data sets to a history CSV and a home spec.

    scripts/convert ordonez --source ../shared/data/ordonez_adl --out build/ordonez_a

writes `history.csv` (entity_id,state,last_changed) and `home.json` into --out.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime
import json
from pathlib import Path
import sys
from typing import Any
from zoneinfo import ZoneInfo

PERSON = "person.resident"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.strip().lower()).strip("_")


def _iso(raw: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(raw).replace(tzinfo=tz).isoformat()


def _ordonez_rows(path: Path) -> list[list[str]]:
    """Data lines of an Ordóñez file, whitespace-split (two header lines skipped)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def convert_ordonez(source: Path, out: Path, home: str = "A") -> dict[str, Any]:
    """Ordóñez ADL home: each activation is on at start, off at end; rooms are areas.

    The `Leaving` activity is the ground truth of nobody home and becomes the state of
    `person.resident`. The main door magnetic sensor is the home's security entity.
    """
    tz_name = "Europe/Madrid"
    tz = ZoneInfo(tz_name)
    events: list[tuple[str, str, str]] = []
    areas: dict[str, dict[str, list[str]]] = {}
    security: list[str] = []
    for parts in _ordonez_rows(source / f"Ordonez{home}_Sensors.txt"):
        start, end = f"{parts[0]} {parts[1]}", f"{parts[2]} {parts[3]}"
        location, kind, place = parts[4], parts[5], parts[6]
        entity_id = f"binary_sensor.{_slug(place)}_{_slug(location)}_{_slug(kind)}"
        area = areas.setdefault(_slug(place), {"occupancy": []})
        if entity_id not in area["occupancy"]:
            area["occupancy"].append(entity_id)
        if location.lower() == "maindoor" and entity_id not in security:
            security.append(entity_id)
        events.append((_iso(start, tz), entity_id, "on"))
        events.append((_iso(end, tz), entity_id, "off"))
    first = min(e[0] for e in events)
    events.append((first, PERSON, "home"))
    for parts in _ordonez_rows(source / f"Ordonez{home}_ADLs.txt"):
        if parts[4].lower() == "leaving":
            events.append((_iso(f"{parts[0]} {parts[1]}", tz), PERSON, "not_home"))
            events.append((_iso(f"{parts[2]} {parts[3]}", tz), PERSON, "home"))
    spec = {
        "timezone": tz_name,
        "areas": areas,
        "presence": [PERSON],
        "security": security,
        "power": [],
        "energy": [],
        "climate": [],
    }
    _write(out, sorted(events, key=lambda e: (datetime.fromisoformat(e[0]).timestamp(), e[1])), spec)
    return spec


def _write(out: Path, events: list[tuple[str, str, str]], spec: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "history.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entity_id", "state", "last_changed"])
        for ts, entity_id, state in events:
            writer.writerow([entity_id, state, ts])
    (out / "home.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


CONVERTERS = {"ordonez": convert_ordonez}


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
