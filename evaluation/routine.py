"""Task `routine`: a real home replayed walk-forward, with injected quiet spells.

    scripts/evaluate --task routine --history build/ordonez_a/history.csv \
        --home build/ordonez_a/home.json --inject 40 --seed 0

Each test day (from --first-test-day on) the routine model is fitted on the history before
local midnight, through the integration's `HomeReplay`, and then fed that day's events one
by one, as the integration does live (check_event() per event, due_anomalies() every
minute). Every missing-routine alert on the real, uninjected stream is a false alarm (the
data sets hold no known emergencies); a silence told on one day and still going on the
next is counted once.

Each injected quiet spell starts at one of the day's real signs of life while someone is
home (a usual time of activity) and removes every occupancy and security change from then
on for 3 to 12 hours, while the presence stays home. It is replayed with a fresh copy of
that day's model; it counts as detected when an alert the real stream did not raise comes
within the spell. Time to detect is from the spell's start: the activity that did not
come. Because a spell may start where the home usually goes quiet for a while (the last
sign of life before bed), it is also timed from when activity was *due*: the spell's start
plus the median wait, on the earlier days at the same local clock time with someone home
until it came, from that time to the next sign of life. An alert before that counts as at
once. Each spell is
listed in `info.spells` with both.

Beside it, `rule_silence`: no activity for 12 hours while someone is home, the fixed rule a
homeowner would otherwise write. With --alerts-out FILE, each alert raised on the real
stream is written to FILE as one JSON object a line (start, end, kind, entities,
explanation).
"""

from __future__ import annotations

import argparse
from bisect import bisect_right
from collections.abc import Sequence
import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
import math
import statistics
import sys
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.smartml.engine.constants import DEFAULT_SENSITIVITY, SECURITY_SENSITIVITIES
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.observations import (
    ROLE_OCCUPANCY,
    ROLE_PRESENCE,
    ROLE_SECURITY,
    entity_roles,
)
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.explain import explain

from .security import Event, Raised, _events, _local_iso, _run_model, walk_forward

if TYPE_CHECKING:
    from custom_components.smartml.engine.routine_live import RoutineLearned

SPELL_HOURS = (3.0, 12.0)
# A usual time of activity: a local hour with activity on at least this share of the days.
USUAL_HOUR_SHARE = 0.5
RULE_SILENCE_SECONDS = 12 * 3600.0
CHECK_EVERY_SECONDS = 60.0
DAY_SECONDS = 86_400.0
WEEK_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class QuietSpell:
    """All activity removed from `start` to `end` on test day `day`."""

    day: int
    start: float
    end: float


def _is_home(presence: dict[str, float]) -> bool:
    return not presence or any(v > 0.5 for v in presence.values())


def _rule_silence(
    events: list[Event], start: float, end: float, presence: list[str], state0: dict[str, float], last0: float
) -> list[tuple[float, float]]:
    """(time raised, silence start) of each silence of 12 hours while someone is home."""
    state = dict(state0)
    last, told = last0, math.nan
    raised: list[tuple[float, float]] = []

    def tick_to(now: float) -> None:
        nonlocal told
        if _is_home(state) and now - last >= RULE_SILENCE_SECONDS and told != last:
            told = last
            raised.append((now, last))

    tick = start + CHECK_EVERY_SECONDS
    for entity_id, value, ts in events:
        while tick <= ts:
            tick_to(tick)
            tick += CHECK_EVERY_SECONDS
        if entity_id in presence:
            was = _is_home(state)
            state[entity_id] = value
            if was != _is_home(state):
                last = ts
        else:
            last = ts
    while tick <= end:
        tick_to(tick)
        tick += CHECK_EVERY_SECONDS
    return raised


def _home_spans(
    events: list[Event], presence: list[str], state0: dict[str, float], start: float, end: float
) -> list[tuple[float, float]]:
    """Spans within [start, end) in which the presence says someone is home throughout."""
    state = dict(state0)
    spans: list[tuple[float, float]] = []
    since = start if _is_home(state) else None
    for entity_id, value, ts in events:
        if entity_id not in presence:
            continue
        was = _is_home(state)
        state[entity_id] = value
        now_home = _is_home(state)
        if was and not now_home and since is not None:
            spans.append((since, ts))
            since = None
        elif not was and now_home:
            since = ts
    if since is not None:
        spans.append((since, end))
    return spans


def due_after(
    start: float, signs: Sequence[float], home: Sequence[tuple[float, float]], since: float, tz: ZoneInfo
) -> float:
    """When activity was due after `start`: the median wait to the next sign of life on the earlier days.

    Each earlier day from `since` on counts at the same local clock time, when someone was
    home from then until that next sign of life; the data's own signs, never the model's.
    No such day: due at once.
    """
    local = datetime.fromtimestamp(start, UTC).astimezone(tz)
    waits: list[float] = []
    days_back = 1
    while (t := (local - timedelta(days=days_back)).timestamp()) >= since:
        after = bisect_right(signs, t)
        if after < len(signs) and any(a <= t and signs[after] <= b for a, b in home):
            waits.append(signs[after] - t)
        days_back += 1
    return start + statistics.median(waits) if waits else start


