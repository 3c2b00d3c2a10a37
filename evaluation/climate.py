"""Task `climate`: setpoint routine, thermal response and preheat, walk-forward.

    scripts/evaluate --task climate                       # seeded simulation (see thermal_sim)
    scripts/evaluate --task climate --history F.csv --home H.json   # a real history

The simulation draws its occupancy from the Ordóñez home A in build/ordonez_a, converted
there first when missing (from ../shared/data/ordonez_adl or --ordonez-source).

Every day from --first-test-day on, the climate model is fitted through the façade the
integration uses (`HomeReplay`) on everything before local midnight and then scored on
that day only:

- `setpoint`: on each 15-minute slot, the setpoint SmartML predicts for now (it knows
  whether anyone is home now, as it does live) against the setpoint in force at the slot's
  middle. Baseline `time_of_week`: the median setpoint of all earlier days at the same
  slot of the week.
- `setpoint_day_ahead`: the same slots predicted at midnight for the whole day (occupancy
  from the model's own presence forecast). Baselines: `time_of_week` and `persistence`
  (the setpoint in force at midnight).
- `thermal`: the RC fit (tau, heating rate, R², standard errors) and the temperature one
  hour ahead from each slot given the heating actually used (hvac_action, or without it
  the valve's demand from the setpoint in force) and the outdoor readings, against
  `persistence` (the temperature stays), RMSE in °C. `info` says which heating input
  the fit chose and why.
- `preheat`: for every setpoint raise of at least 1 °C in the test days with the room
  below it, the time until the room got within 0.5 °C of the new setpoint, against the
  time the zone's heat-up estimator gives from the same start (`smartml`: the one live
  preheat plans with, fitted at midnight; see engine/heat_up) and the time at the median
  heating rate of the raises reached before midnight (`median_rate`): median absolute
  error in minutes. Raises left before the room got there are not scored.
- `comfort` (simulation only): the zone re-simulated over the test days under three
  controls, on the same minutes. `smartml`: the household's own setpoint, raised to the
  predicted setpoint from SmartML's preheat start to the target time (plan refreshed every
  5 minutes from the live readings). `heat_when_occupied`: the household's own thermostat
  (it follows what the household sets; no anticipation). `fixed_schedule`: comfort at
  every minute of the day at which the household wanted comfort on at least 10 % of the
  training days (the earliest to the latest usual occupancy), the sleep level otherwise,
  never below what the household sets. Metrics over the minutes someone is home:
  `comfort_share` (not more than 0.5 °C below the chosen setpoint), `band_share` (within
  ±0.5 °C of it), `cold_degree_hours` (°C·h below setpoint - 0.5), and `heating_hours`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
import json
import math
from pathlib import Path
import sys
import time

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.constants import CLIMATE_HALF_LIFE_DAYS, DEFAULT_SLOT_MINUTES
from custom_components.smartml.engine.heat_up import (
    MAX_HEAT_UP_HOURS,
    HeatUp,
    PastRaise,
    find_raises,
    median_rate_hours,
)
from custom_components.smartml.engine.history_csv import HistoryRows
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.observations import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_HVAC_ACTION,
    ATTR_HVAC_MODE,
    ATTR_SETPOINT,
    CHANNEL_SEP,
    ObservationStore,
)
from custom_components.smartml.engine.replay import Replay, load_replay
from custom_components.smartml.engine.setpoint_changes import (
    KIND_MANUAL,
    KIND_OCCUPANCY,
    KIND_SCHEDULE,
    classify_changes,
)
from custom_components.smartml.engine.slots import buffer_arrays, slot_middles, state_at, time_of_week
from custom_components.smartml.engine.thermal import ThermalFit, gap_demand
from custom_components.smartml.fit_reasons import say_reasons

from . import thermal_sim as sim
from .convert import convert_ordonez
from .metrics import clean_json, mae, rmse

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
DEFAULT_WEATHER = SHARED / "appliances_energy" / "energydata_complete_2016-01-11_2016-03-31.csv"
# The simulation's occupancy: the Ordóñez home A, converted once into the build folder.
DEFAULT_ORDONEZ_SOURCE = SHARED / "ordonez_adl"
DEFAULT_ORDONEZ_OUT = Path("build/ordonez_a")
SLOT_SECONDS = DEFAULT_SLOT_MINUTES * 60.0
# Figures are reported to this many decimals.
DIGITS = 4
COMFORT_TOLERANCE = 0.5
FIXED_SCHEDULE_SHARE = 0.1
CONTROL_EVERY_MINUTES = 5
THERMAL_HORIZON_MINUTES = 60

# Figures of each method on each scope: {scope: {method: {metric: value}}}.
type Scores = dict[str, dict[str, dict[str, float | None]]]


@dataclass(slots=True)
class Scored:
    """One climate entity's walk-forward: its figures, what the fits learned, the last thermal fit."""

    results: Scores = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)
    last_thermal: ThermalFit | None = None


