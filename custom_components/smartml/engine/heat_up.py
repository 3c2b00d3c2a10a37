"""Time a room needs to reach a raised setpoint: learned from its own past raises, or from its thermal fit.

One estimator serves live preheat (`preheat.plan_preheat`) and the evaluation. It answers
"how many hours from this temperature until the room is within REACH_TOLERANCE of this
setpoint" with one of three methods:

- `approach`: a radiator valve without hvac_action closes in proportion to the gap, so the
  room nears its setpoint as a first-order lag: hours = k * ln(gap at start / tolerance),
  k the median of hours / ln(gap / tolerance) over the room's past raises; shrunk towards
  the median rate's hours while the raises are few.
- `median_rate`: a thermostat reporting hvac_action heats at full rate until there:
  hours = rise / the median rate (rise / hours) of the past raises.
- `thermal`: the fitted RC zone (`heat_up_hours`), when its fit is trusted and did not do
  worse than the method above on the room's past raises (a fit explains the readings
  on average, not necessarily the raises).

numpy only; runs in the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .pacing import pace
from .thermal import ThermalFit

# A raise this large (°C) counts; the room has reached it within this much of the setpoint.
MIN_RAISE: Final = 1.0
REACH_TOLERANCE: Final = 0.5
# A time the estimator cannot tell (out of reach) counts as this many hours.
MAX_HEAT_UP_HOURS: Final = 12.0
# The approach is shrunk towards the median rate as if the latter had this many raises more.
APPROACH_PRIOR_RAISES: Final = 2.0
# The thermal fit is tried against the past raises once there are this many.
MIN_RAISES_TO_TEST_FIT: Final = 3
# ... on the latest this many (the test costs a pass over the earlier raises for each).
MAX_RAISES_TO_TEST_FIT: Final = 50

HEAT_UP_APPROACH: Final = "approach"
HEAT_UP_MEDIAN_RATE: Final = "median_rate"
HEAT_UP_THERMAL: Final = "thermal"


@dataclass(frozen=True, slots=True)
class PastRaise:
    """A setpoint raise and how long the room took to get within REACH_TOLERANCE of it (NaN: it did not)."""

    at: float
    setpoint: float
    indoor: float
    outdoor: float
    reached_hours: float

    def known_by(self, now: float) -> bool:
        """Whether the room had reached it by `now` (only then is its time known)."""
        return math.isfinite(self.reached_hours) and self.at + self.reached_hours * 3600.0 <= now


def _last(times: NDArray[np.float64], values: NDArray[np.float64], at: float) -> float:
    i = int(np.searchsorted(times, at, side="right")) - 1
    return float(values[i]) if i >= 0 else math.nan


def find_raises(
    setpoint: tuple[NDArray[np.float64], NDArray[np.float64]],
    indoor: tuple[NDArray[np.float64], NDArray[np.float64]],
    outdoor: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    start: float,
    end: float,
) -> list[PastRaise]:
    """Every raise of at least MIN_RAISE in [start, end) with the room below the new setpoint.

    Reached: the first reading within REACH_TOLERANCE of it before the setpoint changes
    again (or `end`); NaN when the setpoint changed or the readings ended first.
    """
    pace()
    sp_t, sp_v = setpoint
    in_t, in_v = indoor
    found: list[PastRaise] = []
    if not len(in_t):
        return found
    for i in np.flatnonzero(np.diff(sp_v) >= MIN_RAISE).tolist():
        at, target = float(sp_t[i + 1]), float(sp_v[i + 1])
        if not start <= at < end:
            continue
        t0 = _last(in_t, in_v, at)
        if not math.isfinite(t0) or t0 >= target - REACH_TOLERANCE:
            continue
        until = min(float(sp_t[i + 2]) if i + 2 < len(sp_t) else float(in_t[-1]), end)
        first, last = np.searchsorted(in_t, [at, until], side="right").tolist()
        hits = np.flatnonzero(in_v[first:last] >= target - REACH_TOLERANCE)
        reached = float(in_t[first + hits[0]] - at) / 3600.0 if len(hits) else math.nan
        t_out = float(np.interp(at, outdoor[0], outdoor[1])) if outdoor is not None and len(outdoor[0]) else math.nan
        found.append(PastRaise(at, target, t0, t_out, reached))
    return found


def median_rate_hours(
    history: Sequence[PastRaise], indoor: float, setpoint: float, tolerance: float = REACH_TOLERANCE
) -> float | None:
    """Hours to within `tolerance` of the setpoint at the median rate (°C/h) of the past raises; None without any."""
    rates = [(r.setpoint - REACH_TOLERANCE - r.indoor) / r.reached_hours for r in history if r.reached_hours > 0]
    rate = float(np.median(rates)) if rates else 0.0
    if rate <= 0:
        return None
    return max(setpoint - tolerance - indoor, 0.0) / rate


def approach_hours(
    history: Sequence[PastRaise], indoor: float, setpoint: float, tolerance: float = REACH_TOLERANCE
) -> float | None:
    """Hours of a first-order approach to within `tolerance` of the setpoint, its time constant the past raises' median.

    None without any past raise.
    """
    if not history:
        return None
    constant = float(
        np.median([r.reached_hours / math.log((r.setpoint - r.indoor) / REACH_TOLERANCE) for r in history])
    )
    gap = setpoint - indoor
    return 0.0 if gap <= tolerance else constant * math.log(gap / tolerance)


def heat_up_hours(fit: ThermalFit, indoor: float, outdoor: float, setpoint: float, tolerance: float) -> float | None:
    """Hours the fitted zone needs, heating as its thermostat does, to get within `tolerance` of a raised setpoint.

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