def usual_hours(events: list[Event], sensors: set[str], tz: ZoneInfo) -> set[int]:
    """Local hours with some sign of life on at least USUAL_HOUR_SHARE of the days (the data's own)."""
    seen: dict[int, set[str]] = {}
    dates: set[str] = set()
    for entity_id, _, ts in events:
        if entity_id not in sensors:
            continue
        local = datetime.fromtimestamp(ts, UTC).astimezone(tz)
        dates.add(local.date().isoformat())
        seen.setdefault(local.hour, set()).add(local.date().isoformat())
    return {hour for hour, days in seen.items() if len(days) >= USUAL_HOUR_SHARE * len(dates)}


def plan_spells(
    count: int,
    seed: int,
    streams: list[list[Event]],
    spans: list[list[tuple[float, float]]],
    presence: list[str],
    usual: set[int],
    tz: ZoneInfo,
) -> list[QuietSpell]:
    """Quiet spells drawn from the data and the seed only: a real sign of life at a usual hour while home, a length."""
    rng = np.random.default_rng(seed)
    out: list[QuietSpell] = []
    attempts = 0
    while len(out) < count and attempts < 100 * max(count, 1):
        attempts += 1
        day = int(rng.integers(len(streams)))
        hours = float(rng.uniform(*SPELL_HOURS))
        length = hours * 3600.0
        candidates = [
            ts
            for entity_id, _, ts in streams[day]
            if entity_id not in presence
            and datetime.fromtimestamp(ts, UTC).astimezone(tz).hour in usual
            and any(a <= ts and ts + length <= b for a, b in spans[day])
        ]
        if not candidates:
            continue
        start = candidates[int(rng.integers(len(candidates)))]
        out.append(QuietSpell(day, start, start + length))
    return sorted(out, key=lambda spell: spell.start)


