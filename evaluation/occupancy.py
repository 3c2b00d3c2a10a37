"""Task `occupancy`: walk-forward replay of the occupancy model against naive baselines.

    scripts/evaluate --task occupancy --history build/ordonez_a/history.csv --home build/ordonez_a/home.json

Each day from --first-test-day on, the model is fitted on everything before local
midnight, then predicts every slot of that day from each slot start (origin) at the
horizons 15min, 1h, 4h and 24h (the slot ending that far ahead). The routine learns from
the slots observed since midnight, as it does live. Baselines answer for the very same
(origin, target) pairs from the same past: persistence (the last observed slot),
time-of-week frequency and overall rate. Headline scopes pool all areas and the home;
per-scope figures are in info. Arrival/departure: at each origin with the home empty
(occupied), the predicted time of the next arrival (departure) against the truth, with the
time-of-week baseline's first crossing of 0.5 beside it. Next occupied, per area: at each
origin with the area empty, the time by which it has been used with chance one half over the
next 24 h (`next_use`), against the time until it was next used; the time-of-week baseline
applies the same rule to its own profile. A prediction of no use within the 24 h (or a use
that does not come within them) counts as 24 h.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.baselines import (
    first_crossing,
    occupancy_overall_rate,
    occupancy_persistence,
    occupancy_time_of_week,
)
from custom_components.smartml.engine.constants import DAY_SECONDS, DEFAULT_SLOT_MINUTES, HOME
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.occupancy_settings import CLASSIFIERS, DEFAULT_CLASSIFIER, DEFAULT_HALF_LIFE_DAYS
from custom_components.smartml.engine.occupancy_spells import next_use
from custom_components.smartml.engine.occupancy_targets import occupancy_targets, run_lengths
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.engine.slots import slot_grid, slots_per_week, time_of_week
from custom_components.smartml.fit_reasons import say_reasons

from .metrics import clean_json, mae, probability_metrics

HORIZON_MINUTES = {"15min": 15, "1h": 60, "4h": 240, "24h": 1440}
METHODS = ("smartml", "persistence", "time_of_week", "overall_rate")
# Arrivals/departures further ahead than this are not scored (and the baseline looks no further).
SPELL_LIMIT_DAYS = 7
# The next use is looked for within the forecast the sensor shows.
NEXT_USE_HOURS = 24


def _metrics(collected: dict[str, list[NDArray[np.float64]]]) -> dict[str, dict[str, float]]:
    truth = np.concatenate(collected["truth"])
    return {method: probability_metrics(truth, np.concatenate(collected[method])) for method in METHODS}


def run(argv: list[str]) -> dict[str, Any]:
    """Replay a history walk-forward and score SmartML and the baselines."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task occupancy")
    parser.add_argument("--history", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--slot-minutes", type=int, default=DEFAULT_SLOT_MINUTES)
    parser.add_argument("--first-test-day", type=int, default=7)
    parser.add_argument("--half-life-days", type=float, default=DEFAULT_HALF_LIFE_DAYS)
    parser.add_argument("--classifier", default=DEFAULT_CLASSIFIER, choices=CLASSIFIERS)
    args = parser.parse_args(argv)

    replay = load_replay(args.history, args.home)
    step = args.slot_minutes * 60.0
    week = slots_per_week(args.slot_minutes)
    starts = slot_grid(replay.start, replay.end, args.slot_minutes)
    known = int(np.searchsorted(starts, replay.end - step, side="right"))
    truth_all = occupancy_targets(replay.store, replay.spec, starts[:known], step)
    tow_all = time_of_week(starts, replay.timezone, args.slot_minutes)
    steps = np.array([m // args.slot_minutes for m in HORIZON_MINUTES.values()], dtype=np.int64)
    horizon_of = dict(zip(HORIZON_MINUTES, steps.tolist(), strict=True))

    pooled: dict[str, dict[str, list[NDArray[np.float64]]]] = {
        h: {name: [] for name in ("truth", *METHODS)} for h in HORIZON_MINUTES
    }
    per_scope: dict[str, dict[str, dict[str, list[NDArray[np.float64]]]]] = {}
    spells: dict[str, dict[str, list[float]]] = {
        kind: {"truth": [], "smartml": [], "time_of_week": []} for kind in ("arrival", "departure")
    }
    next_uses: dict[str, dict[str, list[float]]] = {}
    fit_seconds: list[float] = []
    days = 0
    models = HomeReplay(
        replay.spec,
        occupancy_slot_minutes=args.slot_minutes,
        occupancy_half_life_days=args.half_life_days,
        occupancy_classifier=args.classifier,
    )
    for cutoff, following in replay.days(args.first_test_day):
        started = time.perf_counter()
        ready, reasons = models.refit_occupancy(replay.store, cutoff)
        fit_seconds.append(time.perf_counter() - started)
        if not ready:
            print(f"skip day at {cutoff:.0f}: {say_reasons(reasons)}", file=sys.stderr)
            continue
        first = int(np.searchsorted(starts, cutoff))
        last = int(np.searchsorted(starts, following))
        origins = np.arange(first, min(last, known), dtype=np.int64)
        if not len(origins):
            continue
        days += 1
        probs = models.occupancy_probabilities(replay.store, starts[origins], steps)
        for scope, y in truth_all.items():
            if scope not in probs:
                continue
            rate = occupancy_overall_rate(y, first)
            persistence = occupancy_persistence(y, origins)
            for h, (name, k) in enumerate(horizon_of.items()):
                target = origins + k - 1
                keep = target < known
                t = target[keep]
                values = {
                    "truth": y[t].astype(np.float64),
                    "smartml": probs[scope][keep, h],
                    "persistence": persistence[keep],
                    "time_of_week": occupancy_time_of_week(y, tow_all, first, tow_all[t], week),
                    "overall_rate": np.full(len(t), rate),
                }
                scope_store = per_scope.setdefault(scope, {}).setdefault(name, {key: [] for key in ("truth", *METHODS)})
                for key, value in values.items():
                    pooled[name][key].append(value)
                    scope_store[key].append(value)
        _score_next_uses(models, replay.store, truth_all, starts, tow_all, first, origins, known, week, next_uses)
        if HOME in truth_all and HOME in probs:
            _score_spells(models, truth_all[HOME], starts, tow_all, first, origins, known, week, step, spells)
        print(f"day {days}: fitted in {fit_seconds[-1]:.3f} s", file=sys.stderr)

    results: dict[str, Any] = {h: _metrics(pooled[h]) for h in HORIZON_MINUTES if pooled[h]["truth"]}
    for kind, collected in spells.items():
        if collected["truth"]:
            truth = np.array(collected["truth"])
            results[kind] = {
                "smartml": {"mae": round(mae(truth, np.array(collected["smartml"])), 2), "count": len(truth)},
                "time_of_week": {"mae": round(mae(truth, np.array(collected["time_of_week"])), 2), "count": len(truth)},
            }
    if next_uses:
        results["next_occupied"] = _next_use_scores([value for area in next_uses.values() for value in area.items()])
    scopes = {
        scope: {h: _metrics(c) for h, c in by_horizon.items() if c["truth"]} for scope, by_horizon in per_scope.items()
    }
    cleaned: dict[str, Any] = clean_json(
        {
            "task": "occupancy",
            "results": results,
            "info": {
                "test_days": days,
                "slot_minutes": args.slot_minutes,
                "half_life_days": args.half_life_days,
                "classifier": args.classifier,
                "scopes": scopes,
                "occupied_share": {scope: round(float(np.mean(y)), 4) for scope, y in truth_all.items()},
                "scored_pairs": {h: int(sum(len(a) for a in pooled[h]["truth"])) for h in HORIZON_MINUTES},
                "fit_seconds_max": round(max(fit_seconds, default=0.0), 4),
                "fit_seconds_mean": round(float(np.mean(fit_seconds)) if fit_seconds else 0.0, 4),
                "spell_mae_unit": "minutes",
                "next_occupied": {area: _next_use_scores(list(c.items())) for area, c in next_uses.items()},
            },
        }
    )
    return cleaned


def _score_spells(
    models: HomeReplay,
    y: NDArray[np.bool_],
    starts: NDArray[np.float64],
    tow: NDArray[np.int64],
    cutoff: int,
    origins: NDArray[np.int64],
    known: int,
    week: int,
    step: float,
    out: dict[str, dict[str, list[float]]],
) -> None:
    """Next arrival (home empty) or departure (home occupied) from each origin, in minutes."""
    runs = run_lengths(y[:known])
    changes = np.flatnonzero(np.r_[False, y[1:] != y[:-1]])
    limit = int(SPELL_LIMIT_DAYS * DAY_SECONDS / step)
    for c in origins.tolist():
        if c < 1:
            continue
        occupied = bool(y[c - 1])
        pos = int(np.searchsorted(changes, c))
        if pos >= len(changes) or changes[pos] - c > limit:
            continue  # the change is not observed: nothing to score
        truth_minutes = (changes[pos] - c) * step / 60.0
        band = models.spell_band(occupied, float(starts[c]), float(runs[c - 1]))
        targets = np.arange(c, min(c + limit, len(tow)))
        profile = occupancy_time_of_week(y, tow, cutoff, tow[targets], week)
        crossing = first_crossing(profile, want_occupied=not occupied)
        if band is None:
            continue
        kind = "departure" if occupied else "arrival"
        out[kind]["truth"].append(truth_minutes)
        out[kind]["smartml"].append((band.ts - starts[c]) / 60.0)
        baseline_slots = crossing if crossing is not None else len(targets)
        out[kind]["time_of_week"].append(baseline_slots * step / 60.0)


def _next_use_scores(collected: list[tuple[str, list[float]]]) -> dict[str, dict[str, float]]:
    """MAE (minutes) and count of the next use, per method, from (method, values) lists."""
    pooled: dict[str, list[float]] = {}
    for method, values in collected:
        pooled.setdefault(method, []).extend(values)
    truth = np.array(pooled.pop("truth"))
    return {
        method: {"mae": round(mae(truth, np.array(values)), 2), "count": len(truth)}
        for method, values in pooled.items()
    }


def _score_next_uses(
    models: HomeReplay,
    store: Any,
    truth_all: dict[str, NDArray[np.bool_]],
    starts: NDArray[np.float64],
    tow: NDArray[np.int64],
    cutoff: int,
    origins: NDArray[np.int64],
    known: int,
    week: int,
    out: dict[str, dict[str, list[float]]],
) -> None:
    """Next use of each area from each origin where it is empty and the next 24 h are observed (minutes)."""
    step = float(starts[1] - starts[0])
    horizon = int(NEXT_USE_HOURS * 3600 / step)
    origins = origins[(origins >= 1) & (origins + horizon <= known)]
    if not len(origins):
        return
    steps = np.arange(1, horizon + 1, dtype=np.int64)
    probs = models.occupancy_probabilities(store, starts[origins], steps)
    for scope, y in truth_all.items():
        if scope == HOME or scope not in probs:
            continue
        collected = out.setdefault(scope, {"truth": [], "smartml": [], "time_of_week": []})
        for row, c in enumerate(origins.tolist()):
            if y[c - 1]:
                continue  # in use: its next use is now
            used = np.flatnonzero(y[c : c + horizon])
            collected["truth"].append(float(used[0] if len(used) else horizon) * step / 60.0)
            found, _ = next_use(probs[scope][row])
            profile = occupancy_time_of_week(y, tow, cutoff, tow[c : c + horizon], week)
            baseline, _ = next_use(profile)
            for method, index in (("smartml", found), ("time_of_week", baseline)):
                collected[method].append(float(horizon if index is None else index) * step / 60.0)
