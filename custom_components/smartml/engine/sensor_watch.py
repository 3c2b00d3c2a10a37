"""Numeric sensors watched for unusual values (security): one streaming detector each.

`SensorWatch` feeds each watched sensor's values (the observation store's 5-minute means)
to its own `StreamingDetector` and turns a score at or above the sensitivity's threshold
into a security anomaly of type `unusual_value`, explained in plain language by
`value_words.py` ("Garage temperature read 41.2 °C around 03:10, higher than anything it
showed in the last 14 days (at most 24.3 °C)"; in English here, in the user's language at
the edge).

Rules on top of the detector, so that a watched sensor stays quiet unless it matters:
- nothing while the detector learns (its first `learning_points` values);
- only values recent when they are scored alarm: a catch-up on recorder history learns
  but does not announce what happened days ago;
- at most one alarm per sensor per ALARM_COOLDOWN_SECONDS, and only the first point of an
  episode (the detector already reports an episode's first, strongest point only);
- feedback ("it was me") raises that sensor's threshold halfway to 1 above the score of
  the false alarm, so the same size of deviation does not alert again;
- values in a period excluded from learning (a holiday, readings forgotten) are watched but
  not learned: a copy of the detector scores them and is dropped when the period ends, so
  the home stays guarded and the period bends nothing; a period excluded after its values
  were learned makes the sensor learn again from the kept values without them.

Plain Python around the detector (numpy); `feed` belongs in the executor. The whole state is
plain JSON (`as_dict` / `from_dict`); detectors are rebuilt from it lazily, in `feed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import math
from typing import Any, Final, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .constants import DAY_SECONDS, KIND_SECURITY, TYPE_UNUSUAL_VALUE, JsonObject
from .results import Anomaly, anomaly_id
from .slots import counted
from .streaming import DEFAULT_LEARNING_POINTS, STATE_VERSION as DETECTOR_VERSION, StreamingDetector
from .value_words import explain, format_value

__all__ = ["SensorWatch", "explain", "format_value"]

# Score threshold per sensitivity, from the Numenta Anomaly Benchmark (41 series, 1354 days,
# docs/benchmarks/security.md) with one alarm per series per 6 hours at most: 0.61, where
# the detector scores best, finds 57 of 69 anomaly windows with 0.075 false alarms per
# series per day (one in 13 days); 0.8 finds 41 with 0.046 (one in 22 days); 1.0 (a value
# at least twice as unusual as the third most unusual of the recent past) finds 32 with
# 0.021 (one in 48 days).
SENSITIVITY_THRESHOLDS: Final = {"low": 1.0, "medium": 0.8, "high": 0.61}
DEFAULT_SENSITIVITY: Final = "medium"
# Feedback never raises a threshold beyond this: the strongest deviations (score 1) still alert.
MAX_THRESHOLD: Final = 0.99
ALARM_COOLDOWN_SECONDS: Final = 6 * 3600.0
# A value scored later than this after it was measured (history catch-up) does not alarm.
MAX_ALARM_AGE_SECONDS: Final = 2 * 3600.0
# The explanation compares with the range of the last this many days (about the detector's
# value memory at one point per 5 minutes).
RANGE_DAYS: Final = 14
STATE_VERSION: Final = 1

type Span = tuple[float, float]


def clipped(spans: Iterable[Span], low: float, high: float) -> tuple[Span, ...]:
    """The parts of the spans within [low, high]."""
    return tuple((max(start, low), min(end, high)) for start, end in spans if end > low and start < high)


@dataclass(slots=True)
class _Watched:
    """One watched sensor: its detector and what the alarm rules and explanations need."""

    detector: StreamingDetector
    # Raised by feedback; the sensitivity's threshold applies when it is lower.
    threshold: float = 0.0
    last_alarm: float | None = None
    since: float | None = None
    last_value: float | None = None
    # UTC day number -> (lowest, highest) of that day, the last RANGE_DAYS days.
    days: dict[int, tuple[float, float]] = field(default_factory=dict)
    # The latest value handled, learned or skipped in an excluded period.
    seen_until: float = -math.inf
    # The excluded spans, up to seen_until, the detector was learned without.
    learned_without: tuple[Span, ...] = ()
    # The copy of the detector that watches the values of an excluded period (not saved: a
    # restart within the period copies the detector again).
    excluded_watch: StreamingDetector | None = None
    # The unit of the values learned ("" for none); None if not known (learned before units were kept).
    unit: str | None = None

    def as_dict(self) -> JsonObject:
        return {
            "detector": self.detector.as_dict(),
            "threshold": self.threshold,
            "last_alarm": self.last_alarm,
            "since": self.since,
            "last_value": self.last_value,
            "days": [[day, low, high] for day, (low, high) in sorted(self.days.items())],
            "seen_until": self.seen_until if math.isfinite(self.seen_until) else None,
            "learned_without": [list(span) for span in self.learned_without],
            "unit": self.unit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], learning_points: int) -> _Watched:
        detector = StreamingDetector.from_dict(data["detector"])
        fresh = detector.count == 0
        if fresh:
            # A fresh detector (an older state version): learn again with today's period, from the first value.
            detector = StreamingDetector(learning_points=learning_points)
        last_alarm, since, last_value = data.get("last_alarm"), data.get("since"), data.get("last_value")
        unit = data.get("unit")
        return cls(
            detector=detector,
            threshold=float(data.get("threshold", 0.0)),
            last_alarm=None if last_alarm is None else float(last_alarm),
            since=None if since is None else float(since),
            last_value=None if last_value is None else float(last_value),
            days={int(day): (float(low), float(high)) for day, low, high in data.get("days", [])},
            seen_until=-math.inf if fresh else saved_seen_until(data),
            learned_without=() if fresh else saved_learned_without(data),
            unit=str(unit) if unit is not None else None,
        )

    def value_range(self, day: int) -> tuple[float, float] | None:
        """Lowest and highest value of the last RANGE_DAYS days up to `day`."""
        ranges = [span for d, span in self.days.items() if day - RANGE_DAYS < d <= day]
        if not ranges:
            return None
        return min(low for low, _ in ranges), max(high for _, high in ranges)

    def remember(self, ts: float, value: float) -> None:
        """Keep the value in the daily ranges and as the last value."""
        day = int(ts // DAY_SECONDS)
        low, high = self.days.get(day, (value, value))
        self.days[day] = (min(low, value), max(high, value))
        for old in [d for d in self.days if d <= day - RANGE_DAYS]:
            del self.days[old]
        if self.since is None:
            self.since = ts
        self.last_value = value


def saved_seen_until(data: Mapping[str, Any]) -> float:
    """A saved sensor's latest value handled (-inf when none, or from an older state)."""
    seen = data.get("seen_until")
    return -math.inf if seen is None else float(seen)