def run(argv: list[str]) -> dict[str, Any]:
    """Replay the home walk-forward; score detection of injected quiet spells and false alarms."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task routine")
    parser.add_argument("--history", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--inject", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-test-day", type=int, default=7)
    parser.add_argument("--sensitivity", default=DEFAULT_SENSITIVITY, choices=SECURITY_SENSITIVITIES)
    parser.add_argument("--alerts-out", help="write each alert on the real stream here, one JSON object a line")
    args = parser.parse_args(argv)

    replay = load_replay(args.history, args.home)
    spec = replay.spec
    roles = entity_roles(spec)
    rows = sorted(replay.history.rows, key=lambda r: r[2])
    presence = [e for e, r in roles.items() if r == ROLE_PRESENCE]
    sensors = {e for e, r in roles.items() if r in (ROLE_OCCUPANCY, ROLE_SECURITY)}
    days = list(replay.days(args.first_test_day))
    if not days:
        raise SystemExit("history too short for the first test day")
    tz = ZoneInfo(replay.timezone)
    all_events = _events(rows, roles, -math.inf, math.inf)

    models: list[HomeReplay] = []
    streams: list[list[Event]] = []
    spans: list[list[tuple[float, float]]] = []
    starts: list[tuple[dict[str, float], float]] = []  # presence and last sign of life at each cutoff
    not_ready: list[str] = []
    real: dict[str, Raised] = {}  # the model's alerts on the real stream, by id
    rule_real: dict[float, float] = {}  # the rule's, by silence start
    for cutoff, next_cutoff, model, events, state0 in walk_forward(
        spec, rows, roles, days, replay.end, HomeReplay.refit_routine, args.sensitivity, not_ready
    ):
        models.append(model)
        streams.append(events)
        before = [ts for e, _, ts in all_events if ts < cutoff and (e in sensors or e in presence)]
        starts.append((state0, before[-1] if before else -math.inf))
        # A spell may run on past midnight: the spans look as far ahead as a spell lasts.
        ahead = cutoff + DAY_SECONDS + SPELL_HOURS[1] * 3600.0
        spans.append(_home_spans(_events(rows, roles, cutoff, ahead), presence, state0, cutoff, min(ahead, replay.end)))
        for when, anomaly in _run_model(copy.deepcopy(model), events, cutoff, next_cutoff):
            if cutoff <= when < next_cutoff:
                real.setdefault(anomaly.id, (when, anomaly))
        for when, silence in _rule_silence(events, cutoff, next_cutoff, presence, *starts[-1]):
            rule_real.setdefault(silence, when)
        print(
            f"day {datetime.fromtimestamp(cutoff, UTC).date()}: {len(events)} events, {len(real)} alerts so far",
            file=sys.stderr,
        )

    plan = plan_spells(args.inject, args.seed, streams, spans, presence, usual_hours(all_events, sensors, tz), tz)
    signs = [ts for e, _, ts in all_events if e in sensors]
    home_all = _home_spans(all_events, presence, {}, replay.start, replay.end)
    delays: dict[str, list[float | None]] = {"smartml": [], "rule_silence": []}
    after_due: list[float] = []
    missed: list[dict[str, Any]] = []
    spell_rows: list[dict[str, Any]] = []
    for spell in plan:
        cutoff, next_cutoff = days[spell.day]
        end = max(next_cutoff, spell.end)
        stream = [
            event
            for event in _events(rows, roles, cutoff, end)
            if event[0] in presence or not spell.start <= event[2] < spell.end
        ]
        alerts = _run_model(copy.deepcopy(models[spell.day]), stream, cutoff, end)
        found = [when for when, anomaly in alerts if anomaly.id not in real and spell.start <= when <= spell.end]
        delays["smartml"].append(min(found) - spell.start if found else None)
        rule = _rule_silence(stream, cutoff, end, presence, *starts[spell.day])
        rule_found = [when for when, silence in rule if silence not in rule_real and spell.start <= when <= spell.end]
        delays["rule_silence"].append(min(rule_found) - spell.start if rule_found else None)
        due = due_after(spell.start, signs, home_all, replay.start, tz)
        row: dict[str, Any] = {
            "local_time": _local_iso(spell.start, tz),
            "hours": round((spell.end - spell.start) / 3600.0, 2),
            "due_minutes": round((due - spell.start) / 60.0, 1),
            "minutes_to_detect": None,
            "minutes_after_due": None,
        }
        if found:
            after_due.append(max(0.0, min(found) - due))
            row["minutes_to_detect"] = round((min(found) - spell.start) / 60.0, 1)
            row["minutes_after_due"] = round(after_due[-1] / 60.0, 1)
        else:
            missed.append({"local_time": row["local_time"], "hours": row["hours"]})
        spell_rows.append(row)

    test_days = sum(end - start for start, end in days) / 86_400.0
    false_alarms = {"smartml": len(real), "rule_silence": len(rule_real)}
    results: dict[str, dict[str, dict[str, float | None]]] = {"all": {}}
    for name, found_delays in delays.items():
        found_only = [d for d in found_delays if d is not None]
        results["all"][name] = {
            "detection_rate": len(found_only) / len(found_delays) if found_delays else None,
            "median_minutes_to_detect": statistics.median(found_only) / 60.0 if found_only else None,
            "false_alarms_per_week": false_alarms[name] / test_days * WEEK_DAYS,
            "injections": float(len(found_delays)),
        }
    results["all"]["smartml"]["median_minutes_after_due"] = statistics.median(after_due) / 60.0 if after_due else None
    alerts_real = sorted(real.values(), key=lambda raised: raised[0])
    if args.alerts_out:
        _write_alerts(args.alerts_out, alerts_real, all_events, sensors | set(presence), tz)
    return {
        "task": "routine",
        "results": results,
        "info": {
            "history": args.history,
            "test_days": round(test_days, 2),
            "history_days": round((replay.end - replay.start) / 86_400.0, 2),
            "first_test_day": args.first_test_day,
            "injections": len(plan),
            "seed": args.seed,
            "sensitivity": args.sensitivity,
            "false_alarms": false_alarms,
            "not_ready_days": not_ready,
            "missed": missed,
            "spells": spell_rows,
            "false_alarms_explained": [explain(anomaly) for _, anomaly in alerts_real],
            "last_model": _model_info(models[-1].routine_learned()),
        },
    }


def _write_alerts(path: str, alerts: list[Raised], events: list[Event], signs: set[str], tz: ZoneInfo) -> None:
    """One JSON object a line: when each alert was raised, when activity came back, its words."""
    times = [ts for entity_id, _, ts in events if entity_id in signs]
    with open(path, "w", encoding="utf-8") as handle:
        for when, anomaly in alerts:
            back = next((ts for ts in times if ts > when), None)
            line = {
                "start": _local_iso(when, tz),
                "end": None if back is None else _local_iso(back, tz),
                "kind": anomaly.type,
                "entities": anomaly.entity_ids,
                "explanation": explain(anomaly),
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _model_info(learned: RoutineLearned | None) -> dict[str, Any]:
    if learned is None:
        return {}
    return {
        "threshold": round(learned.threshold, 3) if math.isfinite(learned.threshold) else None,
        "night_hours": list(learned.night_hours),
        "usual_first_activity": dict(learned.usual_first_activity),
        "empty_chance_after_door": learned.empty_chance_after_door,
        "calibration_days": learned.calibration_days,
    }
