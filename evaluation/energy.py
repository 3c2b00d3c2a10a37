"""Task `energy`: walk-forward replay of the energy forecast and anomaly detection.

    scripts/evaluate --task energy --history build/appliances/history.csv --home build/appliances/home.json
    scripts/evaluate --task energy --history ... --home ... --inject 12 --seed 1

Each day from --first-test-day on, the model is fitted on everything measured before local
midnight. Scopes:
- `1h`: every hour of the day predicted from its own start (the hours before it known),
- `day_ahead`: every hour of the day predicted at midnight (1 to 24 hours ahead).
The baselines answer for the very same hours from the same past: seasonal naive (same hour
last week), previous day (same hour the day before; at day-ahead the last known day) and
time-of-week mean (mean of all past hours at that hour of week); persistence (the last
known hour) is reported beside them. Hours where any method has no value are left out
for all. SmartML's P50 is its point forecast; `coverage` is the share of hours inside P10-P90.

With --inject N, a copy of the history gets N faults in the test part (an appliance stuck
on for hours, a raised base load for days) and the model checks the stream every 15
minutes; scope `anomaly` reports the share of faults detected while they last and the
false alarms per 14 days, on the real stream and outside the faults of the injected one.
"""

from __future__ import annotations

import argparse
from array import array
import math
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.constants import (
    DAY_SECONDS,
    HOUR_SECONDS as HOUR,
    TYPE_DEVICE_LEFT_ON,
    TYPE_DEVICE_STANDBY,
)
from custom_components.smartml.engine.device_watch import DeviceWatch
from custom_components.smartml.engine.energy_alerts import EnergyAlerts
from custom_components.smartml.engine.energy_quantiles import QuantileModelFactory, profile_quantiles
from custom_components.smartml.engine.energy_series import GRID_SECONDS, WEEK_HOURS, hour_of_week, hourly_from_store
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.observations import ROLE_DEVICE, ROLE_ENERGY, ROLE_POWER, ObservationStore
from custom_components.smartml.engine.replay import Replay, load_replay
from custom_components.smartml.engine.slots import buffer_arrays
from custom_components.smartml.explain import explain

from .energy_boosted import boosted_quantiles
from .metrics import clean_json, coverage, mae, pinball, rmse

# The integration's quantile model, and the gradient-boosted one it is compared with.
MODEL_PROFILE = "profile"
FORECAST_MODELS: dict[str, QuantileModelFactory] = {MODEL_PROFILE: profile_quantiles, "hgb": boosted_quantiles}
SCOPES = ("1h", "day_ahead")
BASELINES = ("seasonal_naive", "previous_day", "time_of_week_mean", "persistence")
NAIVE_FOR_TARGET = ("seasonal_naive", "previous_day", "time_of_week_mean")
CHECK_SECONDS = 900.0
# Fault sizes: a 1-2 kW appliance (heater, oven, iron) left on; a 150-400 W device that
# starts running all the time (a failing fridge, a dehumidifier, an aquarium heater).
STUCK_W = (1000.0, 2000.0)
STUCK_HOURS = (3, 8)
BASE_W = (150.0, 400.0)
BASE_HOURS = (48, 96)
# Device faults: stuck at the device's usual running power until it has run this much
# longer than its longest usual run at that time of day (plus up to as much again), or a
# new standby draw for days.
DEVICE_OVERRUN_HOURS = (2, 4)
DEVICE_STANDBY_W = (20.0, 60.0)
DEVICE_TYPES = (TYPE_DEVICE_LEFT_ON, TYPE_DEVICE_STANDBY)
# Figures are reported to this many decimals.
DIGITS = 5


def _metrics(truth: NDArray[np.float64], pred: NDArray[np.float64]) -> dict[str, float]:
    point = pred[:, 1] if pred.ndim == 2 else pred
    out = {
        "mae": mae(truth, point),
        "rmse": rmse(truth, point),
        "pinball": pinball(truth, pred if pred.ndim == 2 else point),
    }
    if pred.ndim == 2:
        out["coverage"] = coverage(truth, pred[:, 0], pred[:, 2])
    return out


def _inject(store: ObservationStore, faults: list[dict[str, float]]) -> ObservationStore:
    """A copy of the store with extra constant loads added to power and energy channels."""
    copy = store.snapshot()
    for channel, buf in copy.channels.items():
        role = copy.roles.get(channel)
        if role not in (ROLE_POWER, ROLE_ENERGY):
            continue
        t, values = buffer_arrays(buf)
        v = values.copy()
        for fault in faults:
            a, b, watts = fault["start"], fault["end"], fault["watts"]
            if role == ROLE_POWER:
                v[(t >= a) & (t < b)] += watts
            else:
                v += watts * (np.clip(t, a, b) - a) / 3.6e6
        buf.values = array("d", v.tolist())
    return copy


