"""Task `security`: a real home replayed walk-forward, with injected intrusions.

    scripts/evaluate --task security --history build/ordonez_a/history.csv \
        --home build/ordonez_a/home.json --inject 40 --seed 0

Each test day (from --first-test-day on) the security model is fitted on the history before
local midnight, through the integration's `HomeReplay`, and then fed that day's events one
by one, as the integration does live (check_event() per event, due_anomalies() every
minute). Every anomaly raised on the real,
uninjected stream is a false alarm (the data set has no known intrusions). Then each
injected intrusion (evaluation/inject.py) is replayed on its day, merged into the real
events, with a fresh copy of that day's model; it counts as detected when an anomaly that
the real stream did not raise appears between its start and its end (an hour for entries,
the open time for a door held open). Time to detect is from the intrusion's first event.

Alerts that belong together are told as one incident (engine/incidents.py: the same time
away, the same night, or within the quiet window; a door opening after a quiet spell always
starts a new one), and false alarms are counted as incidents, as a person is notified.
With --alerts-out FILE, each incident raised on the real stream is written to FILE as one
JSON object per line (start, end, kind, entities, explanation), so that anyone can score
the replay with their own intrusions and rules.

Baselines on the same streams: `rule_away` (any door or motion while everyone is away,
door open over 10 minutes) and `rule_night` (any door or motion 00:00-06:00, door open over
10 minutes) -- the fixed rules a homeowner would otherwise write.
"""

from __future__ import annotations

import argparse
import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
import copy
from datetime import UTC, datetime
import json
import math
import statistics
import sys
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from custom_components.smartml.engine.constants import DEFAULT_SENSITIVITY, SECURITY_SENSITIVITIES
from custom_components.smartml.engine.home import Readiness
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.incidents import (
    ENTRY_QUIET_SECONDS,
    INCIDENT_QUIET_SECONDS,
    Incident,
    IncidentGrouper,
    spell_of,
)
from custom_components.smartml.engine.observations import (
    ROLE_OCCUPANCY,
    ROLE_PRESENCE,
    ROLE_SECURITY,
    ObservationStore,
    Skip,
    convert_state,
    entity_roles,
    security_doors,
)
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import explain_incident, friendly_name
from custom_components.smartml.fit_reasons import say_reasons

from .inject import KINDS, HomeTimeline, Injection, away_spells, plan_injections

if TYPE_CHECKING:
    from custom_components.smartml.engine.security_context import SecurityLearned

CHECK_EVERY_SECONDS = 60.0
RULE_OPEN_LIMIT_SECONDS = 600.0
RULE_NIGHT_HOURS = (0, 6)
WEEK_DAYS = 7.0

Event = tuple[str, float, float]  # entity_id, value, ts
Raised = tuple[float, Anomaly]  # time raised, the anomaly
Detector = Callable[[list[Event], float, float], list[tuple[float, str]]]


def _events(
    rows: Sequence[tuple[str, str, float, Any]], roles: dict[str, str], start: float, end: float
) -> list[Event]:
    out: list[Event] = []
    for entity_id, state, ts, attributes in rows:
        if not start <= ts < end or entity_id not in roles:
            continue
        try:
            for channel, value in convert_state(entity_id, roles[entity_id], state, attributes):
                out.append((channel, value, ts))
        except Skip:
            continue
    return out


class ReplayDay(NamedTuple):
    """One test day of a walk-forward replay: the model fitted before it and its real stream.

    A named tuple, so that a replay loop unpacks it in its `for`.
    """

    cutoff: float
    next_cutoff: float
    model: HomeReplay
    events: list[Event]
    presence: dict[str, float]  # each presence entity's state at the cutoff


def walk_forward(
    spec: Mapping[str, Any],
    rows: Sequence[tuple[str, str, float, Any]],
    roles: dict[str, str],
    days: Sequence[tuple[float, float]],
    end: float,
    refit: Callable[[HomeReplay, ObservationStore, float], Readiness],
    sensitivity: str,
    not_ready: list[str],
) -> Iterator[ReplayDay]:
    """Each test day's model, fitted by `refit` on the history before its midnight, and its events.

    Why a model was not ready is appended to not_ready. The last day's stream ends with the
    history's last row (often an arrival).
    """
    presence = [e for e, r in roles.items() if r == ROLE_PRESENCE]
    for cutoff, next_cutoff in days:
        store = ObservationStore(max_points=10**9)
        store.merge_states([r for r in rows if r[2] < cutoff], roles)
        model = HomeReplay(spec, security_sensitivity=sensitivity)
        ready, reasons = refit(model, store, cutoff)
        if not ready:
            not_ready.append(say_reasons(reasons))
        events = _events(rows, roles, cutoff, next_cutoff if next_cutoff < end else math.inf)
        state0 = {
            e: float(store.channels[e].values[-1]) for e in presence if e in store.channels and store.channels[e].values
        }
        yield ReplayDay(cutoff, next_cutoff, model, events, state0)


