"""Live missing-routine checks: the silence so far scored against the fitted rates.

`observe` notes each sign of life and presence change (O(1)); `check`, called every minute,
integrates the learned rate of bouts over the silence since the last of them (walking the
local hours it spans, cached between calls) and raises one `routine_missing` anomaly per
silence once it passes the threshold. `silent_sensors` finds the sensors that have been
silent far longer than ever while the others report: a sensor problem, told as a repair
issue, not a missing routine.

Plain Python (no numpy) so that it may run in the event loop.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
import math
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from .constants import DAY_SECONDS, HOUR_SECONDS, KIND_ROUTINE, TYPE_ROUTINE_MISSING, JsonObject
from .facts import RoutineMissing
from .live_carry import read_later, take_over
from .results import Anomaly, anomaly_id
from .security_context import DAY_TYPES, STATE_NIGHT, STATE_OCCUPIED, STATES

if TYPE_CHECKING:
    from .routine import RoutineModel

# Feedback: a silence around the same hour (this many hours either side) and on the same day
# type must miss this many times the bouts of the one marked normal before it alerts again.
FEEDBACK_FACTOR: Final = 2.0
FEEDBACK_HOURS: Final = 2
# The explanation compares with at most this many past days with someone home, among the
# last RECENT_DAYS (whose starts the model keeps per area).
EVIDENCE_DAYS: Final = 10
RECENT_DAYS: Final = 14
# Sensors whose share of the home's bouts is at least this, unavailable, explain a silence.
UNAVAILABLE_SHARE: Final = 0.5
# A sensor silent this many times longer than its longest silence in the history (and at
# least a day) has a problem.
SENSOR_SILENCE_FACTOR: Final = 2.0
MIN_SENSOR_SILENCE_SECONDS: Final = DAY_SECONDS
# A bed or a seat on this many times longer than it ever was is no longer someone resting:
# the time since it turned on counts as silence. Chosen on Ordóñez home A: at 1.0 a night
# in bed a little longer than any before raised three false alarms in a week.
HELD_LIMIT_FACTOR: Final = 1.5
# A sensor problem is told only while the other sensors report: some change this recent.
OTHERS_REPORT_SECONDS: Final = DAY_SECONDS
# A silence told before a restart is the same one if it began this close (times read back
# from the recorder may be rounded).
TOLD_SAME_SECONDS: Final = 1.0
# Checks come every minute: a pause of a quarter of an hour between two (Home Assistant stopped,
# learning paused) is time the home was not watched, and so is time its main sensors were unavailable.
# Neither counts as silence.
UNWATCHED_AFTER_SECONDS: Final = 900.0
# How long someone who went out stays out, before the household's own outings speak: an
# exponential of this mean, worth this many outings.
OUTING_PRIOR_SECONDS: Final = 4 * HOUR_SECONDS
OUTING_PRIOR_STRENGTH: Final = 2.0


@dataclass(frozen=True, slots=True)
class RoutineLearned:
    """What the routine model learned, for reports and diagnostics."""

    threshold: float  # bouts a silence must have missed to alert (inf before a fit)
    night_hours: tuple[int, ...]
    usual_first_activity: Mapping[str, float]  # per area (and the home): median local hour of the day's first start
    empty_chance_after_door: float  # chance that a silence begun at a door means nobody is in
    calibration_days: int
    calibration_days_needed: int
    longest_silence_s: Mapping[str, float]  # per sensor in regular use (judged for a sensor problem)


def doubted_surprise(expected: float, empty_chance: float, still_out: float = 1.0) -> float:
    """-ln P(a silence missing `expected` bouts) when the home may be empty.

    still_out: the chance that someone who went out is not back yet, so that a silence
    after a door still alerts once it is longer than the household's outings.
    """
    return -math.log((1.0 - empty_chance) * math.exp(-expected) + empty_chance * still_out)


def chance_still_out(outings: Sequence[float], seconds: float) -> float:
    """The chance that an outing lasts longer than `seconds`: the household's own, shrunk to a prior."""
    longer = len(outings) - bisect_right(outings, seconds)
    prior = OUTING_PRIOR_STRENGTH * math.exp(-seconds / OUTING_PRIOR_SECONDS)
    return (longer + prior) / (len(outings) + OUTING_PRIOR_STRENGTH)


