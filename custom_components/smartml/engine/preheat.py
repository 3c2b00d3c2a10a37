"""Preheat (precool) timing: the latest start that reaches the next setpoint step up on time.

Heating from where it would otherwise be, the zone must get within the heat-up
estimator's tolerance of the setpoint predicted for the next predicted occupied step up,
in the time that estimator gives (`heat_up`: the same one the evaluation scores). Precool
uses the thermal fit at full cooling rate. Pure Python apart from the arrays of the plan;
runs in the executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .heat_up import HeatUp
from .thermal import ThermalFit

# Preheat starts this much earlier than the model says, for what the model misses.
PREHEAT_MARGIN: Final = 0.1
# Preheat aims to be this close (°C) to the setpoint at the target time (about a reading's
# resolution; the heat-up estimate is to within this, the evaluation scores 0.5 °C).
PREHEAT_AIM: Final = 0.1
# A setpoint rise smaller than this needs no preheat.
PREHEAT_MIN_RISE: Final = 0.25


@dataclass(frozen=True, slots=True)
class PreheatPlan:
    """The next occupied setpoint step and when to start heating (cooling) for it.

    start is None when the zone will be there anyway.
    """

    start: float | None
    target_time: float
    target_setpoint: float


def latest_start(
    now: float,
    target_time: float,
    start_temp: Callable[[float], float],
    seconds_to_target: Callable[[float], float | None],
    margin: float = PREHEAT_MARGIN,
) -> float | None:
    """Latest time s for which s + seconds_to_target(start_temp(s)) * (1 + margin) is still on time.

    start_temp(s): the zone's temperature if heating (cooling) starts at s;
    seconds_to_target(T): how long it then needs, 0 when it is there, None when never.
    None when no preheat is needed (there anyway at the target time), `now` when it is
    already late or the target is out of reach. The duration is stretched by `margin`
    for what the estimate misses.
    """
    if target_time <= now:
        return None
    if seconds_to_target(start_temp(target_time)) == 0.0:
        return None

    def arrival(s: float) -> float:
        needed = seconds_to_target(start_temp(s))
        return math.inf if needed is None else s + needed * (1.0 + margin)

    # arrival(s) grows with s (the later, the colder the start): bisection.
    if arrival(now) >= target_time:
        return now
    low, high = now, target_time
    for _ in range(40):
        mid = (low + high) / 2.0
        if arrival(mid) < target_time:
            low = mid
        else:
            high = mid
    return low


def _drift(
    now: float, indoor: float, outdoor: float, tau_hours: float, hold: float | None, sign: float
) -> Callable[[float], float]:
    """The zone's temperature at s before heating (sign 1) or cooling (-1) starts.

    It drifts from `indoor` towards `outdoor`, but a thermostat holding `hold` keeps it
    from drifting past that.
    """
    tau = tau_hours * 3600.0

    def start_temp(s: float) -> float:
        drift = outdoor + (indoor - outdoor) * math.exp(-(s - now) / tau)
        if hold is not None:
            floor = min(indoor, hold) if sign > 0 else max(indoor, hold)
            drift = max(drift, floor) if sign > 0 else min(drift, floor)
        return drift

    return start_temp


def preheat_start_time(
    now: float,
    target_time: float,
    target: float,
    indoor: float,
    outdoor: float,
    tau_hours: float,
    rate: float,
    hold: float | None = None,
    margin: float = PREHEAT_MARGIN,
) -> float | None:
    """Latest time to start heating (rate > 0) or cooling (rate < 0) at full power to be at `target` on time.

    Until the start the zone drifts (see `_drift`); from the start it moves towards
    outdoor + rate*tau. See `latest_start` for what is returned.
    """
    sign = 1.0 if rate > 0 else -1.0
    equilibrium = outdoor + rate * tau_hours

    def seconds_to_target(begin: float) -> float | None:
        if sign * (begin - target) >= 0:
            return 0.0
        if sign * (equilibrium - target) <= 0:
            return None
        return tau_hours * 3600.0 * math.log((equilibrium - begin) / (equilibrium - target))

    start_temp = _drift(now, indoor, outdoor, tau_hours, hold, sign)
    return latest_start(now, target_time, start_temp, seconds_to_target, margin)


def plan_preheat(
    heat_up: HeatUp | None,
    thermal: ThermalFit | None,
    times: NDArray[np.float64],
    setpoints: NDArray[np.float64],
    p_home: NDArray[np.float64] | None,
    now: float,
    indoor: float,
    outdoor: float | None,
    current_setpoint: float | None,
    *,
    cooling: bool,
) -> PreheatPlan | None:
    """The next predicted occupied step up (down when cooling) and when to start for it.

    Heating: the time to get there is the zone's heat-up estimate (`heat_up`, the one the
    evaluation scores); until the start the zone drifts as the thermal fit says, or stays
    where it is without one. Cooling: the thermal fit at full cooling rate. thermal: a
    fit to act on (trusted) or None. times/setpoints: the predicted setpoint over the
    horizon; p_home: the probability of being home then (None: assumed home). None when
    nothing tells how long the zone needs, or no step comes.
    """
    t_out = outdoor if outdoor is not None else None if thermal is None else thermal.drift_temperature
    step = _next_step(times, setpoints, p_home, now, current_setpoint, cooling=cooling)
    if step is None:
        return None
    target_time, target = step
    reference = current_setpoint if current_setpoint is not None else float(setpoints[0])
    if cooling:
        if thermal is None or not thermal.cooling_rate or t_out is None:
            return None
        rate = -thermal.cooling_rate
        start = preheat_start_time(now, target_time, target, indoor, t_out, thermal.tau_hours, rate, hold=reference)
        return PreheatPlan(start, target_time, round(target, 2))
    if heat_up is None:
        return None
    estimate = heat_up

    def seconds_to_target(begin: float) -> float | None:
        hours = estimate.hours(begin, t_out, target, PREHEAT_AIM)
        return None if hours is None else hours * 3600.0

    if seconds_to_target(indoor) is None:
        return None  # the thermal fit without any outdoor temperature
    if thermal is not None and t_out is not None:
        start_temp = _drift(now, indoor, t_out, thermal.tau_hours, reference, 1.0)
    else:
        start_temp = _drift(now, indoor, indoor, 1.0, reference, 1.0)  # no fit: the zone stays where it is
    return PreheatPlan(latest_start(now, target_time, start_temp, seconds_to_target), target_time, round(target, 2))


def _next_step(
    times: NDArray[np.float64],
    setpoints: NDArray[np.float64],
    p_home: NDArray[np.float64] | None,
    now: float,
    current_setpoint: float | None,
    *,
    cooling: bool,
) -> tuple[float, float] | None:
    """(time, setpoint) of the first predicted occupied step up (down when cooling) from the one in force."""
    reference = current_setpoint if current_setpoint is not None else float(setpoints[0])
    sign = -1.0 if cooling else 1.0
    occupied = np.ones(len(times), dtype=bool) if p_home is None else p_home >= 0.5
    wanted = occupied & (sign * (setpoints - reference) > PREHEAT_MIN_RISE) & (times > now)
    hits = np.flatnonzero(wanted)
    if not len(hits):
        return None
    i = int(hits[0])
    return float(times[i]), float(setpoints[i])