def _tow_medians(
    truth: NDArray[np.float64], tow: NDArray[np.int64], cutoff: int, targets: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Median of the truths before `cutoff` at each target's slot of the week."""
    past_tow, past = tow[:cutoff], truth[:cutoff]
    out = np.full(len(targets), np.nan)
    for k, i in enumerate(targets.tolist()):
        values = past[(past_tow == tow[i]) & np.isfinite(past)]
        if len(values):
            out[k] = float(np.median(values))
    return out


def _one_hour_ahead(
    fit: ThermalFit,
    origins: NDArray[np.float64],
    indoor: tuple[NDArray[np.float64], NDArray[np.float64]],
    action: tuple[NDArray[np.float64], NDArray[np.float64]],
    setpoint: tuple[NDArray[np.float64], NDArray[np.float64]],
    outdoor: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(truth, model, persistence) of the temperature an hour after each origin, minute steps.

    The heating is what was used: the hvac_action in force, or, for a fit on the setpoint
    gap, the valve's demand from the setpoint in force and the temperature modelled.
    """
    in_t, in_v = indoor
    minute = 60.0
    steps = THERMAL_HORIZON_MINUTES
    t0 = _last(in_t, in_v, origins)
    truth = _last(in_t, in_v, origins + steps * minute)
    temp = t0.copy()
    decay = math.exp(-minute / (fit.tau_hours * 3600.0))
    for k in range(steps):
        moment = origins + k * minute
        if fit.gap_saturation is not None:
            heating = gap_demand(_last(*setpoint, moment), temp, fit.gap_saturation)
            u = np.zeros(len(origins))
        else:
            u = _last(*action, moment)
            heating = np.where(u == 1.0, 1.0, 0.0)
        heat = heating * (fit.heating_rate or 0.0) - np.where(u == -1.0, fit.cooling_rate or 0.0, 0.0)
        if outdoor is not None:
            t_out = np.interp(moment, outdoor[0], outdoor[1])
        else:
            t_out = np.full(len(origins), fit.drift_temperature if fit.drift_temperature is not None else np.nan)
        equilibrium = t_out + heat * fit.tau_hours
        temp = equilibrium + (temp - equilibrium) * decay
    return truth, temp, t0


def _preheat_errors(
    heat_up: HeatUp | None, raises: list[PastRaise], history: list[PastRaise]
) -> tuple[list[float], list[float]]:
    """Absolute errors (minutes) of SmartML's and the median rate's time to reach each raise that was reached.

    SmartML: the zone's heat-up estimator as preheat uses it (MAX_HEAT_UP_HOURS when it
    has none: no preheat is planned). The median rate: (rise / time taken) over the raises
    reached before.
    """
    smart: list[float] = []
    baseline: list[float] = []
    for r in raises:
        if not math.isfinite(r.reached_hours):
            continue
        guess = median_rate_hours(history, r.indoor, r.setpoint)
        guess = MAX_HEAT_UP_HOURS if guess is None else min(guess, MAX_HEAT_UP_HOURS)
        baseline.append(abs(guess - r.reached_hours) * 60.0)
        outdoor = r.outdoor if math.isfinite(r.outdoor) else None
        hours = None if heat_up is None else heat_up.hours(r.indoor, outdoor, r.setpoint)
        smart.append(abs((MAX_HEAT_UP_HOURS if hours is None else hours) - r.reached_hours) * 60.0)
    return smart, baseline


def _last(times: NDArray[np.float64], values: NDArray[np.float64], at: NDArray[np.float64]) -> NDArray[np.float64]:
    idx = np.searchsorted(times, at, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)


def _arrays(store: ObservationStore, channel: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    buf = store.channels.get(channel)
    if buf is None:
        return np.empty(0), np.empty(0)
    return buffer_arrays(buf)


def walk_forward(
    replay: Replay,
    entity_id: str,
    first_test_day: int,
    half_life_days: float,
    on_day: Callable[[HomeReplay, float, float], None] | None = None,
) -> Scored:
    """Setpoint and thermal scores of one climate entity over the test days of a replay.

    on_day(models, cutoff, following) is called after each daily fit (the simulation runs
    its controls there).
    """
    store, spec = replay.store, replay.spec
    sp_buf = store.channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT)
    if sp_buf is None or not len(sp_buf.times):
        return Scored()
    mids = slot_middles(replay.start, replay.end)
    truth = state_at(sp_buf, mids)
    mode_buf = store.channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_MODE)
    if mode_buf is not None and len(mode_buf.times):
        truth = np.where(state_at(mode_buf, mids) == 0.0, np.nan, truth)  # off: no setpoint to predict
    tow = time_of_week(mids - SLOT_SECONDS / 2.0, replay.timezone, 15)
    models = HomeReplay(spec, climate_half_life_days=half_life_days)
    presence = [e for e in spec.get("presence") or [] if e in store.channels]
    home = None
    if presence:
        home = np.max(np.vstack([np.nan_to_num(state_at(store.channels[e], mids)) for e in presence]), axis=0)
    collected: dict[str, list[NDArray[np.float64]]] = {
        k: [] for k in ("truth", "now", "day_ahead", "tow", "persistence", "th_truth", "th_model", "th_persist")
    }
    preheat: dict[str, list[float]] = {"smartml": [], "median_rate": []}
    heat_up_days: dict[str, int] = {}
    fits: list[ThermalFit] = []
    fit_seconds: list[float] = []
    days = 0
    indoor = _arrays(store, entity_id + CHANNEL_SEP + ATTR_CURRENT_TEMPERATURE)
    action = _arrays(store, entity_id + CHANNEL_SEP + ATTR_HVAC_ACTION)
    setpoint = _arrays(store, entity_id + CHANNEL_SEP + ATTR_SETPOINT)
    outdoor_id = spec.get("outdoor_temperature")
    outdoor = _arrays(store, outdoor_id) if isinstance(outdoor_id, str) and outdoor_id in store.channels else None
    raises = find_raises(setpoint, indoor, outdoor, replay.start, replay.end)
    for cutoff, following in replay.days(first_test_day):
        started = time.perf_counter()
        models.refit_climate(store, cutoff)
        fit_seconds.append(time.perf_counter() - started)
        ready, reason = models.climate_ready(entity_id)
        if not ready:
            print(f"skip day at {cutoff:.0f}: {say_reasons([] if reason is None else [reason])}", file=sys.stderr)
            continue
        days += 1
        idx = np.flatnonzero((mids >= cutoff) & (mids < following))
        if not len(idx):
            continue
        t = mids[idx]
        p_now = None if home is None else home[idx]
        collected["now"].append(models.climate_setpoints(entity_id, t, p_now))
        home_at_cutoff = None if home is None or idx[0] == 0 else float(home[idx[0] - 1])
        collected["day_ahead"].append(models.climate_day_ahead(entity_id, t, cutoff, home_at_cutoff))
        collected["truth"].append(truth[idx])
        collected["tow"].append(_tow_medians(truth, tow, int(idx[0]), idx))
        collected["persistence"].append(np.full(len(idx), truth[idx[0] - 1] if idx[0] else np.nan))
        zone = models.climate_zone(entity_id)
        if zone.thermal is not None and len(indoor[0]):
            fits.append(zone.thermal)
            origins = t[t + THERMAL_HORIZON_MINUTES * 60.0 <= replay.end]
            th = _one_hour_ahead(zone.thermal, origins, indoor, action, setpoint, outdoor)
            collected["th_truth"].append(th[0])
            collected["th_model"].append(th[1])
            collected["th_persist"].append(th[2])
        today = [r for r in raises if cutoff <= r.at < following]
        before = [r for r in raises if r.known_by(cutoff)]
        smart, baseline = _preheat_errors(zone.heat_up, today, before)
        preheat["smartml"] += smart
        preheat["median_rate"] += baseline
        method = "none" if zone.heat_up is None else zone.heat_up.method
        heat_up_days[method] = heat_up_days.get(method, 0) + 1
        if on_day is not None:
            on_day(models, cutoff, following)
    if not days:
        return Scored(info={"days": 0})

    def cat(key: str) -> NDArray[np.float64]:
        return np.concatenate(collected[key]) if collected[key] else np.empty(0)

    y = cat("truth")
    results: Scores = {
        "setpoint": {
            "smartml": {"mae": mae(y, cat("now"))},
            "time_of_week": {"mae": mae(y, cat("tow"))},
        },
        "setpoint_day_ahead": {
            "smartml": {"mae": mae(y, cat("day_ahead"))},
            "time_of_week": {"mae": mae(y, cat("tow"))},
            "persistence": {"mae": mae(y, cat("persistence"))},
        },
    }
    info: dict[str, object] = {"days": days, "slots": int(np.sum(np.isfinite(y))), "fit_seconds_max": max(fit_seconds)}
    if fits:
        last = fits[-1]
        th_truth = cat("th_truth")
        results["thermal"] = {
            "smartml": {
                "rmse_1h": rmse(th_truth, cat("th_model")),
                "tau_hours": last.tau_hours,
                "heating_rate": last.heating_rate,
                "r2": last.r2,
            },
            "persistence": {"rmse_1h": rmse(th_truth, cat("th_persist"))},
        }
        info["thermal_last_fit"] = last.as_dict()
        info["thermal_inputs"] = {
            "heat_input": last.heat_input,
            "gap_saturation": last.gap_saturation,
            "why": "hvac_action reported heating"
            if last.gap_saturation is None
            else "no hvac_action: heating demand from the setpoint gap, saturation with the best R²",
            "trusted_days": sum(f.trusted for f in fits),
        }
        info["thermal_tau_hours_range"] = [min(f.tau_hours for f in fits), max(f.tau_hours for f in fits)]
        rates = [f.heating_rate for f in fits if f.heating_rate is not None]
        if rates:
            info["thermal_heating_rate_range"] = [min(rates), max(rates)]
    if preheat["smartml"]:
        results["preheat"] = {
            method: {"median_abs_error_minutes": float(np.median(errors)), "raises": len(errors)}
            for method, errors in preheat.items()
        }
        # Days each heat-up method served (see engine/heat_up).
        info["heat_up_method_days"] = heat_up_days
    zone = models.climate_zone(entity_id)
    info["levels"] = zone.routine.levels if zone.routine is not None else {}
    info["changes"] = zone.change_counts
    return Scored(results, info, fits[-1] if fits else None)


def _replay_task(args: argparse.Namespace) -> dict[str, object]:
    replay = load_replay(args.history, args.home)
    results: Scores = {}
    entities: dict[str, dict[str, object]] = {}
    for entity_id in replay.spec.get("climate") or []:
        print(f"climate: {entity_id}", file=sys.stderr)
        scored = walk_forward(replay, entity_id, args.first_test_day, args.half_life_days)
        entities[entity_id] = scored.info
        # Several thermostats: scopes carry the entity when there is more than one.
        prefix = "" if len(replay.spec.get("climate") or []) == 1 else f"{entity_id}:"
        for scope, methods in scored.results.items():
            results[prefix + scope] = methods
    info = {"source": str(args.history), "entities": entities}
    return {"task": "climate", "results": clean_json(results, DIGITS), "info": clean_json(info, DIGITS)}


def _fixed_schedule(household: sim.Household, train_minutes: int, comfort: float, sleep: float) -> NDArray[np.float64]:
    """Comfort at the minutes of day comfort was wanted on >= 10 % of training days, else sleep."""
    days = train_minutes // sim.DAY_MINUTES
    wanted = (household.chosen[: days * sim.DAY_MINUTES] >= comfort - 0.75).reshape(days, sim.DAY_MINUTES)
    window = wanted.mean(axis=0) >= FIXED_SCHEDULE_SHARE
    day_target = np.where(window, comfort, sleep)
    return np.tile(day_target, household.minutes // sim.DAY_MINUTES + 1)[: household.minutes]


def _comfort_metrics(
    temps: NDArray[np.float64],
    heat: NDArray[np.bool_],
    chosen: NDArray[np.float64],
    home: NDArray[np.bool_],
    days: float,
) -> dict[str, float | None]:
    gap = temps[home] - chosen[home]
    return {
        "comfort_share": float(np.mean(gap >= -COMFORT_TOLERANCE)),
        "band_share": float(np.mean(np.abs(gap) <= COMFORT_TOLERANCE)),
        "cold_degree_hours": float(np.sum(np.maximum(-gap - COMFORT_TOLERANCE, 0.0)) / 60.0),
        "heating_hours": float(np.sum(heat) / 60.0),
        "heating_hours_per_day": float(np.sum(heat) / 60.0 / days),
    }


def _classification_check(household: sim.Household, tz_name: str) -> dict[str, object]:
    """How the simulated setpoint changes are classified against what caused them.

    Causes: `occupancy` when presence changed that minute, `override` when a one-off
    override began or ended, `early_rise` for the switch to comfort by hand on getting up
    early (manual, but the same real morning recurs in the tiled days, so it may well look
    like a habit), `schedule` otherwise (the program's steps).
    """
    chosen, home, manual, override = household.chosen, household.home, household.manual, household.override
    idx = np.flatnonzero(np.diff(chosen) != 0) + 1
    truth = np.where(
        home[idx] != home[idx - 1],
        KIND_OCCUPANCY,
        np.where(
            override[idx] != override[idx - 1],
            "override",
            np.where(manual[idx] != manual[idx - 1], "early_rise", KIND_SCHEDULE),
        ),
    )
    times = household.times
    flips = np.flatnonzero(np.diff(home.astype(np.int8)) != 0) + 1
    kinds = classify_changes(times[idx], chosen[idx], tz_name, times[flips], old_values=chosen[idx - 1])
    confusion = {
        f"{t}->{k}": int(np.sum((truth == t) & (kinds == k)))
        for t in (KIND_SCHEDULE, KIND_OCCUPANCY, "override", "early_rise")
        for k in (KIND_SCHEDULE, KIND_OCCUPANCY, KIND_MANUAL)
    }
    expected = np.where(truth == "override", KIND_MANUAL, truth)
    one_offs = truth != "early_rise"
    return {
        "accuracy_without_early_rises": float(np.mean(expected[one_offs] == kinds[one_offs])),
        "confusion": confusion,
        "changes": len(idx),
    }


def _simulation_task(args: argparse.Namespace) -> dict[str, object]:
    household = sim.build_household(Path(args.ordonez_history), Path(args.ordonez_home), Path(args.weather), args.seed)
    print(
        f"simulated {household.minutes // sim.DAY_MINUTES} days; program sleep "
        f"{household.bedtime_minute // 60:02d}:{household.bedtime_minute % 60:02d}-"
        f"{household.rise_minute // 60:02d}:{household.rise_minute % 60:02d}",
        file=sys.stderr,
    )
    own = sim.Zone(args.tau_hours, args.heating_rate, sim.COMFORT)
    temps, heat = sim.run_zone(own, household.t_out, household.chosen, 0, household.minutes)
    store, rows = sim.record(household, temps, heat, args.seed)
    spec = sim.home_spec()
    if args.write_history:
        out = Path(args.write_history)
        sim.write_history(out / "history.csv", rows)
        (out / "home.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    replay = Replay(spec, store, HistoryRows(), household.start, household.start + household.minutes * 60.0)

    first_minute = args.first_test_day * sim.DAY_MINUTES
    controls = ("smartml", "heat_when_occupied", "fixed_schedule")
    zones = {name: sim.Zone(args.tau_hours, args.heating_rate, float(temps[first_minute])) for name in controls}
    for zone in zones.values():
        zone.heating = bool(heat[first_minute])
    runs: dict[str, tuple[list[NDArray[np.float64]], list[NDArray[np.bool_]]]] = {n: ([], []) for n in controls}
    fixed: dict[str, NDArray[np.float64]] = {}
    rng = np.random.default_rng(args.seed + 2)

    def on_day(models: HomeReplay, cutoff: float, following: float) -> None:
        first = round((cutoff - household.start) / 60.0)
        last = min(round((following - household.start) / 60.0), household.minutes)
        if "target" not in fixed:
            routine = models.climate_zone(sim.CLIMATE).routine
            levels = routine.levels if routine is not None else {"comfort": sim.COMFORT}
            fixed["target"] = np.maximum(
                _fixed_schedule(household, first_minute, levels["comfort"], levels.get("sleep", levels["comfort"])),
                household.chosen,
            )
        for name in ("heat_when_occupied", "fixed_schedule"):
            target = household.chosen if name == "heat_when_occupied" else fixed["target"]
            t, h = sim.run_zone(zones[name], household.t_out, target, first, last)
            runs[name][0].append(t)
            runs[name][1].append(h)
        plan: dict[str, float | None] = {"start": None, "until": None, "target": None}

        def smart_target(i: int, temperature: float) -> float:
            now = household.start + i * 60.0
            if (i - first) % CONTROL_EVERY_MINUTES == 0:
                reading = round(temperature + float(rng.normal(0.0, sim.SENSOR_NOISE)), 1)
                pred = models.climate_predict_at(
                    sim.CLIMATE,
                    now,
                    hours=24,
                    indoor=reading,
                    outdoor=float(household.t_out[i]),
                    home_now=float(household.home[i]),
                    current_setpoint=float(household.chosen[i]),
                )
                plan.update(
                    start=pred.preheat_start, until=pred.preheat_target_time, target=pred.preheat_target_setpoint
                )
            goal = float(household.chosen[i])
            start, until, target = plan["start"], plan["until"], plan["target"]
            if start is not None and until is not None and target is not None and start <= now < until:
                goal = max(goal, target)
            return goal

        t, h = sim.run_zone(zones["smartml"], household.t_out, smart_target, first, last)
        runs["smartml"][0].append(t)
        runs["smartml"][1].append(h)

    scored = walk_forward(replay, sim.CLIMATE, args.first_test_day, args.half_life_days, on_day)
    results = scored.results
    test = slice(first_minute, household.minutes)
    days = (household.minutes - first_minute) / sim.DAY_MINUTES
    results["comfort"] = {
        name: _comfort_metrics(
            np.concatenate(runs[name][0]),
            np.concatenate(runs[name][1]),
            household.chosen[test],
            household.home[test],
            days,
        )
        for name in controls
    }
    info = scored.info
    info["change_kinds"] = _classification_check(household, spec["timezone"])
    # The errors of the fit as reported (rounded), as the figures read.
    thermal = None if scored.last_thermal is None else scored.last_thermal.as_dict()
    info["simulation"] = {
        "seed": args.seed,
        "timezone": sim.SIM_TIMEZONE,
        "days": household.minutes // sim.DAY_MINUTES,
        "test_days": days,
        "true_tau_hours": args.tau_hours,
        "true_heating_rate": args.heating_rate,
        "tau_relative_error": None if thermal is None else _relative_error(thermal["tau_hours"], args.tau_hours),
        "heating_rate_relative_error": None
        if thermal is None
        else _relative_error(thermal["heating_rate"], args.heating_rate),
        "home_share": float(np.mean(household.home)),
        "manual_share": float(np.mean(household.manual)),
        "program_sleep": [household.bedtime_minute, household.rise_minute],
        "occupied_test_minutes": int(np.sum(household.home[test])),
        "source_days": household.days_source,
    }
    return {"task": "climate", "results": clean_json(results, DIGITS), "info": clean_json(info, DIGITS)}


def _relative_error(estimate: float | None, truth: float) -> float | None:
    return None if estimate is None else abs(estimate - truth) / truth


def run(argv: list[str]) -> dict[str, object]:
    """Score the climate model on a replayed history, or on the seeded simulation."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task climate")
    parser.add_argument("--history", help="history CSV with climate attributes (replay mode)")
    parser.add_argument("--home", help="home spec JSON (replay mode)")
    parser.add_argument("--first-test-day", type=int, default=14)
    parser.add_argument("--half-life-days", type=float, default=CLIMATE_HALF_LIFE_DAYS)
    parser.add_argument("--ordonez-history", default=str(DEFAULT_ORDONEZ_OUT / "history.csv"))
    parser.add_argument("--ordonez-home", default=str(DEFAULT_ORDONEZ_OUT / "home.json"))
    parser.add_argument(
        "--ordonez-source",
        type=Path,
        help=f"Ordóñez ADL folder, converted when the default history is missing (default {DEFAULT_ORDONEZ_SOURCE})",
    )
    parser.add_argument("--weather", default=str(DEFAULT_WEATHER))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tau-hours", type=float, default=14.0)
    parser.add_argument("--heating-rate", type=float, default=2.5)
    parser.add_argument("--write-history", help="also write the simulated history.csv + home.json here")
    args = parser.parse_args(argv)
    if args.history:
        if not args.home:
            parser.error("--history needs --home")
        return _replay_task(args)
    _ensure_ordonez(args, parser)
    return _simulation_task(args)


def _ensure_ordonez(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Convert the Ordóñez home A the simulation draws its occupancy from, when it is missing.

    Only the default build folder is written; explicit --ordonez-history/--ordonez-home
    paths must exist.
    """
    history, home = Path(args.ordonez_history), Path(args.ordonez_home)
    if history.exists() and home.exists():
        return
    defaults = (DEFAULT_ORDONEZ_OUT / "history.csv", DEFAULT_ORDONEZ_OUT / "home.json")
    if (history, home) != defaults:
        parser.error(f"--ordonez-history {history} and --ordonez-home {home} must both exist")
    source: Path = args.ordonez_source or DEFAULT_ORDONEZ_SOURCE
    if not (source / "OrdonezA_Sensors.txt").exists():
        parser.error(
            f"the simulation needs the Ordóñez ADL data (OrdonezA_*.txt), not found in {source}: "
            "pass its folder with --ordonez-source, or convert it yourself with "
            f"`scripts/convert ordonez --source <folder> --out {DEFAULT_ORDONEZ_OUT}`"
        )
    print(f"converting the Ordóñez home A from {source} into {DEFAULT_ORDONEZ_OUT}", file=sys.stderr)
    convert_ordonez(source, DEFAULT_ORDONEZ_OUT)
