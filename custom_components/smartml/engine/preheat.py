"""Preheat (precool) timing: the latest start that reaches the next setpoint step up on time.

The zone, heating at full rate from where it would otherwise be, must reach the setpoint
predicted for the next predicted occupied step up (down when cooling). Pure Python apart
from the arrays of the plan; runs in the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .thermal import ThermalFit

# Preheat starts this much earlier than the model says, for what the model misses.
PREHEAT_MARGIN: Final = 0.1
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
    """Latest time to start heating (rate > 0) or cooling (rate < 0) at full power.

    Until the start the zone drifts towards `outdoor` from `indoor`, but a thermostat
    holding `hold` keeps it from drifting past that. From the start it moves towards
    outdoor + rate*tau. Returns None when no preheat is needed (the zone will be at the
    target anyway), `now` when it is already late or the target is out of reach.
    The duration is stretched by `margin` for what the model misses.
    """
    if target_time <= now:
        return None
    tau = tau_hours * 3600.0
    sign = 1.0 if rate > 0 else -1.0
    equilibrium = outdoor + rate * tau_hours

    def start_temp(s: float) -> float:
        drift = outdoor + (indoor - outdoor) * math.exp(-(s - now) / tau)
        if hold is not None:
            floor = min(indoor, hold) if sign > 0 else max(indoor, hold)
            drift = max(drift, floor) if sign > 0 else min(drift, floor)
        return drift

    if sign * (start_temp(target_time) - target) >= 0:
        return None
    if sign * (equilibrium - target) <= 0:
        return now  # out of reach: the best is to start at once

    def duration(s: float) -> float:
        begin = start_temp(s)
        if sign * (begin - target) >= 0:
            return 0.0
        return tau * math.log((equilibrium - begin) / (equilibrium - target)) * (1.0 + margin)

    # s + duration(s) grows with s (the later, the colder the start): bisection.
    if now + duration(now) >= target_time:
        return now
    low, high = now, target_time
    for _ in range(40):
        mid = (low + high) / 2.0
        if mid + duration(mid) < target_time:
            low = mid
        else:
            high = mid
    return low


def plan_preheat(
    thermal: ThermalFit,
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

    times/setpoints: the predicted setpoint over the horizon; p_home: the probability of
    being home then (None: assumed home). None when the zone cannot heat (cool), nothing
    tells where it drifts, or no step comes.
    """
    rate = -(thermal.cooling_rate or 0.0) if cooling else (thermal.heating_rate or 0.0)
    if rate == 0.0:
        return None
    t_out = outdoor if outdoor is not None else thermal.drift_temperature
    if t_out is None:
        return None
    reference = current_setpoint if current_setpoint is not None else float(setpoints[0])
    sign = -1.0 if cooling else 1.0
    occupied = np.ones(len(times), dtype=bool) if p_home is None else p_home >= 0.5
    wanted = occupied & (sign * (setpoints - reference) > PREHEAT_MIN_RISE) & (times > now)
    hits = np.flatnonzero(wanted)
    if not len(hits):
        return None
    i = int(hits[0])
    target_time, target = float(times[i]), float(setpoints[i])
    start = preheat_start_time(now, target_time, target, indoor, t_out, thermal.tau_hours, rate, hold=reference)
    return PreheatPlan(start, target_time, round(target, 2))


def heat_up_hours(fit: ThermalFit, indoor: float, outdoor: float, setpoint: float, tolerance: float) -> float | None:
    """Hours the zone needs, heating as its thermostat does, to get within `tolerance` of a raised setpoint.

    With hvac_action the heating runs at full rate until there. With the setpoint-gap
    input the valve is fully open until the gap falls to its saturation, then opens in
    proportion to the gap, so the last part is slower. None when the zone never gets there
    (or the fit has no heating rate); 0 when it is there already.
    """
    rate = fit.heating_rate
    target = setpoint - tolerance
    if rate is None or rate <= 0:
        return None
    if indoor >= target:
        return 0.0
    tau = fit.tau_hours
    full_open_until = target if fit.gap_saturation is None else min(target, setpoint - fit.gap_saturation)
    hours = 0.0
    temperature = indoor
    if temperature < full_open_until:
        equilibrium = outdoor + rate * tau
        if equilibrium <= full_open_until:
            return None
        hours = tau * math.log((equilibrium - temperature) / (equilibrium - full_open_until))
        temperature = full_open_until
    if temperature >= target or fit.gap_saturation is None:
        return hours
    # Proportional band: dT/dt = (outdoor - T)/tau + rate*(setpoint - T)/saturation.
    speed = 1.0 / tau + rate / fit.gap_saturation
    equilibrium = (outdoor / tau + rate * setpoint / fit.gap_saturation) / speed
    if equilibrium <= target:
        return None
    return hours + math.log((equilibrium - temperature) / (equilibrium - target)) / speed
