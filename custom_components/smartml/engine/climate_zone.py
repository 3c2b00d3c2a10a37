"""One thermostat's fit: its setpoint routine and thermal response, and its live readings.

A zone is fitted from the ObservationStore channels of a climate entity ("<entity>|temperature"
the setpoint, "|current_temperature", "|hvac_action", "|hvac_mode"), the home's presence
series and, if configured, an outdoor temperature channel. numpy only; executor.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .climate_presence import HomeSeries, forgetting_weights
from .constants import DAY_SECONDS
from .heat_up import HeatUp, find_raises, fit_heat_up
from .observations import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_HVAC_ACTION,
    ATTR_HVAC_MODE,
    ATTR_SETPOINT,
    CHANNEL_SEP,
    HVAC_MODE_COOL,
    HVAC_MODE_OFF,
    ChannelBuffer,
    ObservationStore,
)
from .setpoint_changes import CHANGE_KINDS, KIND_MANUAL, classify_changes
from .setpoint_gate import SetpointGate, fit_gate
from .setpoint_routine import SLOT_MINUTES, SLOT_SECONDS, SetpointRoutine, local_day_slot
from .slots import buffer_arrays, counted, last_reading, slot_middles
from .thermal import ThermalFit, fit_thermal

# Manual changes are one-offs: the routine gives their hours this weight.
MANUAL_WEIGHT: Final = 0.25


@dataclass(slots=True)
class ClimateZone:
    """One thermostat's fitted state and its latest live readings."""

    routine: SetpointRoutine | None = None
    # Which forecast each slot of the day uses (the routine, a week median, the setpoint in force).
    gate: SetpointGate | None = None
    thermal: ThermalFit | None = None
    # Time to reach a raised setpoint (see heat_up): what preheat plans with.
    heat_up: HeatUp | None = None
    days: float = 0.0
    change_counts: dict[str, int] = field(default_factory=dict)
    last_manual_change: float | None = None
    indoor: float | None = None
    outdoor: float | None = None
    setpoint: float | None = None
    hvac_mode: float | None = None
    # The HVAC mode at the fit, whose kind (heating or cooling) the routine learned (None: none reported).
    routine_mode: float | None = None


def channel_arrays(buf: ChannelBuffer | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A channel's times and values, copied (the live buffers may grow meanwhile)."""
    if buf is None or not len(buf.times):
        return np.empty(0), np.empty(0)
    count = min(len(buf.times), len(buf.values))
    times, values = buffer_arrays(buf)
    return times[:count].copy(), values[:count].copy()


def value_at(buf: ChannelBuffer | None, now: float) -> float | None:
    """The channel's latest value at or before `now` (replays hold later points too)."""
    if buf is None:
        return None
    i = bisect_right(buf.times, now, 0, min(len(buf.times), len(buf.values)))
    return float(buf.values[i - 1]) if i else None


def same_family(modes: NDArray[np.float64], learned: float) -> NDArray[np.bool_]:
    """Whether HVAC modes set setpoints of the same kind as `learned`: cooling, or heating.

    Heat, auto and heat_cool are one kind: many thermostats follow their schedule in auto
    and switch to heat for a boost.
    """
    return np.asarray((modes == HVAC_MODE_COOL) == (learned == HVAC_MODE_COOL), dtype=bool)


def learned_mode(mode_t: NDArray[np.float64], mode_v: NDArray[np.float64]) -> float | None:
    """The HVAC mode whose setpoints to learn: the latest one other than off, None if none."""
    running = mode_v[mode_v != HVAC_MODE_OFF]
    return float(running[-1]) if len(running) else None


def fit_zone(
    store: ObservationStore,
    entity_id: str,
    *,
    start: float,
    now: float,
    tz_name: str,
    half_life_days: float,
    home_series: HomeSeries | None,
    outdoor_channel: str | None,
    presence_relax_hours: float | None = None,
) -> ClimateZone:
    """Fit one climate entity on its observations in [start, now).

    presence_relax_hours: how fast the presence seen now is forgotten (see PresenceRoutine).
    """
    zone = ClimateZone()
    _fit_setpoints(zone, store, entity_id, start, now, tz_name, half_life_days, (home_series, presence_relax_hours))
    channels = store.channels
    cur_t, cur_v = channel_arrays(channels.get(entity_id + CHANNEL_SEP + ATTR_CURRENT_TEMPERATURE))
    act_t, act_v = channel_arrays(channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_ACTION))
    sp_t, sp_v = channel_arrays(channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT))
    if len(cur_t) and (len(act_t) or len(sp_t)):
        out_t, out_v = channel_arrays(channels.get(outdoor_channel)) if outdoor_channel else (None, None)
        # Periods not to learn from: the thermostat's own, or the outdoor sensor's.
        excluded = store.excluded_spans([entity_id, *([outdoor_channel] if outdoor_channel else [])])
        zone.thermal = fit_thermal(
            cur_t,
            cur_v,
            act_t,
            act_v,
            out_t,
            out_v,
            setpoint_times=sp_t,
            setpoints=sp_v,
            start=start,
            end=now,
            excluded=excluded,
        )
        outdoor = None if out_t is None or out_v is None else (out_t, out_v)
        raises = find_raises((sp_t, sp_v), (cur_t, cur_v), outdoor, start, now)
        raises = [r for r in raises if counted(np.array([r.at]), excluded)[0]]
        zone.heat_up = fit_heat_up(raises, zone.thermal, now)
    return zone


