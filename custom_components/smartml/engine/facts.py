"""Why an anomaly was raised: typed, immutable facts, one class per anomaly type.

The engine states facts (entity ids, local times, counts, minutes); turning them into words
is `explain.py`'s job, at the edge, where entity names are known. Each class reads and
writes the JSON form the facts have always had on the bus and in the store (`as_json` /
`from_json`), so stored anomalies of earlier releases still load.

Plain Python (no numpy, no Home Assistant): the event loop and the evaluation use it.

To add the facts of another anomaly type: a frozen dataclass with `as_json` and a
`from_json` class method, a member in `AnomalyFacts`, and an entry in `FACTS_FROM_JSON`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, ClassVar, Final, TypedDict

from .constants import (
    TYPE_ABOVE_FORECAST,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_BASE_LOAD,
    TYPE_DEVICE_LEFT_ON,
    TYPE_DEVICE_STANDBY,
    TYPE_EMPTY_HOME,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_ROUTINE_MISSING,
    TYPE_STUCK_ON,
    TYPE_UNUSUAL_TIME,
)


class ActivityFields(TypedDict):
    """Constructor arguments of ActivityFacts, as read from JSON."""

    entity_id: str
    area: str | None
    state: str
    day_type: str
    at: time
    start_hour: int
    end_hour: int
    times_seen: int
    days_of_history: float
    hours_observed: float | None
    expected_per_hour: float
    threshold: float


# Facts in their JSON form (bus event data, stored feedback).
JsonFacts = dict[str, object]

# Source keys: a security entity (door, window, lock) or an area (its occupancy sensors).
ENTITY_SOURCE_PREFIX: Final = "entity:"
AREA_SOURCE_PREFIX: Final = "area:"


def area_of_source(key: str) -> str | None:
    """The area of a security source's key; None for an entity of the security list."""
    return key.removeprefix(AREA_SOURCE_PREFIX) if key.startswith(AREA_SOURCE_PREFIX) else None


def friendly_name(entity_id: str) -> str:
    """A readable name from an entity id, when nothing better is known: binary_sensor.front_door -> Front door."""
    name = entity_id.partition(".")[2] or entity_id
    return name.replace("_", " ").strip().capitalize()


def area_label(area: str) -> str:
    """A readable name from an area id: living_room -> Living room."""
    return area.replace("_", " ").capitalize()


def _clock(value: time) -> str:
    return value.strftime("%H:%M")


def _parse_clock(value: object) -> time:
    hour, _, minute = str(value).partition(":")
    return time(int(hour), int(minute or 0))