def _plan_faults(replay: Replay, first_cutoff: float, count: int, seed: int) -> list[dict[str, float]]:
    """N non-overlapping faults spread over the test part, one per equal segment."""
    rng = np.random.default_rng(seed)
    start = first_cutoff + 12 * HOUR
    span = (replay.end - start) / max(count, 1)
    faults: list[dict[str, float]] = []
    for i in range(count):
        kind = "stuck_on" if i % 2 == 0 else "base_load"
        hours = (
            int(rng.integers(*STUCK_HOURS, endpoint=True))
            if kind == "stuck_on"
            else int(rng.integers(*BASE_HOURS, endpoint=True))
        )
        watts = float(rng.uniform(*(STUCK_W if kind == "stuck_on" else BASE_W)))
        room = max(span - hours * HOUR - 12 * HOUR, HOUR)
        a = math.floor((start + i * span + rng.uniform(0.0, room)) / HOUR) * HOUR
        faults.append({"kind": kind, "start": a, "end": a + hours * HOUR, "watts": round(watts, 1)})  # type: ignore[dict-item]
    return faults


def _checks(models: HomeReplay, store: ObservationStore, cutoff: float, nxt: float) -> list[dict[str, Any]]:
    """The anomalies of a day's checks, every CHECK_SECONDS, with nobody's presence known."""
    alarms = []
    for now in np.arange(cutoff + CHECK_SECONDS, nxt + 1.0, CHECK_SECONDS).tolist():
        for anomaly in models.energy_anomalies(store, now, None):
            alarms.append({**anomaly.as_json(), "explanation": explain(anomaly)})
    return alarms


def _models(replay: Replay, args: argparse.Namespace) -> HomeReplay:
    """The home's models with the replay's forecast model and seed."""
    return HomeReplay(replay.spec, energy_forecast_model=FORECAST_MODELS[args.model], energy_seed=args.seed)