def saved_learned_without(data: Mapping[str, Any]) -> tuple[Span, ...]:
    """A saved sensor's excluded spans; none in a state saved before they were kept."""
    return tuple((float(start), float(end)) for start, end in data.get("learned_without") or ())


class SavedWatch(TypedDict):
    """The detectors' saved state: per sensor, its detector and raised threshold."""

    version: int
    sensors: dict[str, Mapping[str, Any]]


class SensorStatus(TypedDict):
    """A watched sensor's detector: values learned, whether it can alarm, its threshold."""

    values: int
    ready: bool
    threshold: float


class SensorWatch:
    """A streaming detector per watched numeric sensor, with alarm rules and explanations."""

    def __init__(
        self,
        sensitivity: str = DEFAULT_SENSITIVITY,
        timezone: str = "UTC",
        learning_points: int = DEFAULT_LEARNING_POINTS,
        saved: Mapping[str, Any] | None = None,
    ) -> None:
        """sensitivity: low / medium / high; saved: as_dict output of an earlier run."""
        if sensitivity not in SENSITIVITY_THRESHOLDS:
            raise ValueError(f"unknown sensitivity {sensitivity!r}")
        self.sensitivity = sensitivity
        self.learning_points = int(learning_points)
        try:
            self.tz: ZoneInfo | None = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = None
        self._sensors: dict[str, _Watched] = {}
        # Saved states not rebuilt yet (rebuilding costs a few ms: done in feed, off the loop).
        self._saved: dict[str, Mapping[str, Any]] = {}
        if saved and int(saved.get("version", 0)) == STATE_VERSION:
            sensors = saved.get("sensors")
            if isinstance(sensors, Mapping):
                self._saved = {str(e): s for e, s in sensors.items() if isinstance(s, Mapping)}

    @property
    def base_threshold(self) -> float:
        """The score an alarm needs at the chosen sensitivity."""
        return SENSITIVITY_THRESHOLDS[self.sensitivity]

    def keep_only(self, entity_ids: Iterable[str]) -> None:
        """Forget the sensors no longer watched."""
        wanted = set(entity_ids)
        self._sensors = {e: sensor for e, sensor in self._sensors.items() if e in wanted}
        self._saved = {e: saved for e, saved in self._saved.items() if e in wanted}

    def rename(self, old: str, new: str) -> None:
        """Follow an entity id change."""
        if old in self._sensors:
            self._sensors[new] = self._sensors.pop(old)
        if old in self._saved:
            self._saved[new] = self._saved.pop(old)

    def last_time(self, entity_id: str) -> float:
        """Time of the latest value fed for a sensor, learned or skipped (-inf when none)."""
        if (sensor := self._sensors.get(entity_id)) is not None:
            return max(sensor.detector.last_ts, sensor.seen_until)
        saved = self._saved.get(entity_id)
        detector = saved.get("detector") if saved else None
        # A detector state of another version starts afresh, from the first value on.
        if not saved or not isinstance(detector, Mapping) or detector.get("version") != DETECTOR_VERSION:
            return -math.inf
        try:
            last_ts = detector.get("last_ts")
            return max(-math.inf if last_ts is None else float(last_ts), saved_seen_until(saved))
        except (TypeError, ValueError):
            return -math.inf

    def must_relearn(self, entity_id: str, excluded: Sequence[Span], first: float) -> bool:
        """Whether the excluded spans over the values kept (from `first`) differ from those learned without.

        A period excluded, or no longer excluded, after its values were learned: the sensor
        must learn again from the kept values. Spans before the first kept value are left
        out of the comparison, so a period pruned with its values changes nothing.
        """
        last = self.last_time(entity_id)
        if not math.isfinite(last):
            return False
        sensor = self._sensors.get(entity_id)
        if sensor is not None:
            learned = sensor.learned_without
        else:
            try:
                learned = saved_learned_without(self._saved.get(entity_id) or {})
            except (TypeError, ValueError):
                learned = ()
        return clipped(excluded, first, last) != clipped(learned, first, last)

    def relearn(self, entity_id: str, skip_until: float = -math.inf, excluded: Sequence[Span] = ()) -> None:
        """Start the sensor's detector afresh (its feedback and alarm cooldown kept).

        It is fed from the first value after skip_until (all of them by default); the
        excluded spans up to then are those it is learned without.
        """
        sensor = self._sensor(entity_id)
        self._sensors[entity_id] = _Watched(
            StreamingDetector(learning_points=self.learning_points),
            threshold=sensor.threshold,
            last_alarm=sensor.last_alarm,
            unit=sensor.unit,
            seen_until=skip_until,
            learned_without=clipped(excluded, -math.inf, skip_until),
        )

    def unit(self, entity_id: str) -> str | None:
        """The unit of the values a sensor learned ("" for none); None if not known."""
        if (sensor := self._sensors.get(entity_id)) is not None:
            return sensor.unit
        unit = (self._saved.get(entity_id) or {}).get("unit")
        return str(unit) if unit is not None else None

    def set_unit(self, entity_id: str, unit: str) -> None:
        """The unit of the values the sensor learns from now on ("" for none)."""
        self._sensor(entity_id).unit = unit

    def _sensor(self, entity_id: str) -> _Watched:
        sensor = self._sensors.get(entity_id)
        if sensor is not None:
            return sensor
        saved = self._saved.pop(entity_id, None)
        if saved is not None:
            try:
                sensor = _Watched.from_dict(saved, self.learning_points)
            except (KeyError, TypeError, ValueError):
                sensor = None  # a damaged state: learn the sensor again
        if sensor is None:
            sensor = _Watched(StreamingDetector(learning_points=self.learning_points))
        self._sensors[entity_id] = sensor
        return sensor

    def threshold(self, entity_id: str) -> float:
        """The score a sensor's value needs to alarm (sensitivity, raised by feedback)."""
        sensor = self._sensors.get(entity_id)
        if sensor is not None:
            return max(self.base_threshold, sensor.threshold)
        try:
            raised = float((self._saved.get(entity_id) or {}).get("threshold", 0.0))
        except (TypeError, ValueError):
            raised = 0.0
        return max(self.base_threshold, raised)

    def feed(
        self,
        entity_id: str,
        times: Sequence[float],
        values: Sequence[float],
        now: float,
        name: str | None = None,
        unit: str | None = None,
        excluded: Sequence[Span] = (),
    ) -> list[Anomaly]:
        """Learn a sensor's new values (in time order); return the anomalies they raise.

        Values not after the last one fed, and non-finite values, are ignored. Values in
        the excluded spans (sorted, non-overlapping) are scored by a copy of the detector
        and not learned.
        """
        sensor = self._sensor(entity_id)
        out: list[Anomaly] = []
        learned = counted(np.asarray(times, dtype=np.float64), excluded).tolist()
        for ts, value, learn in zip(times, values, learned, strict=False):
            if not math.isfinite(value) or ts <= max(sensor.detector.last_ts, sensor.seen_until):
                continue
            sensor.seen_until = ts
            if learn:
                sensor.excluded_watch = None
                detector = sensor.detector
            else:
                if sensor.excluded_watch is None:
                    sensor.excluded_watch = StreamingDetector.from_dict(sensor.detector.as_dict())
                detector = sensor.excluded_watch
            score = detector.update(ts, value)
            if (
                score > 0.0
                and score >= self.threshold(entity_id)
                and now - ts <= MAX_ALARM_AGE_SECONDS
                and (sensor.last_alarm is None or ts - sensor.last_alarm >= ALARM_COOLDOWN_SECONDS)
            ):
                sensor.last_alarm = ts
                out.append(self._anomaly(entity_id, sensor, ts, value, score, name, unit))
            sensor.remember(ts, value)
        sensor.learned_without = clipped(excluded, -math.inf, sensor.seen_until)
        return out

    def _local_time(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz or UTC).strftime("%H:%M")

    def _anomaly(
        self,
        entity_id: str,
        sensor: _Watched,
        ts: float,
        value: float,
        score: float,
        name: str | None,
        unit: str | None,
    ) -> Anomaly:
        span = sensor.value_range(int(ts // DAY_SECONDS))
        seen_days = 0.0 if sensor.since is None else (ts - sensor.since) / DAY_SECONDS
        facts: dict[str, object] = {
            "entity_id": entity_id,
            "name": name or entity_id.partition(".")[2].replace("_", " ").capitalize(),
            "value": round(value, 3),
            "unit": unit,
            "local_time": self._local_time(ts),
            "lowest": None if span is None else round(span[0], 3),
            "highest": None if span is None else round(span[1], 3),
            "previous": None if sensor.last_value is None else round(sensor.last_value, 3),
            "days_of_history": max(1, min(RANGE_DAYS, round(seen_days))),
            "threshold": round(self.threshold(entity_id), 3),
        }
        return Anomaly(
            id=anomaly_id(KIND_SECURITY, TYPE_UNUSUAL_VALUE, entity_id, ts),
            kind=KIND_SECURITY,
            type=TYPE_UNUSUAL_VALUE,
            entity_ids=[entity_id],
            ts=ts,
            score=round(score, 3),
            facts=facts,
            explanation=explain(facts),
        )

    def add_feedback(self, anomaly: Anomaly) -> bool:
        """An unusual_value anomaly was normal: raise that sensor's threshold. True if used."""
        if anomaly.type != TYPE_UNUSUAL_VALUE:
            return False
        entity_id = anomaly.entity_ids[0] if anomaly.entity_ids else ""
        if entity_id not in self._sensors and entity_id not in self._saved:
            return False
        score = anomaly.score if math.isfinite(anomaly.score) else 0.0
        reference = max(self.threshold(entity_id), min(score, 1.0))
        raised = min(MAX_THRESHOLD, reference + (1.0 - reference) / 2.0)
        if entity_id in self._sensors:
            self._sensors[entity_id].threshold = raised
        else:
            self._saved[entity_id] = {**self._saved[entity_id], "threshold": raised}
        return True

    def status(self) -> dict[str, SensorStatus]:
        """Per sensor: values learned, whether it can alarm, its threshold (diagnostics)."""
        out: dict[str, SensorStatus] = {}
        for entity_id, sensor in self._sensors.items():
            detector = sensor.detector
            out[entity_id] = {
                "values": detector.count,
                "ready": detector.ready,
                "threshold": round(self.threshold(entity_id), 3),
            }
        for entity_id, saved in self._saved.items():
            raw = saved.get("detector")
            current = isinstance(raw, Mapping) and raw.get("version") == DETECTOR_VERSION
            count = int(raw.get("count", 0)) if current and isinstance(raw, Mapping) else 0
            out[entity_id] = {
                "values": count,
                "ready": count > self.learning_points,
                "threshold": round(self.threshold(entity_id), 3),
            }
        return out

    def as_dict(self) -> SavedWatch:
        """Whole state as plain JSON."""
        sensors: dict[str, Mapping[str, Any]] = {entity_id: dict(saved) for entity_id, saved in self._saved.items()}
        for entity_id, sensor in list(self._sensors.items()):
            sensors[entity_id] = sensor.as_dict()
        return {"version": STATE_VERSION, "sensors": sensors}
