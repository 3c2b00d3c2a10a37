"""Devices watched for being left on: each on its own circuit, smart plug or meter.

A 1-2 kW load left on cannot be told apart in the total of a home whose evenings draw that
much for hours; on the device's own circuit it can. For each watched device, from the last
weeks of its own power (15-minute grid; where the recorder's hourly long-term statistics
reach further back than the observations, their hours before them):
- its standby (a low quantile) and running power (the median draw while on);
- its runs (consecutive slots above the on level) and, for each hour of the day, the
  longest one that started within RUN_WINDOW_HOURS of it;
- the usual lowest draw of a day.
A run longer than the longest usual run at its time of day (plus a margin) is a device
left on; a daily floor far above the usual ones is a standby that rose (a device that no
longer switches off). Each fires once per episode, through the energy model's alerts, and
user feedback raises the limit that fired. What a run did before it crossed its limit is
learned like any run; what came after is left out until marked normal. numpy; executor only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

from .constants import (
    DAY_SECONDS,
    DEVICE_LEARN_DAYS,
    FEEDBACK_MARGIN,
    HOUR_SECONDS,
    MINUTE_SECONDS,
    RUN_WINDOW_HOURS,
    TYPE_DEVICE_LEFT_ON,
    TYPE_DEVICE_STANDBY,
)
from .energy_alerts import EnergyAlerts, energy_anomaly
from .energy_series import GRID_SECONDS, FloatArray, HourlyValues, IntArray, hour_of_week, power_grid
from .facts import DeviceLeftOn, DeviceStandby
from .observations import ObservationStore, device_power_channel
from .results import Anomaly
from .slots import counted

LEARN_DAYS: Final = DEVICE_LEARN_DAYS
MIN_DAYS: Final = 3.0
ON_MIN_W: Final = 20.0  # a device draws at least this much over its standby while running
ON_SHARE: Final = 0.25  # the on level: this share of the way from standby to running power
# A run is left on once it is this much longer than the longest usual run of its part of day.
# ... and at least this share of it: a record by a few minutes is common for long runs.
LEFT_ON_MARGIN_SECONDS: Final = 45 * MINUTE_SECONDS
LEFT_ON_MARGIN_SHARE: Final = 0.1
# A standby that rose: the last day's floor above the usual daily floors' outer fence.
STANDBY_FENCE_IQR: Final = 2.0
STANDBY_MIN_RISE_W: Final = 15.0
STANDBY_WINDOW_SECONDS: Final = DAY_SECONDS
# A plug reports its power on change: a device that stays off all day reports nothing new.
DEVICE_POWER_HOLD: Final = DAY_SECONDS


def device_grid(
    store: ObservationStore, entity_id: str, start: float, end: float, available: bool = False
) -> tuple[FloatArray, FloatArray]:
    """A device's mean power (W) on the 15-minute grid of [start, end), from its meter or power sensor.

    available: the device's entity is available at `end` (now): its last reading still stands.
    """
    spec = {"energy": [entity_id], "power": [device_power_channel(entity_id)]}
    return power_grid(store, spec, start, end, hold=DEVICE_POWER_HOLD, available=available)


def earlier_from_hourly(starts: FloatArray, watts: FloatArray, hourly: HourlyValues) -> FloatArray:
    """The grid's slots before its first observed one, filled with their hour's mean from `hourly`.

    The observations stay the source from where they begin: statistics only reach back further.
    """
    known = np.flatnonzero(np.isfinite(watts))
    observed_from = int(known[0]) if len(known) else len(watts)
    hours = np.asarray(hourly[0], dtype=np.float64)
    means = np.asarray(hourly[1], dtype=np.float64)
    order = np.argsort(hours)
    hours, means = hours[order], means[order]
    if not len(hours) or not observed_from:
        return watts
    slot_hours = np.floor(starts[:observed_from] / HOUR_SECONDS) * HOUR_SECONDS
    at = np.minimum(np.searchsorted(hours, slot_hours), len(hours) - 1)
    found = (hours[at] == slot_hours) & np.isfinite(means[at])
    filled = watts.copy()
    filled[:observed_from] = np.where(found, means[at], np.nan)
    return filled


def runs(on: np.ndarray) -> tuple[IntArray, IntArray]:
    """(first slot, length) of each run of True."""
    padded = np.concatenate(([False], on.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2].astype(np.int64), (edges[1::2] - edges[0::2]).astype(np.int64)


@dataclass(slots=True)
class DeviceProfile:
    """What one device usually does."""

    standby_w: float
    running_w: float
    on_w: float
    longest_s: list[float]  # longest usual run starting near each hour of day (seconds)
    limit_s: list[float]  # a run longer than this is left on
    floor_limit_w: float  # a daily floor above this is a standby that rose
    usual_floor_w: float
    days: float


class DeviceWatch:
    """Per watched device: usual running, standby and run lengths; left-on and standby checks."""

    def __init__(self) -> None:
        self.profiles_: dict[str, DeviceProfile] = {}
        self.timezone_ = "UTC"
        # Devices whose run, at the last check, was longer than their limit, and what they draw (W).
        self.left_on_: dict[str, float] = {}

    def fit(
        self,
        store: ObservationStore,
        devices: Sequence[str],
        now: float,
        timezone: str,
        alerts: EnergyAlerts,
        hourly: Mapping[str, HourlyValues] | None = None,
    ) -> None:
        """Learn each device from its last LEARN_DAYS before `now`; reported periods left out.

        hourly: per device, (hour starts, mean W) from long-term statistics; they are learned
        from where they reach further back than the device's observations.
        """
        self.timezone_ = timezone
        self.profiles_ = {}
        for entity_id in devices:
            starts, watts = device_grid(store, entity_id, now - LEARN_DAYS * DAY_SECONDS, now)
            if hourly and entity_id in hourly:
                watts = earlier_from_hourly(starts, watts, hourly[entity_id])
            known = np.isfinite(watts)
            if known.sum() * GRID_SECONDS < MIN_DAYS * DAY_SECONDS:
                continue
            keep = known & ~alerts.flagged_mask(starts, alert_key(TYPE_DEVICE_LEFT_ON, entity_id), after=HOUR_SECONDS)
            keep &= ~alerts.flagged_mask(starts, alert_key(TYPE_DEVICE_STANDBY, entity_id))
            keep &= counted(starts, store.excluded_spans([entity_id]))  # periods not to learn from
            self.profiles_[entity_id] = self._profile(starts, np.where(keep, watts, np.nan))

    def _profile(self, starts: FloatArray, watts: FloatArray) -> DeviceProfile:
        known = watts[np.isfinite(watts)]
        standby = float(np.quantile(known, 0.1))
        high = known[known > standby + ON_MIN_W]
        running = float(np.median(high)) if len(high) else standby + ON_MIN_W
        on_w = standby + max(ON_MIN_W, ON_SHARE * (running - standby))
        first, length = runs(np.nan_to_num(watts, nan=-1.0) >= on_w)
        _, hod = hour_of_week(starts, self.timezone_)
        start_hours = hod[first] if len(first) else first
        overall = float(length.max()) * GRID_SECONDS if len(length) else 0.0
        longest = []
        for hour in range(24):
            near = np.abs((start_hours - hour + 12) % 24 - 12) <= RUN_WINDOW_HOURS
            longest.append(float(length[near].max()) * GRID_SECONDS if near.any() else overall)
        floors = _daily_floors(starts, watts)
        if len(floors) >= 3:
            q1, median, q3 = (float(v) for v in np.quantile(floors, (0.25, 0.5, 0.75)))
            floor_limit = max(q3 + STANDBY_FENCE_IQR * (q3 - q1), median + STANDBY_MIN_RISE_W)
        else:
            median, floor_limit = standby, standby + STANDBY_MIN_RISE_W
        return DeviceProfile(
            standby_w=standby,
            running_w=running,
            on_w=on_w,
            longest_s=longest,
            limit_s=[value + max(LEFT_ON_MARGIN_SECONDS, LEFT_ON_MARGIN_SHARE * value) for value in longest],
            floor_limit_w=floor_limit,
            usual_floor_w=median,
            days=len(known) * GRID_SECONDS / DAY_SECONDS,
        )

    def raise_limits(self, anomaly_type: str | None, facts: Mapping[str, object]) -> None:
        """An alert was marked normal: lift the limit it crossed above what it saw."""
        profile = self.profiles_.get(str(facts.get("entity_id")))
        if profile is None:
            return
        if anomaly_type == TYPE_DEVICE_LEFT_ON:
            minutes, start = facts.get("minutes"), facts.get("start_hour")
            if isinstance(minutes, int | float) and isinstance(start, int):
                seen = float(minutes) * MINUTE_SECONDS * FEEDBACK_MARGIN
                # The runs near that hour were all like it: each of their limits is lifted.
                for offset in range(-RUN_WINDOW_HOURS, RUN_WINDOW_HOURS + 1):
                    hour = (start + offset) % 24
                    profile.limit_s[hour] = max(profile.limit_s[hour], seen)
        elif anomaly_type == TYPE_DEVICE_STANDBY:
            floor = facts.get("floor_w")
            if isinstance(floor, int | float):
                profile.floor_limit_w = max(profile.floor_limit_w, float(floor) * FEEDBACK_MARGIN)

    def check(
        self, store: ObservationStore, now: float, alerts: EnergyAlerts, unavailable: Collection[str] = ()
    ) -> list[Anomaly]:
        """New left-on and standby alerts at `now`; only data before now.

        unavailable: devices unavailable now. A plug that dropped off keeps its last reading
        in the observations; it says nothing of what the device draws now.
        """
        found: list[Anomaly] = []
        for entity_id, profile in self.profiles_.items():
            window = max(max(profile.limit_s) + 2 * HOUR_SECONDS, STANDBY_WINDOW_SECONDS + HOUR_SECONDS)
            available = entity_id not in unavailable
            starts, watts = device_grid(store, entity_id, now - window, now, available)
            known = np.flatnonzero(np.isfinite(watts))
            if not available or not len(known):
                # Nothing measured now: not left on as far as anyone knows, and not quiet either.
                self.left_on_.pop(entity_id, None)
                for anomaly_type in (TYPE_DEVICE_LEFT_ON, TYPE_DEVICE_STANDBY):
                    alerts.unknown(alert_key(anomaly_type, entity_id))
                continue
            starts, watts = starts[: known[-1] + 1], watts[: known[-1] + 1]
            left_on = self._left_on(entity_id, profile, starts, watts)
            found += _report(TYPE_DEVICE_LEFT_ON, entity_id, left_on, now, alerts)
            recent = starts >= starts[-1] + GRID_SECONDS - STANDBY_WINDOW_SECONDS
            if _standby_measurable(entity_id, starts[recent], watts[recent], alerts):
                standby = _standby(entity_id, profile, starts[recent], watts[recent])
                found += _report(TYPE_DEVICE_STANDBY, entity_id, standby, now, alerts)
        return found

    def _left_on(
        self, entity_id: str, profile: DeviceProfile, starts: FloatArray, watts: FloatArray
    ) -> _Finding | None:
        """The run in progress, if it is longer than the limit for the hour it started."""
        on = np.nan_to_num(watts, nan=-1.0) >= profile.on_w
        self.left_on_.pop(entity_id, None)
        if not on[-1]:
            return None
        first = int(np.flatnonzero(~on)[-1]) + 1 if (~on).any() else 0
        run_start = float(starts[first])
        seconds = float(starts[-1]) + GRID_SECONDS - run_start
        hour = datetime.fromtimestamp(run_start, UTC).astimezone(ZoneInfo(self.timezone_)).hour
        if seconds <= profile.limit_s[hour]:
            return None
        self.left_on_[entity_id] = float(watts[-1])
        facts = DeviceLeftOn(
            entity_id=entity_id,
            power_w=float(np.mean(watts[first:])),
            minutes=seconds / MINUTE_SECONDS,
            longest_minutes=profile.longest_s[hour] / MINUTE_SECONDS,
            start_hour=hour,
            weeks=profile.days / 7.0,
        )
        # What ran before the limit was crossed is within what the device does; only what
        # came after is left out of learning until it is marked normal.
        return _Finding(run_start + profile.limit_s[hour], seconds / max(profile.limit_s[hour], GRID_SECONDS), facts)


@dataclass(frozen=True, slots=True)
class _Finding:
    """A device past one of its limits: since when to leave out of learning, how far, and the facts."""

    flagged_from: float
    score: float
    facts: DeviceLeftOn | DeviceStandby


def _standby_measurable(entity_id: str, starts: FloatArray, watts: FloatArray, alerts: EnergyAlerts) -> bool:
    """Whether the last day says anything about the standby: most of it known, and no run reported left on.

    A day holding a run already reported as left on has a high floor for that reason: it is
    that episode, not a new one.
    """
    if np.isfinite(watts).sum() * GRID_SECONDS < 0.75 * STANDBY_WINDOW_SECONDS:
        return False
    return not alerts.flagged_mask(starts, alert_key(TYPE_DEVICE_LEFT_ON, entity_id)).any()


def _standby(entity_id: str, profile: DeviceProfile, starts: FloatArray, watts: FloatArray) -> _Finding | None:
    """The last day's floor, if it is above the usual ones."""
    floor = float(np.nanmin(watts))
    if floor <= profile.floor_limit_w:
        return None
    facts = DeviceStandby(
        entity_id=entity_id,
        floor_w=floor,
        usual_floor_w=profile.usual_floor_w,
        threshold_w=profile.floor_limit_w,
    )
    return _Finding(
        float(starts[-1]) + GRID_SECONDS - STANDBY_WINDOW_SECONDS, floor / max(profile.floor_limit_w, 1.0), facts
    )


