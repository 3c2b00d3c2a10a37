"""Observations: turning entity states into numbers and keeping them in bounded buffers.

This module is plain Python (no numpy) because the collector calls it from the event
loop for every state change; it must stay O(1) per event and never raise on odd input.
The same conversion serves live states, recorder history, CSV imports and replays.
"""

from __future__ import annotations

from array import array
import base64
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import itertools
import math
import sys
from typing import Any, Final

from .constants import JsonObject
from .exclusions import ExcludedPeriod, merged_spans
from .pacing import pace

# Roles an entity plays in the home spec / config entry options.
ROLE_OCCUPANCY: Final = "occupancy"
ROLE_PRESENCE: Final = "presence"
ROLE_ENVIRONMENT: Final = "environment"
ROLE_POWER: Final = "power"
ROLE_ENERGY: Final = "energy"
ROLE_CLIMATE: Final = "climate"
ROLE_SECURITY: Final = "security"
ROLE_OUTDOOR: Final = "outdoor_temperature"
# A single device or circuit watched for being left on: an energy meter (kWh on the
# entity's own channel) or a power sensor (W on DEVICE_POWER_CHANNEL), by its unit.
ROLE_DEVICE: Final = "devices"
DEVICE_POWER_ATTR: Final = "power"
# A numeric sensor watched for unusual values that no other role lists: its values are
# kept in the normal unit of their kind (W, kWh, °C), other units as they come.
ROLE_WATCHED: Final = "security_sensor"
# The spec's device class of each security entity, where the home says it.
SPEC_DEVICE_CLASSES: Final = "device_classes"
# Device classes that sense someone there (as an area's sensors do), not something opened.
ACTIVITY_DEVICE_CLASSES: Final = frozenset({"motion", "moving", "occupancy", "presence", "sound", "vibration"})

# How a channel is buffered: state channels keep each change, mean/last channels keep
# one aggregated point per bucket so that chatty sensors stay bounded in memory.
KIND_STATE: Final = "state"
KIND_MEAN: Final = "mean"
KIND_LAST: Final = "last"

NUMERIC_BUCKET_SECONDS: Final = 300
DEFAULT_MAX_POINTS: Final = 20_000

# Climate attributes become channels named "<entity_id>|<attribute>".
CHANNEL_SEP: Final = "|"
ATTR_SETPOINT: Final = "temperature"
ATTR_CURRENT_TEMPERATURE: Final = "current_temperature"
ATTR_HVAC_ACTION: Final = "hvac_action"
ATTR_HVAC_MODE: Final = "hvac_mode"
# A thermostat in heat_cool may hold a range instead of a target temperature.
ATTR_TARGET_TEMP_LOW: Final = "target_temp_low"
ATTR_TARGET_TEMP_HIGH: Final = "target_temp_high"

CLIMATE_ATTRIBUTES: Final = (ATTR_SETPOINT, ATTR_CURRENT_TEMPERATURE, ATTR_HVAC_ACTION, ATTR_HVAC_MODE)

SKIP_UNKNOWN: Final = "unknown"
SKIP_UNAVAILABLE: Final = "unavailable"
SKIP_NOT_NUMERIC: Final = "not_numeric"
SKIP_OUT_OF_RANGE: Final = "out_of_range"
SKIP_UNSUPPORTED: Final = "unsupported"
SKIP_OUT_OF_ORDER: Final = "out_of_order"
# Distinct (state, attributes) conversions remembered while adding a run of history.
CONVERSION_CACHE_SIZE: Final = 4096

_ACTIVE_STATES: Final = {
    # binary_sensor / input_boolean / switch / light: "on" is activity, open, motion.
    "on": 1.0,
    "off": 0.0,
    # person / device_tracker: home or not; any named zone counts as away.
    "home": 1.0,
    "not_home": 0.0,
    "away": 0.0,
    # lock: anything but locked leaves the home open.
    "unlocked": 1.0,
    "unlocking": 1.0,
    "open": 1.0,
    "opening": 1.0,
    "jammed": 1.0,
    "locked": 0.0,
    "locking": 0.0,
    "closed": 0.0,
    "closing": 0.0,
    # alarm_control_panel: disarmed means people are in, triggered is activity.
    "disarmed": 1.0,
    "triggered": 1.0,
    "pending": 1.0,
    "armed_away": 0.0,
    "armed_home": 0.0,
    "armed_night": 0.0,
    "armed_vacation": 0.0,
    "armed_custom_bypass": 0.0,
    "arming": 0.0,
}
_AWAY_DOMAINS: Final = {"person", "device_tracker"}