def run(argv: list[str]) -> dict[str, Any]:
    """Replay a history walk-forward and score SmartML and the baselines."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task energy")
    parser.add_argument("--history", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--first-test-day", type=int, default=14)
    parser.add_argument("--model", default=MODEL_PROFILE, choices=sorted(FORECAST_MODELS))
    parser.add_argument("--inject", type=int, default=0, help="faults to inject for the anomaly scope")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    replay = load_replay(args.history, args.home)
    spec, store = replay.spec, replay.store
    starts, y = hourly_from_store(store, spec, end=replay.end + GRID_SECONDS)
    models = _models(replay, args)
    days = list(replay.days(args.first_test_day))
    how_all, _ = hour_of_week(starts, replay.timezone)
    collected: dict[str, dict[str, list[NDArray[np.float64]]]] = {
        s: {m: [] for m in ("truth", "smartml", *BASELINES)} for s in SCOPES
    }
    fit_seconds: list[float] = []
    false_clean: list[dict[str, Any]] = []
    check_anomalies = args.inject > 0
    print(f"energy: {len(days)} test days, {int(np.isfinite(y).sum())} hours measured", file=sys.stderr)
    for day_no, (cutoff, nxt) in enumerate(days):
        started = time.perf_counter()
        fitted = models.refit_energy(store, cutoff)
        fit_seconds.append(time.perf_counter() - started)
        if not fitted:
            continue
        series = models.energy_series(store, replay.end + GRID_SECONDS, since=starts[0])
        first = round((series.starts[0] - starts[0]) / HOUR)
        o_cut = round((cutoff - series.starts[0]) / HOUR)
        targets = np.arange(o_cut, min(round((nxt - series.starts[0]) / HOUR), len(series.y)), dtype=np.int64)
        if not len(targets):
            continue
        sy = series.y
        past = sy[:o_cut]
        how = how_all[first : first + len(sy)]
        ok_past = np.isfinite(past)
        tow_sum = np.bincount(how[:o_cut][ok_past], weights=past[ok_past], minlength=WEEK_HOURS)
        tow_n = np.bincount(how[:o_cut][ok_past], minlength=WEEK_HOURS)
        with np.errstate(invalid="ignore", divide="ignore"):
            tow_mean = np.where(tow_n > 0, tow_sum / np.maximum(tow_n, 1), np.nan)
        truth = sy[targets]
        for scope in SCOPES:
            if scope == "1h":
                origins, horizons = targets, np.ones(len(targets), dtype=np.int64)
                previous_day = sy[targets - 24]
                persistence = sy[targets - 1]
            else:
                origins = np.full(len(targets), o_cut, dtype=np.int64)
                horizons = targets - o_cut + 1
                previous_day = sy[targets - 24 * np.ceil(horizons / 24).astype(np.int64)]
                persistence = np.full(len(targets), sy[o_cut - 1])
            q = models.energy_quantiles(series, origins, horizons)
            preds = {
                "seasonal_naive": sy[targets - WEEK_HOURS]
                if targets[0] >= WEEK_HOURS
                else np.full(len(targets), np.nan),
                "previous_day": previous_day,
                "time_of_week_mean": tow_mean[how[targets]],
                "persistence": persistence,
            }
            keep = np.isfinite(truth) & np.all(np.isfinite(q), axis=1)
            for values in preds.values():
                keep &= np.isfinite(values)
            collected[scope]["truth"].append(truth[keep])
            collected[scope]["smartml"].append(q[keep])
            for name, values in preds.items():
                collected[scope][name].append(values[keep])
        if check_anomalies:
            false_clean += _checks(models, store, cutoff, nxt)
        if day_no % 10 == 0:
            print(f"energy: day {day_no + 1}/{len(days)} fit {fit_seconds[-1]:.2f} s", file=sys.stderr)

    results: dict[str, Any] = {}
    info: dict[str, Any] = {
        "model": args.model,
        "test_days": len(days),
        "fit_seconds_mean": float(np.mean(fit_seconds)) if fit_seconds else None,
        "fit_seconds_max": float(np.max(fit_seconds)) if fit_seconds else None,
        "hours_measured": int(np.isfinite(y).sum()),
    }
    for scope in SCOPES:
        got = collected[scope]
        if not got["truth"]:
            continue
        truth = np.concatenate(got["truth"])
        results[scope] = {"smartml": _metrics(truth, np.concatenate(got["smartml"]))}
        for name in BASELINES:
            results[scope][name] = _metrics(truth, np.concatenate(got[name]))
        best = min(NAIVE_FOR_TARGET, key=lambda n: results[scope][n]["mae"])
        info[f"{scope}_hours"] = len(truth)
        info[f"{scope}_best_naive"] = best
        info[f"{scope}_mae_reduction_vs_best_naive"] = (
            1.0 - results[scope]["smartml"]["mae"] / results[scope][best]["mae"]
        )
        info[f"{scope}_mae_reduction_vs_persistence"] = (
            1.0 - results[scope]["smartml"]["mae"] / results[scope]["persistence"]["mae"]
        )

    if check_anomalies and days:
        house_clean = [a for a in false_clean if a["type"] not in DEVICE_TYPES]
        results["anomaly"], info["anomaly"] = _anomaly_scope(replay, days, args, house_clean)
        if spec.get(ROLE_DEVICE):
            device_clean = [a for a in false_clean if a["type"] in DEVICE_TYPES]
            results["device_anomaly"], info["device_anomaly"] = _device_scope(replay, days, args, device_clean)
    return {"task": "energy", "results": clean_json(results, DIGITS), "info": clean_json(info, DIGITS)}


def _anomaly_scope(
    replay: Replay, days: list[tuple[float, float]], args: argparse.Namespace, false_clean: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    test_days = (days[-1][1] - days[0][0]) / DAY_SECONDS
    faults = _plan_faults(replay, days[0][0], args.inject, args.seed)
    injected = _inject(replay.store, faults)
    models = _models(replay, args)
    alarms: list[dict[str, Any]] = []
    print(f"energy: anomaly run with {len(faults)} faults", file=sys.stderr)
    for cutoff, nxt in days:
        if models.refit_energy(injected, cutoff):
            alarms += [a for a in _checks(models, injected, cutoff, nxt) if a["type"] not in DEVICE_TYPES]
    detected, delays, outside = 0, [], 0
    details = []
    for fault in faults:
        hits = [a for a in alarms if fault["start"] <= a["ts"] <= fault["end"] + HOUR]
        if hits:
            detected += 1
            delays.append((hits[0]["ts"] - fault["start"]) / HOUR)
        details.append({**fault, "detected": bool(hits), "by": sorted({a["type"] for a in hits})})
    for alarm in alarms:
        if not any(f["start"] <= alarm["ts"] <= f["end"] + HOUR for f in faults):
            outside += 1
    clean_days = test_days
    scope = {
        "smartml": {
            "detection_rate": detected / len(faults) if faults else math.nan,
            "false_alarms_per_14_days": 14.0 * len(false_clean) / clean_days if clean_days else math.nan,
            "false_alarms_per_week": 7.0 * len(false_clean) / clean_days if clean_days else math.nan,
            "false_alarms_per_14_days_injected_stream": 14.0 * outside / clean_days if clean_days else math.nan,
            "median_delay_hours": float(np.median(delays)) if delays else math.nan,
        }
    }
    info = {
        "faults": details,
        "false_alarms_real_stream": [
            {"ts": a["ts"], "type": a["type"], "explanation": a["explanation"]} for a in false_clean
        ],
        "test_days": test_days,
        "fault_sizes": {
            "stuck_on_w": STUCK_W,
            "stuck_on_hours": STUCK_HOURS,
            "base_load_w": BASE_W,
            "base_load_hours": BASE_HOURS,
        },
    }
    return scope, info


def _plan_device_faults(replay: Replay, days: list[tuple[float, float]], count: int, seed: int) -> list[dict[str, Any]]:
    """N device faults, one per equal segment of the test part, the devices taken in turn.

    A stuck-on fault holds the device at its usual running power from a random hour until
    it has run DEVICE_OVERRUN_HOURS longer than its longest usual run at that time of day,
    as learned from its real stream before that day.
    """
    rng = np.random.default_rng(seed)
    devices = list(replay.spec.get(ROLE_DEVICE) or [])
    start = days[0][0] + 12 * HOUR
    span = (replay.end - start) / max(count, 1)
    faults: list[dict[str, Any]] = []
    for i in range(count):
        device = devices[i % len(devices)]
        a = math.floor((start + i * span + rng.uniform(0.0, span / 3)) / HOUR) * HOUR
        cutoff = max(c for c, _ in days if c <= a)
        watch = DeviceWatch()
        watch.fit(replay.store, [device], cutoff, replay.timezone, EnergyAlerts())
        profile = watch.profiles_.get(device)
        if profile is None:
            continue
        if i % 2 == 0:
            hour = int(((a - cutoff) // HOUR) % 24)
            longest = profile.longest_s[hour]
            overrun = rng.uniform(*DEVICE_OVERRUN_HOURS) * HOUR
            end = math.ceil((a + longest + overrun) / HOUR) * HOUR
            fault = {"kind": "stuck_on", "watts": round(profile.running_w, 1), "exceeds_at": a + longest}
        else:
            end = a + int(rng.integers(*BASE_HOURS, endpoint=True)) * HOUR
            fault = {"kind": "standby", "watts": round(float(rng.uniform(*DEVICE_STANDBY_W)), 1), "exceeds_at": a}
        faults.append({**fault, "device": device, "start": a, "end": end})
    return faults


def _inject_device(store: ObservationStore, faults: list[dict[str, Any]]) -> ObservationStore:
    """A copy of the store where each fault changes its device's meter: held at a power, or a draw added."""
    copy = store.snapshot()
    for fault in faults:
        buf = copy.channels.get(fault["device"])
        if buf is None:
            continue
        t, v = buffer_arrays(buf)
        a, b, watts = fault["start"], fault["end"], fault["watts"]
        clipped = np.clip(t, a, b)
        added = watts * (clipped - a) / 3.6e6
        if fault["kind"] == "stuck_on":
            # What it really used in the fault is replaced by the running power.
            added -= np.interp(clipped, t, v) - np.interp(a, t, v)
        buf.values = array("d", (v + added).tolist())
    return copy