def local_clock(ts: float, tz: ZoneInfo) -> time:
    """Local hour and minute of a time."""
    local = datetime.fromtimestamp(ts, UTC).astimezone(tz)
    return time(local.hour, local.minute)


class RoutineWatch:
    """The live side of a fitted RoutineModel: the silence so far and whether it was told."""

    def __init__(
        self,
        model: RoutineModel,
        last_life: float,
        last_entity: str | None,
        presence: Mapping[str, float],
        last_presence_change: float,
        held: Mapping[str, float] | None = None,
        seen: Mapping[str, float] | None = None,
    ) -> None:
        """Start from the latest readings of the fit's copy of the observations.

        held: holding sensors on, since when; seen: when each presence entity and holding
        sensor was last read (`live_carry`).
        """
        self._model = model
        self._tz = ZoneInfo(model.timezone_)
        self._last_life = last_life
        self._last_entity = last_entity
        self._presence = dict(presence)
        self._seen: dict[str, float] = dict(seen or {})
        self._last_presence_change = last_presence_change
        self._held: dict[str, float] = dict(held or {})  # holding sensors on now, since when
        self._told: float | None = None  # start of the silence already told
        self._cache: tuple[float, float, float] = (math.nan, math.nan, 0.0)  # silence start, until, bouts
        self._last_check = -math.inf
        self._unwatched: list[tuple[float, float]] = []  # spans the home was not watched, oldest first
        self._unwatched_end = -math.inf

    def continue_from(self, previous: RoutineWatch) -> None:
        """Carry what the previous fit's watch saw live since its history ended."""
        if not previous._model.ready()[0]:
            return  # it watched nothing live: this fit's copy is the newer
        if previous._last_life > self._last_life:
            self._last_life, self._last_entity = previous._last_life, previous._last_entity
        later = read_later(self._seen, previous._seen)
        take_over(self._presence, previous._presence, [e for e in later if e in self._model.presence_])
        take_over(self._held, previous._held, [e for e in later if e in self._model.holding_])
        self._seen.update({e: previous._seen[e] for e in later})
        self._last_presence_change = max(self._last_presence_change, previous._last_presence_change)
        self._told = previous._told
        self._last_check = max(self._last_check, previous._last_check)
        self._unwatched = sorted({*previous._unwatched, *self._unwatched})
        self._unwatched_end = max(self._unwatched_end, previous._unwatched_end)

    @property
    def told(self) -> float | None:
        """The start of the silence already told, kept over a restart so that it is not told twice."""
        return self._told

    def remember_told(self, silence_start: float) -> None:
        """A silence told before a restart: the same one, still going on, is not told again."""
        self._told = silence_start

    def watching_as_json(self) -> JsonObject:
        """The last check and the spans not watched in the silence so far, kept over a restart."""
        last = self._last_check
        return {
            "watched_until": last if math.isfinite(last) else None,
            "unwatched": [[a, b] for a, b in self._unwatched],
        }

    def restore_watching(self, saved: Mapping[str, object]) -> None:
        """The last check before a restart (the time down was not watched) and the spans before it."""
        last = saved.get("watched_until")
        if isinstance(last, int | float) and math.isfinite(last):
            self._last_check = max(self._last_check, float(last))
        spans = saved.get("unwatched")
        if isinstance(spans, list):
            kept = [
                (float(span[0]), float(span[1]))
                for span in spans
                if isinstance(span, list) and len(span) == 2 and all(isinstance(t, int | float) for t in span)
            ]
            self._unwatched = sorted({*kept, *self._unwatched})

    def _note_watch(self, now: float, blind: bool) -> None:
        """Note a check: a long pause since the last one, or sensors unavailable, was not watched."""
        since = min(self._last_check, now)  # a clock set back must not leave a span the wrong way round
        if math.isfinite(since) and (blind or now - since > UNWATCHED_AFTER_SECONDS):
            if self._unwatched and self._unwatched[-1][1] >= since:
                self._unwatched[-1] = (self._unwatched[-1][0], now)
            else:
                self._unwatched.append((since, now))
            self._unwatched_end = now
        self._last_check = now
        start = self.silence_start
        self._unwatched = [(a, b) for a, b in self._unwatched if b > start and b > a]

    @property
    def silence_start(self) -> float:
        """The last sign of life, arrival or departure."""
        return max(self._last_life, self._last_presence_change)

    def observe(self, entity_id: str, value: float, ts: float) -> None:
        """Note a sign of life or a presence change."""
        model = self._model
        if entity_id in model.presence_:
            self._seen[entity_id] = ts
            was_home = any(v > 0.5 for v in self._presence.values())
            self._presence[entity_id] = value
            if was_home != any(v > 0.5 for v in self._presence.values()):
                self._last_presence_change = max(self._last_presence_change, ts)
            return
        if entity_id in model.holding_:
            self._seen[entity_id] = ts
            if value > 0.5:
                self._held.setdefault(entity_id, ts)
            else:
                self._held.pop(entity_id, None)
        if (entity_id in model.area_of_ or entity_id in model.sensors_) and ts >= self._last_life:
            if ts == self._last_life and self._rank(entity_id) > self._rank(self._last_entity):
                return  # changes at the same moment: the fit names the first sensor, so does the watch
            self._last_life, self._last_entity = ts, entity_id

    def _rank(self, entity_id: str | None) -> int:
        sensors = self._model.sensors_
        return sensors.index(entity_id) if entity_id in sensors else len(sensors)

    def _someone_held(self, now: float) -> bool:
        """Whether a bed or seat shows someone there (not far longer than it ever did)."""
        holding = self._model.holding_
        return any(now - since <= HELD_LIMIT_FACTOR * holding[e] for e, since in self._held.items())

    def _home(self, home_occupied: bool | None) -> bool | None:
        if self._presence:
            return any(v > 0.5 for v in self._presence.values())
        return home_occupied

    def expected_bouts(self, start: float, end: float) -> float:
        """The bouts the home usually shows between start and end with someone in."""
        cached_start, cached_until, cached = self._cache
        if cached_start == start and cached_until <= end:
            total = cached + self._bouts_between(cached_until, end)
        else:
            total = self._bouts_between(start, end)
        self._cache = (start, end, total)
        return total

    def _bouts_between(self, t: float, end: float) -> float:
        """The learned rate integrated from t to end, local hour by local hour."""
        total = 0.0
        rates, night = self._model.rates_, self._model.night_hours_
        while t < end:
            local = datetime.fromtimestamp(t, UTC).astimezone(self._tz)
            into_hour = local.minute * 60 + local.second + local.microsecond / 1e6
            stop = min(end, t + HOUR_SECONDS - into_hour)
            state = STATES.index(STATE_NIGHT if night[local.hour] else STATE_OCCUPIED)
            total += rates[state][int(local.weekday() >= 5)][local.hour] * (stop - t) / HOUR_SECONDS
            t = stop
        return total

    def check(self, now: float, home_occupied: bool | None, unavailable: Sequence[str] = ()) -> Anomaly | None:
        """One anomaly per silence that has gone far past the usual while someone is home."""
        model = self._model
        blind = sum(model.share_.get(e, 0.0) for e in unavailable) >= UNAVAILABLE_SHARE
        self._note_watch(now, blind)
        start = self.silence_start
        if not model.fitted_ or not model.ready()[0] or not math.isfinite(start):
            return None
        if self._told is not None and abs(self._told - start) < TOLD_SAME_SECONDS:
            return None
        if not self._home(home_occupied) or self._someone_held(now):
            return None
        if blind:
            return None  # the sensors are the problem, not the routine
        expected = self.expected_bouts(start, now) - sum(
            self._bouts_between(max(a, start), min(b, now)) for a, b in self._unwatched
        )
        # A door that closed as the presence changed was someone arriving: they are in.
        door_started = (
            self._last_entity in model.doors_ and self._last_life - self._last_presence_change > model.bout_gap_s
        )
        surprise = (
            doubted_surprise(expected, model.empty_chance_, chance_still_out(model.outings_, now - start))
            if door_started
            else expected
        )
        local = datetime.fromtimestamp(now, UTC).astimezone(self._tz)
        day_type = int(local.weekday() >= 5)
        needed = model.threshold_
        for taught_type, hour, score in model.feedback_:
            apart = min((hour - local.hour) % 24, (local.hour - hour) % 24)
            if taught_type == day_type and apart <= FEEDBACK_HOURS:
                needed = max(needed, FEEDBACK_FACTOR * score)
        if surprise < needed:
            return None
        self._told = start
        area, with_activity, considered = self._evidence(start, now)
        usual = model.usual_first_.get(area) if area is not None else None
        facts = RoutineMissing(
            since=local_clock(start, self._tz),
            at=time(local.hour, local.minute),
            quiet_minutes=round((now - start) / 60.0),
            day_type=DAY_TYPES[day_type],
            area=area,
            days_with_activity=with_activity,
            days_considered=considered,
            usual_first=None if usual is None else time(int(usual), int(usual % 1 * 60)),
            expected_bouts=round(expected, 2),
            threshold=round(needed, 3),
            presence_doubted=door_started,
            days_of_history=round(model.days_, 1),
        )
        return Anomaly(
            id=anomaly_id(KIND_ROUTINE, TYPE_ROUTINE_MISSING, "home", start),
            kind=KIND_ROUTINE,
            type=TYPE_ROUTINE_MISSING,
            entity_ids=[self._last_entity] if self._last_entity else list(model.presence_[:1]),
            ts=now,
            score=round(surprise, 3),
            facts=facts,
        )

    def _home_at(self, ts: float) -> bool:
        changes = self._model.presence_changes_
        if not changes:
            return True
        index = bisect_right([t for t, _ in changes], ts)
        return changes[index - 1][1] if index else changes[0][1]

    def _evidence(self, start: float, now: float) -> tuple[str | None, int, int]:
        """The area most often active in the same clock window on the last days with someone home.

        The same local clock on earlier days, also across a change of daylight-saving time;
        only days the history reaches by that clock.
        """
        model = self._model
        window = min(now - start, DAY_SECONDS)
        local_now = datetime.fromtimestamp(now, UTC).astimezone(self._tz)
        ends = [(local_now - timedelta(days=k)).timestamp() for k in range(1, RECENT_DAYS + 1)]
        days = [end for end in ends if end >= model.history_start_ and self._home_at(end)][:EVIDENCE_DAYS]
        best: tuple[str | None, int] = (None, -1)
        for area, starts in model.recent_starts_.items():
            active = 0
            for end in days:
                i = bisect_right(starts, end)
                active += bool(i and starts[i - 1] >= end - window)
            if active > best[1]:
                best = (area, active)
        return best[0], max(best[1], 0), len(days)

    def silent_sensors(self, now: float, last_change: Mapping[str, float]) -> list[str]:
        """Sensors silent far longer than their longest silence, while the others report."""
        model = self._model
        if not model.fitted_ or not model.ready()[0]:
            return []
        # The latest and second latest reports: "the others" of a sensor is the latest that is not its own.
        reports = sorted(((last_change.get(e, -math.inf), e) for e in model.sensors_), reverse=True)[:2]
        out: list[str] = []
        for entity_id, longest in model.longest_silence_s_.items():  # the sensors in regular use
            # Time not watched (Home Assistant down, learning paused) says nothing of the sensor.
            since = max(last_change.get(entity_id, -math.inf), self._unwatched_end)
            limit = max(MIN_SENSOR_SILENCE_SECONDS, SENSOR_SILENCE_FACTOR * longest)
            if now - since < limit:
                continue
            others = next((t for t, e in reports if e != entity_id), -math.inf)
            if now - others < OTHERS_REPORT_SECONDS:
                out.append(entity_id)
        return out