def _merge(real: list[Event], injected: list[Event]) -> list[Event]:
    return sorted([*real, *injected], key=lambda e: e[2])


def _run_model(home: HomeReplay, events: list[Event], start: float, end: float) -> list[Raised]:
    """Feed events as the integration does; (time raised, anomaly) of each anomaly."""
    raised: list[Raised] = []
    tick = start + CHECK_EVERY_SECONDS
    last_value: dict[str, float] = {}
    for entity_id, value, ts in events:
        while tick <= ts:
            for found in home.due_anomalies(tick):
                raised.append((tick, found))
            tick += CHECK_EVERY_SECONDS
        if last_value.get(entity_id) == value:
            continue  # Home Assistant reports changes only
        last_value[entity_id] = value
        anomaly = home.check_event(entity_id, value, ts)
        if anomaly is not None:
            raised.append((ts, anomaly))
    while tick <= end + 3600.0:
        for found in home.due_anomalies(tick):
            raised.append((tick, found))
        tick += CHECK_EVERY_SECONDS
    return raised


class _Rule:
    """A fixed-rule baseline: alert on door/motion in a condition, and on a door open too long."""

    def __init__(self, spec: Mapping[str, Any], condition: str) -> None:
        roles = entity_roles(spec)
        self.presence = [e for e, r in roles.items() if r == ROLE_PRESENCE]
        self.watched = {e for e, r in roles.items() if r in (ROLE_SECURITY, ROLE_OCCUPANCY)}
        self.doors = set(security_doors(spec))
        self.condition = condition
        self.tz = ZoneInfo(str(spec.get("timezone", "UTC")))

    def run(
        self, events: list[Event], start: float, end: float, presence0: dict[str, float]
    ) -> list[tuple[float, str]]:
        presence = dict(presence0)
        raised: list[tuple[float, str]] = []
        open_since: dict[str, float] = {}
        flagged: set[str] = set()

        def check_open(now: float) -> None:
            for door, since in open_since.items():
                if door not in flagged and now - since >= RULE_OPEN_LIMIT_SECONDS:
                    flagged.add(door)
                    raised.append((now, f"open|{door}|{since}"))

        tick = start + CHECK_EVERY_SECONDS
        for entity_id, value, ts in events:
            while tick <= ts:
                check_open(tick)
                tick += CHECK_EVERY_SECONDS
            if entity_id in self.presence:
                presence[entity_id] = value
                continue
            if entity_id in self.doors:
                if value > 0.5:
                    open_since.setdefault(entity_id, ts)
                else:
                    open_since.pop(entity_id, None)
                    flagged.discard(entity_id)
            if entity_id not in self.watched or value <= 0.5:
                continue
            if self.condition == "away":
                alert = bool(presence) and not any(v > 0.5 for v in presence.values())
            else:
                hour = datetime.fromtimestamp(ts, UTC).astimezone(self.tz).hour
                alert = RULE_NIGHT_HOURS[0] <= hour < RULE_NIGHT_HOURS[1]
            if alert:
                raised.append((ts, f"{entity_id}|{ts}"))
        while tick <= end + 3600.0:
            check_open(tick)
            tick += CHECK_EVERY_SECONDS
        return raised


def _presence_changes(
    events: list[Event], presence: Sequence[str], state0: dict[str, float]
) -> list[tuple[float, bool]]:
    state = dict(state0)
    out: list[tuple[float, bool]] = []
    for entity_id, value, ts in events:
        if entity_id in presence:
            state[entity_id] = value
            out.append((ts, any(v > 0.5 for v in state.values())))
    return out