def _report(
    anomaly_type: str, entity_id: str, finding: _Finding | None, now: float, alerts: EnergyAlerts
) -> list[Anomaly]:
    """One alert per episode: a finding is remembered as anomalous and raised once; quiet re-arms."""
    key = alert_key(anomaly_type, entity_id)
    if finding is None:
        alerts.rearm(key, now)
        return []
    alerts.flag(key, finding.flagged_from, now)
    if not alerts.fire(key, now):
        return []
    return [energy_anomaly(anomaly_type, [entity_id], now, finding.score, finding.facts, key=entity_id)]


def alert_key(anomaly_type: str, entity_id: str) -> str:
    """The alerts' key of one device's detector."""
    return f"{anomaly_type}:{entity_id}"


def _daily_floors(starts: FloatArray, watts: FloatArray) -> FloatArray:
    """The lowest draw of each complete day (24 h blocks from the first slot) with most slots known."""
    per_day = int(DAY_SECONDS / GRID_SECONDS)
    n = len(watts) // per_day
    if not n:
        return np.zeros(0)
    days = watts[len(watts) - n * per_day :].reshape(n, per_day)
    full = np.isfinite(days).sum(axis=1) >= 0.75 * per_day
    with np.errstate(all="ignore"):
        return np.asarray(np.nanmin(days[full], axis=1), dtype=np.float64) if full.any() else np.zeros(0)
