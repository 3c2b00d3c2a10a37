"""Realistic intrusions injected into a real home's event stream, for the security evaluation.

Each injection is a short list of (entity_id, value, ts) events built from the home's own
entities and timeline (its presence spells and local night), of one of these kinds:

- entry_while_away: the main door opens for a few seconds while everyone is away (not
  close to a real departure or arrival), then motion starts in one or two areas;
- activity_while_away: motion in one or two areas while everyone is away, no door (entry
  through a window);
- night_entry: the door opens between 01:00 and 05:00 local time, then motion;
- door_held_open: the door opens at a random daytime moment with someone home and stays
  open 20 to 90 minutes.

Nothing here looks at the model: injections are drawn from the data and the seed only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

KINDS = ("entry_while_away", "activity_while_away", "night_entry", "door_held_open")
# Keep injected intrusions this far from real departures/arrivals (they would explain them).
TRANSITION_MARGIN_SECONDS = 900.0
DOOR_OPEN_SECONDS = (5.0, 40.0)
MOTION_DELAY_SECONDS = (30.0, 300.0)
MOTION_SECONDS = (30.0, 180.0)
HELD_OPEN_MINUTES = (20.0, 90.0)
NIGHT_HOURS = (1, 5)
DAYTIME_HOURS = (9, 21)


@dataclass(slots=True)
class Injection:
    """One intrusion: its kind, start, the span in which a detection counts, its events."""

    kind: str
    start: float
    end: float
    events: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def entity_ids(self) -> list[str]:
        """Entities the intrusion touches."""
        return sorted({e for e, _, _ in self.events})


@dataclass(slots=True)
class HomeTimeline:
    """What injections need to know about a test day: away spells, entities, zone."""

    timezone: str
    doors: list[str]
    areas: dict[str, list[str]]
    # (start, end) spells with everyone away.
    away: list[tuple[float, float]]
    home_sensors: list[str] = field(default_factory=list)


def away_spells(presence_events: Sequence[tuple[float, bool]], start: float, end: float) -> list[tuple[float, float]]:
    """Spells within [start, end) when nobody was home, from (ts, anyone_home) changes."""
    spells: list[tuple[float, float]] = []
    home = True
    since = start
    for ts, anyone in presence_events:
        if ts >= end:
            break
        if home and not anyone:
            since = max(ts, start)
        elif not home and anyone and ts > start:
            spells.append((since, ts))
        home = anyone
    if not home:
        spells.append((since, end))
    return [(a, b) for a, b in spells if b > a]


def _motion(rng: np.random.Generator, timeline: HomeTimeline, t: float) -> list[tuple[str, float, float]]:
    areas = [a for a, entities in timeline.areas.items() if entities]
    if not areas:
        return []
    events: list[tuple[str, float, float]] = []
    for area in rng.choice(areas, size=min(len(areas), int(rng.integers(1, 3))), replace=False).tolist():
        entity = str(rng.choice(timeline.areas[area]))
        on = t + float(rng.uniform(*MOTION_DELAY_SECONDS))
        events.append((entity, 1.0, on))
        events.append((entity, 0.0, on + float(rng.uniform(*MOTION_SECONDS))))
    return events


def _door(rng: np.random.Generator, timeline: HomeTimeline, t: float, seconds: float) -> list[tuple[str, float, float]]:
    door = str(rng.choice(timeline.doors))
    return [(door, 1.0, t), (door, 0.0, t + seconds)]


def _local_time(day_start: float, tz: ZoneInfo, hour_low: int, hour_high: int, rng: np.random.Generator) -> float:
    local = datetime.fromtimestamp(day_start, UTC).astimezone(tz)
    base = local.replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = rng.uniform(hour_low * 60, hour_high * 60)
    return (base + timedelta(minutes=float(minutes))).timestamp()


def make_injection(
    kind: str,
    rng: np.random.Generator,
    timeline: HomeTimeline,
    day_start: float,
    day_end: float,
) -> Injection | None:
    """Draw one intrusion of a kind in [day_start, day_end); None if the day has no room for it."""
    tz = ZoneInfo(timeline.timezone)
    if kind in ("entry_while_away", "activity_while_away"):
        spells = [
            (a + TRANSITION_MARGIN_SECONDS, b - TRANSITION_MARGIN_SECONDS)
            for a, b in timeline.away
            if b - a > 2 * TRANSITION_MARGIN_SECONDS + 600
        ]
        spells = [(max(a, day_start), min(b, day_end - 600)) for a, b in spells]
        spells = [(a, b) for a, b in spells if b > a]
        if not spells or (kind == "entry_while_away" and not timeline.doors):
            return None
        lengths = np.array([b - a for a, b in spells])
        k = int(rng.choice(len(spells), p=lengths / lengths.sum()))
        t = float(rng.uniform(*spells[k]))
        events = _motion(rng, timeline, t)
        if kind == "entry_while_away":
            events = _door(rng, timeline, t, float(rng.uniform(*DOOR_OPEN_SECONDS))) + events
        if not events:
            return None
        return Injection(kind, t, t + 3600.0, sorted(events, key=lambda e: e[2]))
    if kind == "night_entry":
        if not timeline.doors:
            return None
        t = _local_time(day_start, tz, *NIGHT_HOURS, rng)
        if not day_start <= t < day_end:
            return None
        events = _door(rng, timeline, t, float(rng.uniform(*DOOR_OPEN_SECONDS))) + _motion(rng, timeline, t)
        return Injection(kind, t, t + 3600.0, sorted(events, key=lambda e: e[2]))
    if kind == "door_held_open":
        if not timeline.doors:
            return None
        at_home = [(max(a, day_start), min(b, day_end)) for a, b in _complement(timeline.away, day_start, day_end)]
        for _ in range(50):
            t = _local_time(day_start, tz, *DAYTIME_HOURS, rng)
            minutes = float(rng.uniform(*HELD_OPEN_MINUTES))
            if any(a <= t and t + minutes * 60 <= b for a, b in at_home):
                events = _door(rng, timeline, t, minutes * 60.0)
                return Injection(kind, t, t + minutes * 60.0, events)
        return None
    raise ValueError(f"unknown injection kind {kind!r}")


def _complement(spells: Sequence[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    cursor = start
    for a, b in sorted(spells):
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return out


def plan_injections(
    n: int,
    seed: int,
    days: Sequence[tuple[float, float]],
    timelines: Mapping[float, HomeTimeline],
    kinds: Sequence[str] = KINDS,
) -> list[tuple[int, Injection]]:
    """n injections cycling through the kinds, each on a random test day that has room for it.

    Returns (day index, injection) pairs.
    """
    rng = np.random.default_rng(seed)
    out: list[tuple[int, Injection]] = []
    attempts = 0
    while len(out) < n and attempts < 50 * max(n, 1):
        kind = kinds[len(out) % len(kinds)]
        day = int(rng.integers(len(days)))
        attempts += 1
        injection = make_injection(kind, rng, timelines[days[day][0]], *days[day])
        if injection is not None:
            out.append((day, injection))
    return out
