"""A synthetic busy home: motion sensors that fire every few seconds while someone is up.

    python -m evaluation.busy_home --days 200 --every 15 --out build/busy_home

Neither real home of the benchmarks has such sensors, and many Home Assistant homes do
(motion sensors that report every detection). One person in 6 areas with 12 motion sensors
and a front door: up between 06:30 and 07:30, in bed between 22:30 and 23:30 with a few
night visits to the bathroom, out between about 08:30 and 18:30 on 60 % of the days. While
up and home, one sensor fires at random on average every `--every` seconds. It writes a
history CSV and a home spec in the same form as `scripts/convert`. Its figures are checks
of behaviour, not benchmark claims: only real homes are.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
import random
import sys
from zoneinfo import ZoneInfo

from .convert import PERSON, _write

TIMEZONE = "America/Los_Angeles"
AREAS: dict[str, tuple[str, ...]] = {
    "bedroom": ("m01", "m02"),
    "kitchen": ("m03", "m04", "m05"),
    "living": ("m06", "m07", "m08"),
    "bathroom": ("m09",),
    "hall": ("m10", "m11"),
    "office": ("m12",),
}
DOOR = "binary_sensor.d01_door"
BATHROOM = "binary_sensor.m09_motion"


def _motion(sensor: str) -> str:
    return f"binary_sensor.{sensor}_motion"


def busy_home(days: int, every_seconds: float, seed: int = 1) -> list[tuple[datetime, str, str]]:
    """(time, entity_id, state) of the household's days, in time order."""
    rng = random.Random(seed)
    start = datetime(2020, 1, 6, tzinfo=ZoneInfo(TIMEZONE))
    events: list[tuple[datetime, str, str]] = [(start, PERSON, "home")]

    def fire(at: datetime, entity_id: str, seconds: float) -> None:
        events.append((at, entity_id, "on"))
        events.append((at + timedelta(seconds=seconds), entity_id, "off"))

    for day in range(days):
        midnight = start + timedelta(days=day)
        now = midnight + timedelta(hours=6.5 + rng.random())
        bedtime = midnight + timedelta(hours=22.5 + rng.random())
        outing = rng.random() < 0.6
        leave = midnight + timedelta(hours=8.5 + rng.random())
        back = midnight + timedelta(hours=16.5 + 2 * rng.random())
        while now < bedtime:
            if outing and leave <= now < back:
                fire(leave, DOOR, 20)
                events.append((leave + timedelta(seconds=30), PERSON, "not_home"))
                fire(back, DOOR, 20)
                events.append((back + timedelta(seconds=5), PERSON, "home"))
                now = back + timedelta(seconds=60)
                continue
            area = rng.choice(list(AREAS))
            fire(now, _motion(rng.choice(AREAS[area])), rng.randint(2, 40))
            now += timedelta(seconds=rng.expovariate(1.0 / every_seconds))
        for _ in range(rng.randint(0, 2)):
            fire(bedtime + timedelta(hours=7 * rng.random()), BATHROOM, 30)
    return sorted(events, key=lambda event: (event[0], event[1]))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.busy_home")
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--every", type=float, default=15.0, help="mean seconds between detections while up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    events = busy_home(args.days, args.every, args.seed)
    spec = {
        "timezone": TIMEZONE,
        "areas": {area: {"occupancy": [_motion(s) for s in sensors]} for area, sensors in AREAS.items()},
        "presence": [PERSON],
        "security": [DOOR],
        "power": [],
        "energy": [],
        "climate": [],
    }
    _write(args.out, [(at.isoformat(), entity_id, state) for at, entity_id, state in events], spec)
    print(f"wrote {len(events)} changes to {args.out / 'history.csv'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