def _device_scope(
    replay: Replay, days: list[tuple[float, float]], args: argparse.Namespace, false_clean: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Faults injected into one device stream each; the real streams count false alarms."""
    test_days = (days[-1][1] - days[0][0]) / DAY_SECONDS
    faults = _plan_device_faults(replay, days, args.inject, args.seed)
    injected = _inject_device(replay.store, faults)
    models = _models(replay, args)
    alarms: list[dict[str, Any]] = []
    print(f"energy: device anomaly run with {len(faults)} faults", file=sys.stderr)
    for cutoff, nxt in days:
        if models.refit_energy(injected, cutoff):
            alarms += [a for a in _checks(models, injected, cutoff, nxt) if a["type"] in DEVICE_TYPES]
    details, minutes = [], []
    for fault in faults:
        hits = [
            a for a in alarms if fault["device"] in a["entity_ids"] and fault["start"] <= a["ts"] <= fault["end"] + HOUR
        ]
        if hits and fault["kind"] == "stuck_on":
            minutes.append((hits[0]["ts"] - fault["exceeds_at"]) / 60.0)
        details.append({**fault, "detected": bool(hits), "by": sorted({a["type"] for a in hits})})
    detected = sum(1 for d in details if d["detected"])
    scope = {
        "smartml": {
            "detection_rate": detected / len(faults) if faults else math.nan,
            "median_minutes_to_detect": float(np.median(minutes)) if minutes else math.nan,
            "false_alarms_per_14_days": 14.0 * len(false_clean) / test_days if test_days else math.nan,
        }
    }
    info = {
        "faults": details,
        "false_alarms_real_stream": [
            {"ts": a["ts"], "type": a["type"], "explanation": a["explanation"]} for a in false_clean
        ],
        "test_days": test_days,
    }
    return scope, info