_HVAC_ACTIONS: Final = {"heating": 1.0, "preheating": 1.0, "cooling": -1.0}
_HVAC_MODES: Final = {"off": 0.0, "heat": 1.0, "cool": 2.0, "heat_cool": 3.0, "auto": 3.0}
HVAC_MODE_OFF: Final = 0.0
HVAC_MODE_COOL: Final = 2.0

_POWER_TO_W: Final = {"W": 1.0, "kW": 1000.0, "MW": 1e6, "mW": 1e-3}
_ENERGY_TO_KWH: Final = {"kWh": 1.0, "Wh": 1e-3, "MWh": 1000.0}
_TEMP_LIMITS: Final = (-60.0, 90.0)
_LIMITS: Final = {
    ROLE_POWER: (-1e6, 1e6),
    ROLE_ENERGY: (0.0, 1e9),
    ROLE_ENVIRONMENT: (-1e5, 2e5),
    ROLE_OUTDOOR: _TEMP_LIMITS,
}


BINARY_ROLES: Final = frozenset({ROLE_OCCUPANCY, ROLE_PRESENCE, ROLE_SECURITY})


class Skip(Exception):  # noqa: N818 - a reason, not an error
    """A state that carries no observation; the argument names why."""


def _to_celsius(value: float, unit: str | None) -> float:
    if unit in ("°F", "F"):
        return (value - 32.0) * 5.0 / 9.0
    return value


def _in_normal_unit(value: float, unit: str | None) -> float:
    """A value of any kind in its kind's normal unit (W, kWh, °C); other units as they are."""
    if unit in _POWER_TO_W:
        return value * _POWER_TO_W[unit]
    if unit in _ENERGY_TO_KWH:
        return value * _ENERGY_TO_KWH[unit]
    return _to_celsius(value, unit)


def normal_unit(role: str, unit: str | None) -> str | None:
    """The unit a numeric role's values are kept in, for states in `unit`."""
    if role == ROLE_DEVICE:
        # A watched device's meter, in kWh; its power sensor's readings, in W (see _device).
        return "W" if unit in _POWER_TO_W else "kWh"
    if role == ROLE_POWER or (role == ROLE_WATCHED and unit in _POWER_TO_W):
        return "W"
    if role == ROLE_ENERGY or (role == ROLE_WATCHED and unit in _ENERGY_TO_KWH):
        return "kWh"
    if role in (ROLE_ENVIRONMENT, ROLE_OUTDOOR, ROLE_WATCHED) and unit in ("°F", "F"):
        return "°C"
    return unit


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise Skip(SKIP_NOT_NUMERIC)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise Skip(SKIP_NOT_NUMERIC) from None
    if not math.isfinite(value):
        raise Skip(SKIP_NOT_NUMERIC)
    return value