def _number(data: Mapping[str, object], key: str, default: float = 0.0) -> float:
    value = data.get(key, default)
    return float(value) if isinstance(value, int | float | str) else default


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityFacts:
    """Activity that started in a context (home state, day type, hour) where it is rare.

    The window [start_hour, end_hour) is the run of hours around the event, among those in
    which the home has been in this state, that are as quiet as its own hour; start_hour ==
    end_hour means the whole day. hours_observed is how long the home was in this state in
    that window over the history: the evidence behind times_seen (None where unknown, in
    facts stored before it was kept).
    """

    entity_id: str  # the sensor that reported the activity
    area: str | None  # the area whose activity it was; None for an entity of the security list
    state: str  # the home's state: occupied, empty or night
    day_type: str  # weekday or weekend
    at: time  # local time of the event
    start_hour: int
    end_hour: int
    times_seen: int  # starts in the window and state over the history
    days_of_history: float
    hours_observed: float | None = None
    expected_per_hour: float
    threshold: float

    @property
    def is_door(self) -> bool:
        """Whether a door, window or lock opened, rather than someone moved in the home."""
        return self.area is None

    @property
    def source(self) -> str:
        """The model's key of the entity or area."""
        return f"{ENTITY_SOURCE_PREFIX}{self.entity_id}" if self.area is None else f"{AREA_SOURCE_PREFIX}{self.area}"

    @property
    def hour(self) -> int:
        """Local hour of the event."""
        return self.at.hour

    def as_json(self) -> JsonFacts:
        """The JSON form; `name` is the fallback name the form has always carried."""
        return {
            "source": self.source,
            "name": friendly_name(self.entity_id) if self.area is None else area_label(self.area),
            "entity_id": self.entity_id,
            "state": self.state,
            "hour": self.hour,
            "day_type": self.day_type,
            "local_time": _clock(self.at),
            "span_start": f"{self.start_hour:02d}:00",
            "span_end": f"{self.end_hour:02d}:00",
            "times_seen_in_span": self.times_seen,
            **({} if self.hours_observed is None else {"hours_in_span": self.hours_observed}),
            "days_of_history": self.days_of_history,
            "expected_per_hour": self.expected_per_hour,
            "threshold": self.threshold,
        }

    @staticmethod
    def _fields_from_json(data: Mapping[str, object]) -> ActivityFields:
        source = str(data.get("source", ""))
        entity_id = str(data.get("entity_id", ""))
        return {
            "entity_id": entity_id,
            "area": area_of_source(source),
            "state": str(data["state"]),
            "day_type": str(data.get("day_type", "weekday")),
            "at": _parse_clock(data.get("local_time", f"{int(_number(data, 'hour')):02d}:00")),
            "start_hour": _parse_clock(data.get("span_start", "00:00")).hour,
            "end_hour": _parse_clock(data.get("span_end", "00:00")).hour,
            "times_seen": int(_number(data, "times_seen_in_span")),
            "days_of_history": _number(data, "days_of_history"),
            "hours_observed": _number(data, "hours_in_span") if "hours_in_span" in data else None,
            "expected_per_hour": _number(data, "expected_per_hour"),
            "threshold": _number(data, "threshold"),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class UnusualTime(ActivityFacts):
    """Activity at an hour (with someone home, by day or at night) when it (almost) never starts."""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> UnusualTime:
        """Read what as_json wrote."""
        return cls(**ActivityFacts._fields_from_json(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class _WhileAway(ActivityFacts):
    """Activity while everyone is away that no arrival followed within the grace."""

    arrival_grace_minutes: float

    def as_json(self) -> JsonFacts:
        """The JSON form, with the arrival grace."""
        return {**ActivityFacts.as_json(self), "arrival_grace_minutes": self.arrival_grace_minutes}


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityWhenEmpty(_WhileAway):
    """Motion in an area (or at a motion sensor of the security list) while everyone is away, and nobody arrived."""

    @property
    def is_door(self) -> bool:
        """Never: whatever sensor saw it, someone moved in the home."""
        return False

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ActivityWhenEmpty:
        """Read what as_json wrote."""
        fields = ActivityFacts._fields_from_json(data)
        return cls(**fields, arrival_grace_minutes=_number(data, "arrival_grace_minutes"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryWithoutArrival(_WhileAway):
    """A door (window, lock) opened while everyone is away, and nobody arrived."""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EntryWithoutArrival:
        """Read what as_json wrote."""
        fields = ActivityFacts._fields_from_json(data)
        return cls(**fields, arrival_grace_minutes=_number(data, "arrival_grace_minutes"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenTooLong:
    """A door or window open far longer than the longest opening seen."""

    entity_id: str
    open_since: time  # local time it opened
    open_minutes: float
    longest_open_minutes: float
    limit_minutes: float
    days_of_history: float

    @property
    def source(self) -> str:
        """The model's key of the entity."""
        return f"{ENTITY_SOURCE_PREFIX}{self.entity_id}"

    def as_json(self) -> JsonFacts:
        """The JSON form; `name` is the fallback name the form has always carried."""
        return {
            "source": self.source,
            "name": friendly_name(self.entity_id),
            "entity_id": self.entity_id,
            "open_since": _clock(self.open_since),
            "open_minutes": self.open_minutes,
            "longest_open_minutes": self.longest_open_minutes,
            "limit_minutes": self.limit_minutes,
            "days_of_history": self.days_of_history,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OpenTooLong:
        """Read what as_json wrote."""
        return cls(
            entity_id=str(data["entity_id"]),
            open_since=_parse_clock(data.get("open_since", "00:00")),
            open_minutes=_number(data, "open_minutes"),
            longest_open_minutes=_number(data, "longest_open_minutes"),
            limit_minutes=_number(data, "limit_minutes"),
            days_of_history=_number(data, "days_of_history"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceDoubt:
    """The home stays in use while the presence entities say everyone is away.

    Raised once per time away, once the home has stayed in use after its first alert: it
    explains why the activity that follows no longer alerts (the presence is probably wrong:
    a phone left at home, a stale tracker). A later arrival or departure ends the doubt.
    """

    entity_id: str  # the presence entity that says away
    away_since: time  # local time everyone left, by the presence entities
    in_use_since: time  # local time of the first activity no departure or arrival explained
    in_use_minutes: float

    @property
    def source(self) -> str:
        """The model's key of the presence entity."""
        return f"{ENTITY_SOURCE_PREFIX}{self.entity_id}"

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return {
            "source": self.source,
            "entity_id": self.entity_id,
            "away_since": _clock(self.away_since),
            "in_use_since": _clock(self.in_use_since),
            "in_use_minutes": self.in_use_minutes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PresenceDoubt:
        """Read what as_json wrote."""
        return cls(
            entity_id=str(data["entity_id"]),
            away_since=_parse_clock(data.get("away_since", "00:00")),
            in_use_since=_parse_clock(data.get("in_use_since", "00:00")),
            in_use_minutes=_number(data, "in_use_minutes"),
        )


SecurityFacts = UnusualTime | ActivityWhenEmpty | EntryWithoutArrival | OpenTooLong | PresenceDoubt

# The hours the above-forecast check sums; the facts' JSON form does not carry them.
ABOVE_FORECAST_HOURS: Final = 3


# Energy facts hold the measured values; their JSON form rounds them as it always has.
# Each names its JSON fields with their digits (None: an int, written as it is); fields
# not named (AboveForecast.hours) are not written and keep their default when read.
type MeasuredFields = Mapping[str, int | None]


def _measured_json(facts: object, digits: MeasuredFields) -> JsonFacts:
    """The JSON form of measured facts: each field rounded to its digits."""
    return {
        name: getattr(facts, name) if places is None else round(getattr(facts, name), places)
        for name, places in digits.items()
    }


def _measured_fields(data: Mapping[str, object], digits: MeasuredFields) -> dict[str, Any]:
    """The constructor arguments of measured facts from their JSON form."""
    return {
        name: _number(data, name) if places is not None else int(_number(data, name)) for name, places in digits.items()
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class AboveForecast:
    """The last hours, each above its forecast's P90, used far more than usual in sum."""

    used_kwh: float
    expected_p90_kwh: float  # the sum of the hours' P90
    expected_p50_kwh: float  # the sum of the hours' P50
    hours: int = ABOVE_FORECAST_HOURS
    JSON: ClassVar[MeasuredFields] = {"used_kwh": 3, "expected_p90_kwh": 3, "expected_p50_kwh": 3}

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return _measured_json(self, self.JSON)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> AboveForecast:
        """Read what as_json wrote."""
        return cls(**_measured_fields(data, cls.JSON))


@dataclass(frozen=True, slots=True, kw_only=True)
class LongRun:
    """The 3-hour power floor far above its usual level at this hour: something stuck on."""

    floor_w: float  # the lowest draw over the last 3 hours
    threshold_w: float
    usual_w: float  # the usual 3-hour floor at this hour of day
    hours: float  # how long power has stayed above the threshold
    hour: int  # local hour of day
    JSON: ClassVar[MeasuredFields] = {"floor_w": 1, "threshold_w": 1, "usual_w": 1, "hours": 2, "hour": None}

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return _measured_json(self, self.JSON)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LongRun:
        """Read what as_json wrote."""
        return cls(**_measured_fields(data, cls.JSON))


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseLoad:
    """The 48-hour power floor far above the usual daily floor: a device running constantly."""

    floor_w: float  # the lowest draw over the last two days
    threshold_w: float
    usual_floor_w: float  # the usual lowest draw of a day
    standby_w: float
    JSON: ClassVar[MeasuredFields] = {"floor_w": 1, "threshold_w": 1, "usual_floor_w": 1, "standby_w": 1}

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return _measured_json(self, self.JSON)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> BaseLoad:
        """Read what as_json wrote."""
        return cls(**_measured_fields(data, cls.JSON))


@dataclass(frozen=True, slots=True, kw_only=True)
class EmptyHomeDraw:
    """Nobody is home, yet the 1-hour power floor is far above the night-time floor."""

    floor_w: float  # the lowest draw over the last hour
    threshold_w: float
    standby_w: float
    JSON: ClassVar[MeasuredFields] = {"floor_w": 1, "threshold_w": 1, "standby_w": 1}

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return _measured_json(self, self.JSON)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EmptyHomeDraw:
        """Read what as_json wrote."""
        return cls(**_measured_fields(data, cls.JSON))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceLeftOn:
    """A watched device has run far longer than it ever has at this time of day."""

    entity_id: str
    power_w: float  # its mean draw over the run
    minutes: float  # how long it has run
    longest_minutes: float  # its longest usual run starting near this time of day
    start_hour: int  # local hour the run started
    weeks: float  # how much of its history was learned from

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return {
            "entity_id": self.entity_id,
            "power_w": round(self.power_w, 1),
            "minutes": round(self.minutes, 1),
            "longest_minutes": round(self.longest_minutes, 1),
            "start_hour": self.start_hour,
            "weeks": round(self.weeks, 1),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> DeviceLeftOn:
        """Read what as_json wrote."""
        return cls(
            entity_id=str(data.get("entity_id", "")),
            power_w=_number(data, "power_w"),
            minutes=_number(data, "minutes"),
            longest_minutes=_number(data, "longest_minutes"),
            start_hour=int(_number(data, "start_hour")),
            weeks=_number(data, "weeks"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStandby:
    """A watched device's lowest draw of the last day far above its usual daily floor."""

    entity_id: str
    floor_w: float
    usual_floor_w: float
    threshold_w: float

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return {
            "entity_id": self.entity_id,
            "floor_w": round(self.floor_w, 1),
            "usual_floor_w": round(self.usual_floor_w, 1),
            "threshold_w": round(self.threshold_w, 1),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> DeviceStandby:
        """Read what as_json wrote."""
        return cls(
            entity_id=str(data.get("entity_id", "")),
            floor_w=_number(data, "floor_w"),
            usual_floor_w=_number(data, "usual_floor_w"),
            threshold_w=_number(data, "threshold_w"),
        )


EnergyFacts = AboveForecast | LongRun | BaseLoad | EmptyHomeDraw | DeviceLeftOn | DeviceStandby


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutineMissing:
    """The home silent far longer than usual at this time while someone is in.

    area: the area most often active in the same clock window (since -> at) on the last
    days with someone home, with the days it was (days_with_activity of days_considered);
    None when there is no such day yet. presence_doubted: the silence began at a door, so
    the home may be empty although the presence says home.
    """

    since: time  # local time of the last sign of life (or arrival)
    at: time  # local time of the alert
    quiet_minutes: float
    day_type: str
    area: str | None
    days_with_activity: int
    days_considered: int
    usual_first: time | None  # the area's usual first activity of the day
    expected_bouts: float  # bouts of activity the home usually shows in such a silence
    threshold: float
    presence_doubted: bool
    days_of_history: float

    @property
    def source(self) -> str:
        """The model's key: the whole home."""
        return "home"

    def as_json(self) -> JsonFacts:
        """The JSON form."""
        return {
            "source": self.source,
            "since": _clock(self.since),
            "local_time": _clock(self.at),
            "quiet_minutes": self.quiet_minutes,
            "day_type": self.day_type,
            "area": self.area,
            "days_with_activity": self.days_with_activity,
            "days_considered": self.days_considered,
            "usual_first": None if self.usual_first is None else _clock(self.usual_first),
            "expected_bouts": self.expected_bouts,
            "threshold": self.threshold,
            "presence_doubted": self.presence_doubted,
            "days_of_history": self.days_of_history,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RoutineMissing:
        """Read what as_json wrote."""
        area, usual = data.get("area"), data.get("usual_first")
        return cls(
            since=_parse_clock(data.get("since", "00:00")),
            at=_parse_clock(data.get("local_time", "00:00")),
            quiet_minutes=_number(data, "quiet_minutes"),
            day_type=str(data.get("day_type", "weekday")),
            area=None if area is None else str(area),
            days_with_activity=int(_number(data, "days_with_activity")),
            days_considered=int(_number(data, "days_considered")),
            usual_first=None if usual is None else _parse_clock(usual),
            expected_bouts=_number(data, "expected_bouts"),
            threshold=_number(data, "threshold"),
            presence_doubted=bool(data.get("presence_doubted", False)),
            days_of_history=_number(data, "days_of_history"),
        )


# Every anomaly's facts; extend with the facts of further anomaly types.
AnomalyFacts = SecurityFacts | EnergyFacts | RoutineMissing

# Facts of an anomaly type that has no class here yet, as the JSON form carries them.
UntypedFacts = Mapping[str, object]

# Anomaly type -> reader of its facts' JSON form.
FACTS_FROM_JSON: Final[dict[str, Callable[[Mapping[str, object]], AnomalyFacts]]] = {
    TYPE_UNUSUAL_TIME: UnusualTime.from_json,
    TYPE_ACTIVITY_WHEN_EMPTY: ActivityWhenEmpty.from_json,
    TYPE_ENTRY_WITHOUT_ARRIVAL: EntryWithoutArrival.from_json,
    TYPE_OPEN_TOO_LONG: OpenTooLong.from_json,
    TYPE_PRESENCE_DOUBT: PresenceDoubt.from_json,
    TYPE_ABOVE_FORECAST: AboveForecast.from_json,
    TYPE_STUCK_ON: LongRun.from_json,
    TYPE_BASE_LOAD: BaseLoad.from_json,
    TYPE_EMPTY_HOME: EmptyHomeDraw.from_json,
    TYPE_ROUTINE_MISSING: RoutineMissing.from_json,
    TYPE_DEVICE_LEFT_ON: DeviceLeftOn.from_json,
    TYPE_DEVICE_STANDBY: DeviceStandby.from_json,
}


def facts_from_json(type_: str, data: Mapping[str, object]) -> AnomalyFacts:
    """The facts of an anomaly of type_ from their JSON form (ValueError for an unknown type)."""
    reader = FACTS_FROM_JSON.get(type_)
    if reader is None:
        raise ValueError(f"no facts for anomaly type {type_!r}")
    return reader(data)