def run(argv: list[str]) -> dict[str, Any]:
    """Replay the home walk-forward; score detection of injected intrusions and false alarms."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task security")
    parser.add_argument("--history", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--inject", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-test-day", type=int, default=7)
    parser.add_argument("--sensitivity", default=DEFAULT_SENSITIVITY, choices=SECURITY_SENSITIVITIES)
    parser.add_argument("--alerts-out", help="write each incident on the real stream here, one JSON object a line")
    parser.add_argument("--incident-quiet-minutes", type=float, default=INCIDENT_QUIET_SECONDS / 60.0)
    args = parser.parse_args(argv)

    replay = load_replay(args.history, args.home)
    spec = replay.spec
    roles = entity_roles(spec)
    rows = sorted(replay.history.rows, key=lambda r: r[2])
    presence = [e for e, r in roles.items() if r == ROLE_PRESENCE]
    # A motion sensor of the security list is no door: an intruder's motion trips it.
    doors = security_doors(spec)
    areas = {
        name: [e for e in (body.get(ROLE_OCCUPANCY) or []) if e not in doors]
        for name, body in (spec.get("areas") or {}).items()
    }
    days = list(replay.days(args.first_test_day))
    if not days:
        raise SystemExit("history too short for the first test day")
    tz = ZoneInfo(replay.timezone)
    quiet_s = args.incident_quiet_minutes * 60.0
    departures = _departures(_events(rows, roles, -math.inf, math.inf), presence)

    models: list[HomeReplay] = []
    real_streams: list[list[Event]] = []
    presence_at_cutoff: list[dict[str, float]] = []
    timelines: dict[float, HomeTimeline] = {}
    real_raised: dict[str, list[list[tuple[float, str]]]] = {"smartml": [], "rule_away": [], "rule_night": []}
    rules = {"rule_away": _Rule(spec, "away"), "rule_night": _Rule(spec, "night")}
    not_ready: list[str] = []
    real_alerts: list[Raised] = []
    real_alert_ids: list[set[str]] = []
    for cutoff, next_cutoff, model, events, state0 in walk_forward(
        spec, rows, roles, days, replay.end, HomeReplay.refit_security, args.sensitivity, not_ready
    ):
        models.append(model)
        real_streams.append(events)
        presence_at_cutoff.append(state0)
        changes = _presence_changes(events, presence, state0)
        start_home = any(v > 0.5 for v in state0.values()) if state0 else True
        spells = away_spells([(cutoff, start_home), *changes], cutoff, next_cutoff)
        timelines[cutoff] = HomeTimeline(replay.timezone, doors, areas, spells)
        alerts = _run_model(copy.deepcopy(model), events, cutoff, next_cutoff)
        real_alerts.extend(alerts)
        real_alert_ids.append({anomaly.id for _, anomaly in alerts})
        real_raised["smartml"].append(_ids(alerts))
        for name, rule in rules.items():
            real_raised[name].append(rule.run(events, cutoff, next_cutoff, state0))
        print(
            f"day {datetime.fromtimestamp(cutoff, UTC).date()}: {len(events)} events, "
            f"{len(real_raised['smartml'][-1])} alerts on the real stream",
            file=sys.stderr,
        )

    plan = plan_injections(args.inject, args.seed, days, timelines)
    outcomes: dict[str, list[tuple[str, float | None]]] = {name: [] for name in real_raised}
    missed: list[dict[str, Any]] = []
    notifications: list[int] = []  # new incidents within each intrusion's span
    for day, injection in plan:
        cutoff, next_cutoff = days[day]
        stream = _merge(real_streams[day], injection.events)
        alerts = _run_model(copy.deepcopy(models[day]), stream, cutoff, next_cutoff)
        new_incidents = [
            incident
            for incident in _group(alerts, departures, tz, quiet_s, next_cutoff + 3600.0)
            if incident.id not in real_alert_ids[day] and injection.start <= incident.start <= injection.end
        ]
        notifications.append(len(new_incidents))
        # SmartML detects an intrusion when it tells the person: a new incident in its span.
        outcomes["smartml"].append(
            (injection.kind, min(i.start for i in new_incidents) - injection.start if new_incidents else None)
        )
        for name, rule in rules.items():
            raised = rule.run(stream, cutoff, next_cutoff, presence_at_cutoff[day])
            outcomes[name].append((injection.kind, _detection_delay(raised, real_raised[name][day], injection)))
        if outcomes["smartml"][-1][1] is None:
            missed.append(
                {
                    "kind": injection.kind,
                    "local_time": datetime.fromtimestamp(injection.start, UTC)
                    .astimezone(tz)
                    .isoformat(timespec="minutes"),
                    "entities": injection.entity_ids,
                }
            )

    real_incidents = _group(real_alerts, departures, tz, quiet_s, days[-1][1] + 3600.0)
    false_alarms = {
        "smartml": len(real_incidents),
        **{name: sum(len(r) for r in raised) for name, raised in real_raised.items() if name != "smartml"},
    }
    if args.alerts_out:
        _write_incidents(args.alerts_out, real_incidents, tz)
    test_days = sum(end - start for start, end in days) / 86_400.0
    results: dict[str, dict[str, dict[str, float | None]]] = {}
    scopes = {"all": list(KINDS), **{kind: [kind] for kind in KINDS}}
    for scope, kinds in scopes.items():
        results[scope] = {}
        for name in real_raised:
            picked = [delay for kind, delay in outcomes[name] if kind in kinds]
            if not picked:
                continue
            found = [d for d in picked if d is not None]
            results[scope][name] = {
                "detection_rate": len(found) / len(picked),
                "median_minutes_to_detect": statistics.median(found) / 60.0 if found else None,
                "false_alarms_per_week": false_alarms[name] / test_days * WEEK_DAYS,
                "injections": float(len(picked)),
            }
    return {
        "task": "security",
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
            "false_alarms_explained": [explain_incident(incident, friendly_name) for incident in real_incidents],
            "incidents": {
                "quiet_minutes": args.incident_quiet_minutes,
                "entry_quiet_minutes": ENTRY_QUIET_SECONDS / 60.0,
                "false_alerts": len(real_alerts),
                "detected_as_new_incident": sum(n > 0 for n in notifications) / len(notifications)
                if notifications
                else None,
                "notifications_per_detected_intrusion": sum(notifications) / sum(n > 0 for n in notifications)
                if any(notifications)
                else None,
            },
            "last_model": _model_info(models[-1].security_learned()),
        },
    }


def _ids(raised: list[Raised]) -> list[tuple[float, str]]:
    return [(when, anomaly.id) for when, anomaly in raised]


def _departures(events: list[Event], presence: Sequence[str]) -> list[float]:
    """Times everyone had left, in order (the start of each time away)."""
    out: list[float] = []
    home = True
    for ts, is_home in _presence_changes(events, presence, {}):
        if home and not is_home:
            out.append(ts)
        home = is_home
    return out


def _group(alerts: list[Raised], departures: list[float], tz: ZoneInfo, quiet_s: float, until: float) -> list[Incident]:
    """The incidents a person would be told of, from alerts in the order they were raised."""
    grouper = IncidentGrouper(quiet_s)
    for when, anomaly in sorted(alerts, key=lambda raised: raised[0]):
        index = bisect.bisect_right(departures, anomaly.ts)
        departed_at = departures[index - 1] if index else None
        local = datetime.fromtimestamp(anomaly.ts, UTC).astimezone(tz)
        grouper.add(when, anomaly, spell_of(anomaly, local, departed_at))
    grouper.close_due(until)
    return grouper.incidents


def _local_iso(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).isoformat(timespec="seconds")


def _write_incidents(path: str, incidents: list[Incident], tz: ZoneInfo) -> None:
    """One JSON object a line: when each incident was raised and closed, its type, entities, words."""
    with open(path, "w", encoding="utf-8") as handle:
        for incident in incidents:
            line = {
                "start": _local_iso(incident.start, tz),
                "end": None if incident.end is None else _local_iso(incident.end, tz),
                "kind": incident.type,
                "entities": incident.entity_ids,
                "explanation": explain_incident(incident, friendly_name),
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _detection_delay(
    raised: list[tuple[float, str]], real: list[tuple[float, str]], injection: Injection
) -> float | None:
    """Seconds from the intrusion's start to the first new anomaly within its span."""
    known = {anomaly_id for _, anomaly_id in real}
    times = [t for t, anomaly_id in raised if anomaly_id not in known and injection.start <= t <= injection.end]
    return min(times) - injection.start if times else None


def _model_info(learned: SecurityLearned | None) -> dict[str, Any]:
    if learned is None:
        return {}
    return {
        "threshold": round(learned.threshold, 3) if math.isfinite(learned.threshold) else None,
        "night_hours": list(learned.night_hours),
        "arrival_grace_minutes": round(learned.arrival_grace_s / 60.0, 1),
        "entry_grace_minutes": round(learned.entry_grace_s / 60.0, 1),
        "departure_grace_minutes": round(learned.departure_grace_s / 60.0, 1),
        "departure_wait_minutes": round(learned.departure_wait_s / 60.0, 1),
        "open_limit_minutes": {e: round(v / 60.0, 1) for e, v in learned.open_limit_s.items()},
        "sources": list(learned.sources),
        "source_thresholds": {key: round(value, 3) for key, value in learned.source_thresholds.items()},
        "calibration_days": learned.calibration_days,
    }