def _fit_setpoints(
    zone: ClimateZone,
    store: ObservationStore,
    entity_id: str,
    start: float,
    now: float,
    tz_name: str,
    half_life_days: float,
    presence: tuple[HomeSeries | None, float | None],
) -> None:
    """The zone's setpoint routine, change counts and last manual change.

    presence: the home's presence series and how fast its state is forgotten, if known.
    """
    home_series, relax_hours = presence
    channels = store.channels
    sp_t, sp_v = channel_arrays(channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT))
    # The fit's time, from the setpoint in force at its start.
    first = max(int(np.searchsorted(sp_t, start, side="right")) - 1, 0)
    last = int(np.searchsorted(sp_t, now, side="left"))
    sp_t, sp_v = sp_t[first:last], sp_v[first:last]
    if not len(sp_t):
        return
    mode_t, mode_v = channel_arrays(channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_MODE))
    begin = max(start, sp_t[0])
    grid = slot_middles(begin + SLOT_SECONDS, now, SLOT_MINUTES)
    setpoint = last_reading(sp_t, sp_v, grid)
    # Slots of an excluded period weigh nothing.
    weights = forgetting_weights(grid, now, half_life_days) * counted(grid, store.excluded_spans([entity_id]))
    zone.routine_mode = learned_mode(mode_t[mode_t < now], mode_v[mode_t < now])
    # Only the slots of the kind of mode in force are learned: a home switched to cooling
    # wants none of its heating setpoints. Off slots weigh nothing either way.
    family = np.ones(len(grid), dtype=bool)
    if len(mode_t) and len(grid):
        mode = last_reading(mode_t, mode_v, grid)
        weights = np.where(mode == HVAC_MODE_OFF, 0.0, weights)
        if zone.routine_mode is not None:
            family = (mode == HVAC_MODE_OFF) | np.isnan(mode) | same_family(mode, zone.routine_mode)
    # The time learned from: the slots of that kind, once another kind came between them.
    zone.days = float(now - begin) / DAY_SECONDS if family.all() else float(family.sum()) * SLOT_SECONDS / DAY_SECONDS
    # Classify the changes (the first point is the state in force, not a change).
    change_idx = np.flatnonzero(np.diff(sp_v)) + 1 if len(sp_v) > 1 else np.empty(0, dtype=np.int64)
    transitions = None
    if home_series is not None:
        h_grid, h = home_series
        flips = np.flatnonzero(np.diff(np.nan_to_num(h, nan=-1.0)) != 0) + 1
        transitions = h_grid[flips] - SLOT_SECONDS / 2.0
    kinds = classify_changes(sp_t[change_idx], sp_v[change_idx], tz_name, transitions, old_values=sp_v[change_idx - 1])
    zone.change_counts = {k: int(np.sum(kinds == k)) for k in CHANGE_KINDS}
    manual = kinds == KIND_MANUAL
    if manual.any():
        zone.last_manual_change = float(sp_t[change_idx][manual][-1])
    # Each slot inherits the kind of the change in force.
    slot_kind = np.searchsorted(sp_t[change_idx], grid, side="right") - 1
    in_manual = (slot_kind >= 0) & manual[np.clip(slot_kind, 0, None)] if len(kinds) else np.zeros(len(grid), bool)
    weights = np.where(in_manual, weights * MANUAL_WEIGHT, weights)
    home = None
    if home_series is not None:
        h_grid, h = home_series
        home = np.interp(grid, h_grid, h, left=np.nan, right=np.nan)
        home = np.where(np.isfinite(home), np.rint(home), np.nan)
    weekday, slot = local_day_slot(grid, tz_name)
    if not family.all():
        grid, weekday, slot, setpoint, weights = (
            grid[family],
            weekday[family],
            slot[family],
            setpoint[family],
            weights[family],
        )
        home = None if home is None else home[family]
    zone.routine = SetpointRoutine.fit(weekday, slot, setpoint, home, weights)
    if zone.routine is not None:
        zone.gate = fit_gate(grid, weekday, slot, setpoint, home, weights, tz_name, half_life_days, relax_hours)