def _check_range(value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise Skip(SKIP_OUT_OF_RANGE)
    return value


def _binary(entity_id: str, state: str) -> float:
    value = _ACTIVE_STATES.get(state)
    if value is None:
        if entity_id.partition(".")[0] in _AWAY_DOMAINS:
            return 0.0  # a named zone other than home
        raise Skip(SKIP_UNSUPPORTED)
    return value


def target_range(attributes: Mapping[str, Any]) -> tuple[float, float] | None:
    """A thermostat's target range (low, high) where it holds one instead of a target temperature."""
    if attributes.get(ATTR_SETPOINT) is not None:
        return None
    low, high = attributes.get(ATTR_TARGET_TEMP_LOW), attributes.get(ATTR_TARGET_TEMP_HIGH)
    if low is None or high is None:
        return None
    try:
        return _number(low), _number(high)
    except Skip:
        return None


def reported_setpoint(attributes: Mapping[str, Any]) -> Any:
    """A thermostat's setpoint as it reports it: its target temperature, else the middle of its range."""
    setpoint: Any = attributes.get(ATTR_SETPOINT)
    if setpoint is None and (span := target_range(attributes)) is not None:
        setpoint = (span[0] + span[1]) / 2.0
    return setpoint


def _climate(entity_id: str, state: str, attributes: Mapping[str, Any], unit: str | None) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    mode = _HVAC_MODES.get(state)
    if mode is not None:
        out.append((entity_id + CHANNEL_SEP + ATTR_HVAC_MODE, mode))
    setpoint = reported_setpoint(attributes)
    for attr, raw in ((ATTR_SETPOINT, setpoint), (ATTR_CURRENT_TEMPERATURE, attributes.get(ATTR_CURRENT_TEMPERATURE))):
        if raw is None:
            continue
        try:
            value = _check_range(_to_celsius(_number(raw), unit), *_TEMP_LIMITS)
        except Skip:
            continue
        out.append((entity_id + CHANNEL_SEP + attr, value))
    action = attributes.get(ATTR_HVAC_ACTION)
    if isinstance(action, str):
        out.append((entity_id + CHANNEL_SEP + ATTR_HVAC_ACTION, _HVAC_ACTIONS.get(action, 0.0)))
    if not out:
        raise Skip(SKIP_NOT_NUMERIC)
    return out


def state_unit(role: str, temperature_unit: str | None) -> str | None:
    """The unit of a role's states where they carry none.

    A thermostat's temperatures are in the home's temperature unit (Home Assistant shows
    them so); other states say theirs.
    """
    return temperature_unit if role == ROLE_CLIMATE else None


def convert_state(
    entity_id: str,
    role: str,
    state: str,
    attributes: Mapping[str, Any] | None = None,
    unit: str | None = None,
) -> list[tuple[str, float]]:
    """Return the (channel, value) observations a state carries, or raise Skip.

    Units are normalised (W, kWh, °C; see normal_unit): a state's `unit_of_measurement`
    attribute says its unit, else `unit` does. Thermostats carry none: their temperatures
    are in the home's unit, which the caller passes (see state_unit).
    """
    _check_known(state)
    attributes = attributes or {}
    unit = _unit_attribute(attributes) or unit
    if role in BINARY_ROLES:
        return [(entity_id, _binary(entity_id, state))]
    if role == ROLE_CLIMATE:
        return _climate(entity_id, state, attributes, unit)
    if role == ROLE_DEVICE:
        return _device(entity_id, state, unit)
    return [(entity_id, _numeric_value(role, state, unit))]


def device_power_channel(entity_id: str) -> str:
    """The channel of a watched device's power sensor (W)."""
    return entity_id + CHANNEL_SEP + DEVICE_POWER_ATTR


def _device(entity_id: str, state: str, unit: str | None) -> list[tuple[str, float]]:
    """A watched device's state: power (W) on its power channel, else energy (kWh) on its own."""
    if unit in _POWER_TO_W:
        return [(device_power_channel(entity_id), _numeric_value(ROLE_POWER, state, unit))]
    return [(entity_id, _numeric_value(ROLE_ENERGY, state, unit))]


def _skip_reason(skip: Skip) -> str:
    return str(skip.args[0]) if skip.args else SKIP_UNSUPPORTED


def _check_known(state: str) -> None:
    if state in {"unknown", ""}:
        raise Skip(SKIP_UNKNOWN)
    if state == "unavailable":
        raise Skip(SKIP_UNAVAILABLE)


def _unit_attribute(attributes: Mapping[str, Any] | None) -> str | None:
    unit = attributes.get("unit_of_measurement") if attributes else None
    return unit if isinstance(unit, str) else None


def _numeric_value(role: str, state: str, unit: str | None) -> float:
    """A numeric role's known state in its normal unit, range-checked, or raise Skip."""
    value = _number(state)
    if role == ROLE_POWER:
        value *= _POWER_TO_W.get(unit or "W", math.nan)
    elif role == ROLE_ENERGY:
        value *= _ENERGY_TO_KWH.get(unit or "kWh", math.nan)
    elif role in (ROLE_OUTDOOR, ROLE_ENVIRONMENT):
        value = _to_celsius(value, unit)
    elif role == ROLE_WATCHED:
        value = _in_normal_unit(value, unit)
    if math.isnan(value):
        raise Skip(SKIP_UNSUPPORTED)  # a unit we cannot convert
    low, high = _LIMITS.get(role, (-math.inf, math.inf))
    return _check_range(value, low, high)


def channel_kind(channel: str, role: str) -> str:
    """How a channel is buffered (see KIND_*)."""
    attr = channel.partition(CHANNEL_SEP)[2]
    if role in BINARY_ROLES or attr in (ATTR_HVAC_ACTION, ATTR_HVAC_MODE, ATTR_SETPOINT):
        return KIND_STATE
    if role == ROLE_ENERGY or (role == ROLE_DEVICE and attr != DEVICE_POWER_ATTR):
        return KIND_LAST
    return KIND_MEAN


@dataclass(slots=True)
class ChannelBuffer:
    """Times (epoch seconds) and values of one channel, oldest first, bounded."""

    kind: str
    max_points: int = DEFAULT_MAX_POINTS
    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))
    # The open aggregation bucket of mean/last channels: start, sum or last, count.
    bucket_start: float = math.nan
    bucket_value: float = 0.0
    bucket_count: int = 0

    def append(self, ts: float, value: float) -> bool:
        """Add one observation; False if it is older than what is already kept."""
        if self.kind == KIND_STATE:
            if self.times and ts < self.times[-1]:
                return False
            if self.values and self.values[-1] == value:
                return True  # unchanged state: nothing new to keep
            self._push(ts, value)
            return True
        start = ts - ts % NUMERIC_BUCKET_SECONDS
        if start == self.bucket_start:
            if self.kind == KIND_MEAN:
                self.bucket_value += value
                self.bucket_count += 1
            else:
                self.bucket_value = value
            return True
        if start < self.bucket_start or (self.times and start <= self.times[-1]):
            return False
        self.flush()
        self.bucket_start, self.bucket_value, self.bucket_count = start, value, 1
        return True

    def close_passed(self, now: float) -> None:
        """Close the open bucket once its five minutes are over (a sensor that holds its value)."""
        if self.bucket_count and self.bucket_start + NUMERIC_BUCKET_SECONDS <= now:
            self.flush()

    def flush(self) -> None:
        """Close the open bucket into the arrays."""
        if self.bucket_count:
            value = self.bucket_value / self.bucket_count if self.kind == KIND_MEAN else self.bucket_value
            self._push(self.bucket_start, value)
        self.bucket_start, self.bucket_value, self.bucket_count = math.nan, 0.0, 0

    def _push(self, ts: float, value: float) -> None:
        self.times.append(ts)
        self.values.append(value)
        # Trim in chunks so that appends stay amortised O(1).
        if len(self.times) > self.max_points + self.max_points // 4:
            del self.times[: len(self.times) - self.max_points]
            del self.values[: len(self.values) - self.max_points]

    def merge(self, points: Iterable[tuple[float, float]]) -> int:
        """Merge older or overlapping points (history) without duplicates; return how many were new."""
        self.flush()
        points = list(points)
        if not points:
            return 0
        fresh = ChannelBuffer(self.kind, self.max_points)
        if not self.times or (points[0][0] > self.times[-1] and _ordered(points)):
            # History after everything kept (a first bootstrap): append in order. This
            # also spares the worker thread long C-level sorts that hold the GIL, and
            # so stall the event loop, for tens of milliseconds on big histories.
            fresh.times, fresh.values = self.times[:], self.values[:]
            for ts, value in points:
                fresh.append(ts, value)
            fresh.flush()
            added = min(len(fresh.times) - len(self.times), self.max_points)
            self.times, self.values = fresh.times[-self.max_points :], fresh.values[-self.max_points :]
            return added
        existing = set(zip(self.times, self.values, strict=True))
        incoming = sorted(p for p in points if p not in existing)
        if not incoming:
            return 0
        for ts, value in sorted([*zip(self.times, self.values, strict=True), *incoming]):
            fresh.append(ts, value)
        fresh.flush()
        self.times, self.values = fresh.times[-self.max_points :], fresh.values[-self.max_points :]
        # Count what is really new: an unchanged state that history repeats is not.
        return len(set(zip(self.times, self.values, strict=True)) - existing)

    def drop_between(self, start: float, end: float, now: float = math.inf) -> int:
        """Forget the points in [start, end] (a bad reading); return how many were dropped.

        A state channel leaves the span in the state it really ended in: its last dropped
        value is kept at the span's end (or now, for a span still running) when it differs
        from the state before start. Otherwise a door that flapped and ended closed would
        stay open after the span, and its next opening would look like no change.
        """
        dropped = 0
        if self.bucket_count and start <= self.bucket_start <= end:
            self.bucket_start, self.bucket_value, self.bucket_count = math.nan, 0.0, 0
            dropped = 1
        first, last = bisect_left(self.times, start), bisect_right(self.times, end)
        if first == last:
            return dropped
        ended_in = self.values[last - 1]
        del self.times[first:last]
        del self.values[first:last]
        if self.kind == KIND_STATE and (first == 0 or self.values[first - 1] != ended_in):
            self.times.insert(first, min(end, now))
            self.values.insert(first, ended_in)
        return dropped + last - first

    def prune_before(self, cutoff: float) -> None:
        """Forget points older than cutoff, keeping the last one before it as the starting state."""
        # A search, not a walk: pruning runs in the event loop, after a shorter history setting
        # on months of points too.
        keep_from = bisect_left(self.times, cutoff)
        if self.kind == KIND_STATE and keep_from:
            keep_from -= 1
        del self.times[:keep_from]
        del self.values[:keep_from]

    def as_dict(self) -> JsonObject:
        """Compact JSON form: times and values as base64 of little-endian float64 arrays.

        Two strings per channel instead of a number object per point: a save of months of
        observations allocates almost nothing the garbage collector has to walk.
        Safe to call from a worker thread while the event loop appends: it copies the
        arrays in single calls and does not close the open bucket, it only includes it.
        """
        times, values = self.times[:], self.values[:]
        count = min(len(times), len(values))
        del times[count:], values[count:]
        start, value, n = self.bucket_start, self.bucket_value, self.bucket_count
        if n and (not times or start > times[-1]):
            times.append(start)
            values.append(value / n if self.kind == KIND_MEAN else value)
        return {"kind": self.kind, "t": _encode(times), "v": _encode(values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_points: int = DEFAULT_MAX_POINTS) -> ChannelBuffer:
        """Rebuild from as_dict output (or the number lists of store version 1.1).

        Raises ValueError/TypeError/KeyError on a malformed one.
        """
        kind = str(data["kind"])
        if kind not in (KIND_STATE, KIND_MEAN, KIND_LAST):
            raise ValueError(f"unknown channel kind {kind!r}")
        times, values = _decode(data["t"]), _decode(data["v"])
        if len(times) != len(values):
            raise ValueError("times and values differ in length")
        if not all(math.isfinite(x) for x in times) or any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("times are not finite and ordered")
        buf = cls(kind, max_points)
        buf.times, buf.values = times[-max_points:], values[-max_points:]
        return buf


def _encode(numbers: array[float]) -> str:
    if sys.byteorder == "big":
        numbers = array("d", numbers)
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def _decode(raw: Any) -> array[float]:
    if not isinstance(raw, str):
        return array("d", raw)  # store version 1.1: a list of numbers
    numbers = array("d")
    numbers.frombytes(base64.b64decode(raw, validate=True))
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


def _ordered(points: list[tuple[float, float]]) -> bool:
    return all(a[0] < b[0] for a, b in itertools.pairwise(points))


@dataclass(slots=True)
class PendingMerge:
    """Merged buffers computed off the event loop, waiting for ObservationStore.commit_merge."""

    buffers: dict[str, ChannelBuffer] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    added: int = 0


@dataclass(slots=True)
class ObservationStore:
    """All channels of a home, with the count of states that were skipped and why."""

    channels: dict[str, ChannelBuffer] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    max_points: int = DEFAULT_MAX_POINTS
    # Periods not to learn from; kept with the user's choices, not with the observations.
    excluded: tuple[ExcludedPeriod, ...] = ()

    def excluded_spans(self, entities: Iterable[str] | None = None) -> list[tuple[float, float]]:
        """Merged spans of the excluded periods that concern a model reading these entities."""
        return merged_spans(self.excluded, entities)

    def add_state(
        self,
        entity_id: str,
        role: str,
        state: str,
        ts: float,
        attributes: Mapping[str, Any] | None = None,
        unit: str | None = None,
    ) -> int:
        """Convert and append one state; return how many channel points it produced."""
        points = self._points(entity_id, role, state, attributes, unit)
        return self._append(points, ts)

    def add_states(
        self,
        entity_id: str,
        role: str,
        rows: Iterable[tuple[str, float, Mapping[str, Any] | None]],
        unit: str | None = None,
    ) -> None:
        """Convert and append one entity's states (state, time, attributes) in time order.

        For history, where weeks of rows pass through here: a numeric sensor's unit is
        looked up once per distinct attributes mapping (the recorder decodes each distinct
        set once) and its values go straight to the buffer; other entities' states
        repeat, so each distinct (state, attributes) pair is converted once. `unit`, as
        for convert_state, is the unit of states that carry none (a thermostat's).
        """
        if role not in BINARY_ROLES and role not in (ROLE_CLIMATE, ROLE_DEVICE):
            self._add_numeric_states(entity_id, role, rows)
            return
        converted: dict[str, list[tuple[ChannelBuffer, float]] | str] = {}
        last_attributes: Mapping[str, Any] | None = None
        for state, ts, attributes in rows:
            if attributes is not last_attributes:
                converted.clear()
                last_attributes = attributes
            points = converted.get(state)
            if points is None:
                points = self._points(entity_id, role, state, attributes, unit)
                if len(converted) < CONVERSION_CACHE_SIZE:
                    converted[state] = points
            self._append(points, ts)

    def _add_numeric_states(
        self, entity_id: str, role: str, rows: Iterable[tuple[str, float, Mapping[str, Any] | None]]
    ) -> None:
        buf: ChannelBuffer | None = None
        unit: str | None = None
        last_attributes: Mapping[str, Any] | None = None
        for state, ts, attributes in rows:
            if attributes is not last_attributes:
                last_attributes = attributes
                unit = _unit_attribute(attributes)
            try:
                _check_known(state)
                value = _numeric_value(role, state, unit)
            except Skip as skip:
                self._skip(_skip_reason(skip))
                continue
            if buf is None:
                buf = self.buffer(entity_id, role)
            if not buf.append(ts, value):
                self._skip(SKIP_OUT_OF_ORDER)

    def _points(
        self,
        entity_id: str,
        role: str,
        state: str,
        attributes: Mapping[str, Any] | None,
        unit: str | None = None,
    ) -> list[tuple[ChannelBuffer, float]] | str:
        """The buffers and values a state adds to, or why it adds nothing."""
        try:
            observations = convert_state(entity_id, role, state, attributes, unit)
        except Skip as skip:
            return _skip_reason(skip)
        return [(self.buffer(channel, role), value) for channel, value in observations]

    def _append(self, points: list[tuple[ChannelBuffer, float]] | str, ts: float) -> int:
        if isinstance(points, str):
            self._skip(points)
            return 0
        added = 0
        for buf, value in points:
            if buf.append(ts, value):
                added += 1
            else:
                self._skip(SKIP_OUT_OF_ORDER)
        return added

    def _skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def buffer(self, channel: str, role: str) -> ChannelBuffer:
        """The buffer of a channel, created on first use."""
        buf = self.channels.get(channel)
        if buf is None:
            buf = self.channels[channel] = ChannelBuffer(channel_kind(channel, role), self.max_points)
            self.roles[channel] = role
        return buf

    def prepare_merge(
        self,
        rows: Iterable[tuple[str, str, float, Mapping[str, Any] | None]],
        roles: Mapping[str, str],
        temperature_unit: str | None = None,
    ) -> PendingMerge:
        """Convert history rows and merge them with copies of the current buffers.

        Rows are (entity_id, state, ts, attributes); temperature_unit is the home's (see
        state_unit). Safe in a worker thread; commit_merge applies the result in the event loop.
        """
        by_entity: dict[str, list[tuple[float, str, Mapping[str, Any] | None]]] = {}
        for entity_id, state, ts, attributes in rows:
            if entity_id in roles:
                by_entity.setdefault(entity_id, []).append((ts, state, attributes))
        scratch = ObservationStore(max_points=self.max_points)
        for entity_id, entity_rows in by_entity.items():
            if not all(a[0] <= b[0] for a, b in itertools.pairwise(entity_rows)):
                # Sorting per entity keeps each GIL-holding sort short.
                entity_rows.sort(key=lambda row: row[0])
            pace()
            role = roles[entity_id]
            scratch.add_states(
                entity_id,
                role,
                ((state, ts, attrs) for ts, state, attrs in entity_rows),
                state_unit(role, temperature_unit),
            )
        return self.prepare_merge_store(scratch)

    def prepare_merge_store(self, scratch: ObservationStore) -> PendingMerge:
        """Merge a store built from history (in time order per channel) with copies of the current buffers.

        Safe in a worker thread; commit_merge applies the result in the event loop.
        """
        pending = PendingMerge(skipped={k: v for k, v in scratch.skipped.items() if k != SKIP_OUT_OF_ORDER})
        for channel, incoming in scratch.channels.items():
            pace()
            incoming.flush()
            current = self.channels.get(channel)
            if current is None or not current.times:
                # Nothing kept yet (a first bootstrap): the history buffer is the result,
                # without a second copy of weeks of points.
                excess = len(incoming.times) - self.max_points
                if excess > 0:
                    del incoming.times[:excess], incoming.values[:excess]
                incoming.max_points = self.max_points
                pending.added += len(incoming.times)
                pending.buffers[channel] = incoming
                pending.roles[channel] = scratch.roles[channel]
                continue
            merged = ChannelBuffer(incoming.kind, self.max_points)
            times, values = current.times[:], current.values[:]
            count = min(len(times), len(values))
            merged.times, merged.values = times[:count], values[:count]
            pending.added += merged.merge(zip(incoming.times, incoming.values, strict=True))
            pending.buffers[channel] = merged
            pending.roles[channel] = scratch.roles[channel]
        return pending

    def commit_merge(self, pending: PendingMerge) -> int:
        """Swap in merged buffers, keeping live points that arrived meanwhile (event loop)."""
        for channel, merged in pending.buffers.items():
            current = self.channels.get(channel)
            if current is not None:
                last = merged.times[-1] if merged.times else -math.inf
                start = bisect_right(current.times, last)
                for ts, value in zip(current.times[start:], current.values[start:], strict=False):
                    merged.append(ts, value)
                if current.bucket_count and current.bucket_start > last:
                    merged.bucket_start = current.bucket_start
                    merged.bucket_value = current.bucket_value
                    merged.bucket_count = current.bucket_count
            self.channels[channel] = merged
            self.roles[channel] = pending.roles[channel]
        for reason, count in pending.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        return pending.added

    def merge_states(
        self,
        rows: Iterable[tuple[str, str, float, Mapping[str, Any] | None]],
        roles: Mapping[str, str],
    ) -> int:
        """Merge history rows in one go (single-threaded use: replays, tests)."""
        return self.commit_merge(self.prepare_merge(rows, roles))

    def close_passed(self, now: float) -> None:
        """Close every aggregation bucket whose five minutes are over (a sensor holding its value)."""
        for buffer in self.channels.values():
            buffer.close_passed(now)

    def snapshot(self, since: float | None = None) -> ObservationStore:
        """Return a private copy that models may view with numpy.

        The copy holds the points from `since` on (plus the state in force then), so the
        event loop can keep appending here. Safe in a worker thread: each array is copied
        in one call under the GIL.
        """
        copy = ObservationStore(max_points=self.max_points)
        for channel, buf in list(self.channels.items()):
            pace()
            times, values = buf.times[:], buf.values[:]
            count = min(len(times), len(values))
            start = 0
            if since is not None:
                start = bisect_right(times, since, 0, count)
                if buf.kind == KIND_STATE and start:
                    start -= 1
            fresh = ChannelBuffer(buf.kind, self.max_points)
            fresh.times, fresh.values = times[start:count], values[start:count]
            if buf.bucket_count and (not count or buf.bucket_start > times[count - 1]):
                fresh.bucket_start, fresh.bucket_value, fresh.bucket_count = (
                    buf.bucket_start,
                    buf.bucket_value,
                    buf.bucket_count,
                )
                fresh.flush()
            copy.channels[channel] = fresh
            copy.roles[channel] = self.roles.get(channel, "")
        copy.skipped = dict(self.skipped)
        copy.excluded = self.excluded
        return copy

    def prune_before(self, cutoff: float) -> None:
        """Forget everything older than cutoff."""
        for buf in self.channels.values():
            buf.prune_before(cutoff)

    def rename_entity(self, old: str, new: str) -> None:
        """Move an entity's channels to its new entity id."""
        for channel in [c for c in self.channels if c.partition(CHANNEL_SEP)[0] == old]:
            renamed = new + channel[len(old) :]
            self.channels[renamed] = self.channels.pop(channel)
            self.roles[renamed] = self.roles.pop(channel)

    def forget_between(self, entity_id: str, start: float, end: float, now: float = math.inf) -> int:
        """Forget an entity's readings in [start, end] over its channels; return how many."""
        return sum(
            self.channels[channel].drop_between(start, end, now)
            for channel in list(self.channels)
            if channel.partition(CHANNEL_SEP)[0] == entity_id
        )

    def drop_entities(self, keep: Iterable[str]) -> None:
        """Forget channels of entities no longer configured."""
        wanted = set(keep)
        for channel in [c for c in self.channels if c.partition(CHANNEL_SEP)[0] not in wanted]:
            del self.channels[channel]
            del self.roles[channel]

    def last_time(self, entity_id: str) -> float | None:
        """Time of the entity's latest observation over its channels."""
        latest: float | None = None
        for channel in (entity_id, *(entity_id + CHANNEL_SEP + attr for attr in CLIMATE_ATTRIBUTES)):
            buf = self.channels.get(channel)
            if buf is not None and buf.times and (latest is None or buf.times[-1] > latest):
                latest = buf.times[-1]
        return latest

    @property
    def total_points(self) -> int:
        """Number of points kept over all channels."""
        return sum(len(buf.times) for buf in self.channels.values())

    def time_span(self) -> tuple[float, float] | None:
        """First and last observation time over all channels."""
        firsts = [buf.times[0] for buf in self.channels.values() if buf.times]
        lasts = [buf.times[-1] for buf in self.channels.values() if buf.times]
        return (min(firsts), max(lasts)) if firsts else None

    def as_dict(self) -> JsonObject:
        """JSON-ready form for the store (paced: months of channels are encoded in a worker)."""
        channels: dict[str, object] = {}
        for channel, buf in list(self.channels.items()):
            pace()
            channels[channel] = buf.as_dict()
        return {"channels": channels, "roles": dict(self.roles), "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_points: int = DEFAULT_MAX_POINTS) -> ObservationStore:
        """Rebuild from as_dict output; raises ValueError/TypeError/KeyError on a malformed one."""
        store = cls(max_points=max_points)
        roles = data["roles"]
        for channel, raw in data["channels"].items():
            store.channels[str(channel)] = ChannelBuffer.from_dict(raw, max_points)
            store.roles[str(channel)] = str(roles[channel])
        store.skipped = {str(k): int(v) for k, v in data.get("skipped", {}).items()}
        return store


def security_doors(spec: Mapping[str, Any]) -> list[str]:
    """The security entities that open (doors, windows, locks, covers), in the spec's order.

    A motion or occupancy sensor in the security list senses the activity inside, as an
    area's sensors do: it is no door, and its "on" is no one coming or going.
    """
    kinds: Mapping[str, Any] = spec.get(SPEC_DEVICE_CLASSES) or {}
    return [e for e in spec.get(ROLE_SECURITY) or [] if kinds.get(e) not in ACTIVITY_DEVICE_CLASSES]


def entity_roles(spec: Mapping[str, Any]) -> dict[str, str]:
    """Map each entity of a home spec (or config entry options) to its role."""
    roles: dict[str, str] = {}
    # Sensors outside any area count for the whole home only.
    for entity_id in spec.get(ROLE_OCCUPANCY) or []:
        roles[entity_id] = ROLE_OCCUPANCY
    for entity_id in spec.get(ROLE_ENVIRONMENT) or []:
        roles[entity_id] = ROLE_ENVIRONMENT
    for area in (spec.get("areas") or {}).values():
        for entity_id in area.get(ROLE_OCCUPANCY, []):
            roles[entity_id] = ROLE_OCCUPANCY
        for entity_id in area.get(ROLE_ENVIRONMENT, []):
            roles[entity_id] = ROLE_ENVIRONMENT
    for role in (ROLE_PRESENCE, ROLE_POWER, ROLE_ENERGY, ROLE_CLIMATE, ROLE_SECURITY, ROLE_DEVICE):
        for entity_id in spec.get(role) or []:
            roles.setdefault(entity_id, role)
    outdoor = spec.get(ROLE_OUTDOOR)
    if outdoor:
        roles.setdefault(outdoor, ROLE_OUTDOOR)
    return roles