type HistoryHours = Callable[[Sequence[PastRaise], float, float, float], float | None]


@dataclass(frozen=True, slots=True)
class HeatUp:
    """How a zone's time to reach a raised setpoint is estimated, and from what.

    method: HEAT_UP_THERMAL, HEAT_UP_APPROACH or HEAT_UP_MEDIAN_RATE; history: the past
    raises whose time is known; thermal: the fit HEAT_UP_THERMAL uses.
    """

    method: str
    history: tuple[PastRaise, ...]
    thermal: ThermalFit | None = None

    def hours(
        self, indoor: float, outdoor: float | None, setpoint: float, tolerance: float = REACH_TOLERANCE
    ) -> float | None:
        """Hours from `indoor` until within `tolerance` (> 0) of `setpoint`, at most MAX_HEAT_UP_HOURS.

        None when the method cannot tell (no outdoor temperature for the thermal fit);
        MAX_HEAT_UP_HOURS when the room would not get there.
        """
        if self.method == HEAT_UP_THERMAL and self.thermal is not None:
            return _thermal_hours(self.thermal, indoor, outdoor, setpoint, tolerance)
        hours = _history_method(self.method)(self.history, indoor, setpoint, tolerance)
        return MAX_HEAT_UP_HOURS if hours is None else min(hours, MAX_HEAT_UP_HOURS)


def _thermal_hours(
    fit: ThermalFit, indoor: float, outdoor: float | None, setpoint: float, tolerance: float = REACH_TOLERANCE
) -> float | None:
    """The fit's hours, at most MAX_HEAT_UP_HOURS; None when no outdoor temperature is known."""
    t_out = outdoor if outdoor is not None and math.isfinite(outdoor) else fit.drift_temperature
    if t_out is None:
        return None
    hours = heat_up_hours(fit, indoor, t_out, setpoint, tolerance)
    return MAX_HEAT_UP_HOURS if hours is None else min(hours, MAX_HEAT_UP_HOURS)


def shrunk_approach_hours(
    history: Sequence[PastRaise], indoor: float, setpoint: float, tolerance: float = REACH_TOLERANCE
) -> float | None:
    """The approach's hours shrunk towards the median rate's by the number of past raises.

    Weight n / (n + APPROACH_PRIOR_RAISES) on the approach: with a single raise the two
    shapes are equally thin guesses, with dozens the approach decides.
    """
    approach = approach_hours(history, indoor, setpoint, tolerance)
    rate = median_rate_hours(history, indoor, setpoint, tolerance)
    if approach is None or rate is None:
        return approach
    weight = len(history) / (len(history) + APPROACH_PRIOR_RAISES)
    return weight * approach + (1.0 - weight) * rate


def _history_method(method: str) -> HistoryHours:
    return median_rate_hours if method == HEAT_UP_MEDIAN_RATE else shrunk_approach_hours


def fit_heat_up(raises: Sequence[PastRaise], thermal: ThermalFit | None, now: float) -> HeatUp | None:
    """The estimator for a zone from its raises (those reached by `now` count) and its thermal fit.

    The shape learned from the raises follows how the thermostat heats: a fit on
    hvac_action heats at full rate (median rate); otherwise a proportional valve
    (approach). A trusted thermal fit is used unless, once there are
    MIN_RAISES_TO_TEST_FIT raises, its median error on the latest (at most
    MAX_RAISES_TO_TEST_FIT) is larger than that of the raises' own method, each raise
    predicted from those known before it (walk-forward).
    None when there is neither a trusted fit nor a past raise.
    """
    history = tuple(r for r in raises if r.known_by(now))
    full_rate = thermal is not None and thermal.heating_rate is not None and thermal.gap_saturation is None
    method = HEAT_UP_MEDIAN_RATE if full_rate else HEAT_UP_APPROACH
    trusted = thermal is not None and thermal.trusted
    if trusted and thermal is not None and _fit_holds(thermal, history, _history_method(method)):
        return HeatUp(HEAT_UP_THERMAL, history, thermal)
    if not history:
        return None
    return HeatUp(method, history)


def _fit_holds(fit: ThermalFit, history: Sequence[PastRaise], own: HistoryHours) -> bool:
    """Whether the fit's median error on the latest past raises is no larger than the raises' own walk-forward one."""
    if len(history) < MIN_RAISES_TO_TEST_FIT:
        return True
    fit_errors: list[float] = []
    own_errors: list[float] = []
    for raised in history[-MAX_RAISES_TO_TEST_FIT:]:
        pace()
        before = [r for r in history if r.known_by(raised.at)]
        guess = own(before, raised.indoor, raised.setpoint, REACH_TOLERANCE)
        if guess is None:
            continue
        hours = _thermal_hours(fit, raised.indoor, raised.outdoor, raised.setpoint)
        fit_errors.append(abs((MAX_HEAT_UP_HOURS if hours is None else hours) - raised.reached_hours))
        own_errors.append(abs(min(guess, MAX_HEAT_UP_HOURS) - raised.reached_hours))
    if len(fit_errors) < MIN_RAISES_TO_TEST_FIT:
        return True
    return float(np.median(fit_errors)) <= float(np.median(own_errors))
