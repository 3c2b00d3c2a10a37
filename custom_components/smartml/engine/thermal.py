"""A zone's thermal response: the first-order RC model fitted from its readings.

dT/dt = (T_out - T)/tau + heating_rate*h - cooling_rate*c, with h, c the share of time
heating/cooling, fitted by least squares in its trapezoidal form on a 15-minute grid,
once re-fitted without outliers (open windows, sensor glitches), with standard errors
and R². numpy only; runs in the executor.

h comes from what the thermostat tells: the share of time its `hvac_action` said heating
or, when it never does (many radiator valves report no action), the heating demand a
proportional valve derives from the setpoint-temperature gap: open in proportion to the
gap, fully open from a gap the fit picks among GAP_SATURATIONS (the one explaining the
readings best).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Final, TypedDict

import numpy as np
from numpy.typing import NDArray

from .pacing import pace
from .slots import counted, last_reading

THERMAL_STEP_MINUTES: Final = 15
# A temperature reading older than this is not used for a grid point.
MAX_READING_AGE_SECONDS: Final = 3_600.0
MIN_THERMAL_STEPS: Final = 48
OUTLIER_MADS: Final = 4.0
MAX_HEATING_SHARE: Final = 0.95
# How the heating input was found: the hvac_action attribute, or the setpoint gap.
HEAT_INPUT_ACTION: Final = "hvac_action"
HEAT_INPUT_SETPOINT_GAP: Final = "setpoint_gap"
# Candidate gaps (°C) at which a proportional valve is taken to be fully open.
GAP_SATURATIONS: Final = (0.5, 1.0, 2.0, 4.0)
# A fit is trusted (its rates shown, preheat planned) when it explains this share of the
# temperature changes and knows its heating rate to this relative standard error.
TRUSTED_R2: Final = 0.3
TRUSTED_RATE_ERROR: Final = 0.25


class ThermalSummary(TypedDict):
    """A fitted zone as plain JSON (rounded; None where undefined)."""

    tau_hours: float | None
    heating_rate: float | None
    cooling_rate: float | None
    tau_se: float | None
    heating_rate_se: float | None
    cooling_rate_se: float | None
    r2: float | None
    samples: int
    outdoor_measured: bool
    drift_temperature: float | None
    confidence: float | None
    heat_input: str
    gap_saturation: float | None
    trusted: bool


def gap_demand(
    setpoint: NDArray[np.float64], temperature: NDArray[np.float64], saturation: float
) -> NDArray[np.float64]:
    """Heating demand 0..1 of a proportional valve: the setpoint gap over the gap that opens it fully."""
    return np.asarray(np.clip((setpoint - temperature) / saturation, 0.0, 1.0), dtype=np.float64)


@dataclass(slots=True)
class ThermalFit:
    """First-order RC response of a zone: tau (h), heating/cooling rates (°C/h), their standard errors."""

    tau_hours: float
    heating_rate: float | None
    cooling_rate: float | None
    tau_se: float
    heating_rate_se: float | None
    cooling_rate_se: float | None
    r2: float
    samples: int
    outdoor_measured: bool
    # Without an outdoor channel, the fitted constant the zone drifts towards.
    drift_temperature: float | None = None
    heat_input: str = HEAT_INPUT_ACTION
    gap_saturation: float | None = None

    @property
    def trusted(self) -> bool:
        """Whether the fit is good enough to act on (show its rates, plan preheat with it).

        The heating rate is what preheat and the heating rate sensor use: it must be known
        well, in a fit that explains the readings. A long time constant may stay vague
        (hours of preheat hardly depend on it).
        """
        if not self.heating_rate or self.heating_rate_se is None or not math.isfinite(self.r2):
            return False
        return self.r2 >= TRUSTED_R2 and self.heating_rate_se / self.heating_rate <= TRUSTED_RATE_ERROR

    @property
    def confidence(self) -> float:
        """0..1: R² discounted by the larger relative standard error of tau and heating rate."""
        rel = [self.tau_se / self.tau_hours]
        if self.heating_rate and self.heating_rate_se is not None:
            rel.append(self.heating_rate_se / abs(self.heating_rate))
        return float(np.clip(self.r2, 0.0, 1.0) * np.clip(1.0 - max(rel), 0.0, 1.0))

    def as_dict(self) -> ThermalSummary:
        """Plain dict, rounded."""

        def r(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or not math.isfinite(value) else round(value, digits)

        return {
            "tau_hours": r(self.tau_hours),
            "heating_rate": r(self.heating_rate),
            "cooling_rate": r(self.cooling_rate),
            "tau_se": r(self.tau_se),
            "heating_rate_se": r(self.heating_rate_se),
            "cooling_rate_se": r(self.cooling_rate_se),
            "r2": r(self.r2),
            "samples": self.samples,
            "outdoor_measured": self.outdoor_measured,
            "drift_temperature": r(self.drift_temperature),
            "confidence": r(self.confidence),
            "heat_input": self.heat_input,
            "gap_saturation": self.gap_saturation,
            "trusted": self.trusted,
        }


def _duty(
    times: NDArray[np.float64], values: NDArray[np.float64], grid: NDArray[np.float64], level: float
) -> NDArray[np.float64]:
    """Share of each grid interval [grid[k], grid[k+1]) a state channel spent at `level`."""
    pace()
    if not len(times):
        return np.zeros(len(grid) - 1)
    # Integral of the indicator up to each grid time, from the step function's breakpoints.
    on = (values == level).astype(np.float64)
    seg_end = np.append(times[1:], np.inf)
    cum_at_breaks = np.concatenate([[0.0], np.cumsum(on[:-1] * np.diff(times))])

    def integral(t: NDArray[np.float64]) -> NDArray[np.float64]:
        idx = np.searchsorted(times, t, side="right") - 1
        valid = idx >= 0
        i = np.clip(idx, 0, None)
        partial = cum_at_breaks[i] + on[i] * (np.minimum(t, seg_end[i]) - times[i])
        return np.where(valid, partial, 0.0)

    total = integral(grid)
    return np.asarray(np.diff(total) / np.diff(grid), dtype=np.float64)


def fit_thermal(
    times: NDArray[np.float64],
    indoor: NDArray[np.float64],
    action_times: NDArray[np.float64],
    actions: NDArray[np.float64],
    outdoor_times: NDArray[np.float64] | None = None,
    outdoor: NDArray[np.float64] | None = None,
    *,
    setpoint_times: NDArray[np.float64] | None = None,
    setpoints: NDArray[np.float64] | None = None,
    start: float | None = None,
    end: float | None = None,
    step_minutes: int = THERMAL_STEP_MINUTES,
    excluded: Sequence[tuple[float, float]] = (),
) -> ThermalFit | None:
    """Least-squares RC fit of a zone from indoor readings, its heating input and outdoor readings.

    Trapezoidal form over each grid step of length d (hours):
        T[k+1] - T[k] = d * ((To - (T[k] + T[k+1]) / 2) / tau + heating_rate*h[k] - cooling_rate*c[k])
    with To the mean of the outdoor readings at both ends, h/c the share of the step spent
    heating/cooling by hvac_action or, without an hour of it, the setpoint-gap demand at
    the step's start, from the reading a step earlier (each saturation of GAP_SATURATIONS
    tried, the best R² kept).
    Measurement noise in T enters the regressor and the target uncorrelated (the halves
    cancel), so the estimate is not attenuated. Without outdoor readings the outdoor term
    is a fitted constant. Returns None when there is too little to fit. excluded: periods
    not to learn from (their readings count as missing).
    """
    pace()
    if len(times) < 2:
        return None
    step = step_minutes * 60.0
    first = times[0] if start is None else max(start, times[0])
    last = times[-1] if end is None else min(end, times[-1])
    grid = np.arange(first - first % step + step, last, step)
    if len(grid) < MIN_THERMAL_STEPS + 1:
        return None
    t_in = np.where(counted(grid, excluded), last_reading(times, indoor, grid, MAX_READING_AGE_SECONDS), np.nan)
    heat = _duty(action_times, actions, grid, 1.0)
    cool = _duty(action_times, actions, grid, -1.0)
    d_hours = step / 3600.0
    acted = bool(np.sum(heat) * d_hours >= 1.0 or np.sum(cool) * d_hours >= 1.0)
    if acted or setpoint_times is None or setpoints is None or not len(setpoint_times):
        return _fit_grid(grid, t_in, heat, cool, outdoor_times, outdoor, HEAT_INPUT_ACTION, None)
    setpoint = last_reading(setpoint_times, setpoints, grid[:-1])
    # The valve's demand from the reading a step before: the noise of T[k] is in the target too.
    before = np.r_[np.nan, t_in[:-2]]
    fits = [
        _fit_grid(grid, t_in, gap_demand(setpoint, before, g), cool, outdoor_times, outdoor, HEAT_INPUT_SETPOINT_GAP, g)
        for g in GAP_SATURATIONS
    ]
    found = [fit for fit in fits if fit is not None]
    return max(found, key=lambda fit: fit.r2) if found else None


def _fit_grid(
    grid: NDArray[np.float64],
    t_in: NDArray[np.float64],
    heat: NDArray[np.float64],
    cool: NDArray[np.float64],
    outdoor_times: NDArray[np.float64] | None,
    outdoor: NDArray[np.float64] | None,
    heat_input: str,
    gap_saturation: float | None,
) -> ThermalFit | None:
    """The RC fit on a grid of indoor readings with the heating and cooling share of each step."""
    d_hours = float(grid[1] - grid[0]) / 3600.0
    y = np.diff(t_in)
    mid = (t_in[1:] + t_in[:-1]) / 2.0
    has_outdoor = outdoor_times is not None and outdoor is not None and len(outdoor_times) > 1
    if outdoor_times is not None and outdoor is not None and has_outdoor:
        t_out = np.interp(grid, outdoor_times, outdoor, left=np.nan, right=np.nan)
        t_out_mid = (t_out[1:] + t_out[:-1]) / 2.0
        columns = [d_hours * (t_out_mid - mid)]
    else:
        t_out_mid = np.zeros(len(y))
        columns = [d_hours * np.ones(len(y)), -d_hours * mid]
    # Heating that never stops cannot be told apart from where the zone drifts.
    use_heat = bool(np.nansum(heat) * d_hours >= 1.0 and np.nanmean(heat) < MAX_HEATING_SHARE)
    use_cool = bool(np.nansum(cool) * d_hours >= 1.0)
    if use_heat:
        columns.append(d_hours * heat)
    if use_cool:
        columns.append(-d_hours * cool)
    x = np.column_stack(columns)
    keep = np.isfinite(y) & np.all(np.isfinite(x), axis=1) & np.isfinite(t_out_mid)
    if int(keep.sum()) < MIN_THERMAL_STEPS:
        return None
    beta, cov, r2, n = _robust_ols(x[keep], y[keep])
    if beta is None or cov is None:
        return None
    col = 0
    if has_outdoor:
        inv_tau, inv_tau_var = beta[0], cov[0, 0]
        drift = None
        col = 1
    else:
        inv_tau, inv_tau_var = beta[1], cov[1, 1]
        drift = float(beta[0] / beta[1]) if beta[1] > 0 else None
        col = 2
    if not inv_tau > 0:
        return None
    tau = 1.0 / inv_tau
    tau_se = math.sqrt(max(inv_tau_var, 0.0)) / inv_tau**2
    heating = heating_se = cooling = cooling_se = None
    if use_heat:
        heating, heating_se = float(beta[col]), math.sqrt(max(cov[col, col], 0.0))
        col += 1
        if heating <= 0:
            heating = heating_se = None
    if use_cool:
        cooling, cooling_se = float(beta[col]), math.sqrt(max(cov[col, col], 0.0))
        if cooling <= 0:
            cooling = cooling_se = None
    return ThermalFit(
        float(tau),
        heating,
        cooling,
        float(tau_se),
        heating_se,
        cooling_se,
        r2,
        n,
        has_outdoor,
        drift,
        heat_input=heat_input if use_heat else HEAT_INPUT_ACTION,
        gap_saturation=gap_saturation if use_heat else None,
    )


def _robust_ols(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None, float, int]:
    """OLS, then once more without residuals beyond OUTLIER_MADS robust deviations."""
    pace()
    keep = np.ones(len(y), dtype=bool)
    beta: NDArray[np.float64] | None = None
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        if len(ys) <= xs.shape[1] + 2:
            return None, None, math.nan, 0
        beta, *_ = np.linalg.lstsq(xs, ys, rcond=None)
        resid = y - x @ beta
        mad = float(np.median(np.abs(resid[keep] - np.median(resid[keep])))) * 1.4826
        if mad <= 0:
            break
        keep = np.abs(resid) <= OUTLIER_MADS * mad
    assert beta is not None
    xs, ys = x[keep], y[keep]
    beta, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    resid = ys - xs @ beta
    n, p = xs.shape
    sigma2 = float(resid @ resid) / max(n - p, 1)
    try:
        cov = sigma2 * np.linalg.inv(xs.T @ xs)
    except np.linalg.LinAlgError:
        return None, None, math.nan, 0
    total = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else math.nan
    return beta, cov, r2, int(n)
