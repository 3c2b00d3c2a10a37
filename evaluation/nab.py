"""Task `nab`: the streaming detector on the Numenta Anomaly Benchmark, scored by NAB's rules.

    scripts/evaluate --task nab --data /work/shared/data/nab/data \
        --labels /work/shared/data/nab/labels/combined_windows.json

Every series (`<category>/<file>.csv`, columns timestamp,value) that the label file names is
run through `StreamingDetector` one value at a time, with one parameter set for all series
and NAB's probationary period (15 % of the series, at most 750 rows) as its learning period.
The anomaly scores are scored with evaluation/nab_scoring.py (NAB's windows, scaled sigmoid,
per-profile threshold swept over the corpus, normalised between the null and the perfect
detector), for the standard, reward_low_fp and reward_low_fn profiles. A windowed Gaussian
(mean and standard deviation of the last 6400 values, score = two-sided tail) is scored
beside it on the same scorer.

--published DIR re-scores published NAB results (DIR/<detector>/<category>/<detector>_<file>.csv
with an anomaly_score column, as in numenta/NAB's results/) with the same scorer, to check it.
"""

from __future__ import annotations

import argparse
from collections import deque
import csv
import json
import math
import os
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.sensor_watch import ALARM_COOLDOWN_SECONDS, SENSITIVITY_THRESHOLDS
from custom_components.smartml.engine.streaming import StreamingDetector

from .nab_scoring import PROFILES, SeriesLabels, probation_rows, profiles_from_nab, sweep, window_rows

GAUSSIAN_WINDOW = 6400


def read_series(path: Path) -> tuple[NDArray[np.datetime64], NDArray[np.float64]]:
    """Timestamps and values of one NAB csv."""
    stamps: list[str] = []
    values: list[float] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            stamps.append(row[0].strip().replace(" ", "T"))
            values.append(float(row[1]))
    return np.array(stamps, dtype="datetime64[s]"), np.array(values, dtype=np.float64)


def smartml_scores(
    times: NDArray[np.datetime64], values: NDArray[np.float64], learning: int
) -> tuple[NDArray[np.float64], StreamingDetector]:
    """The production streaming detector, one value at a time; the scores and its final state."""
    detector = StreamingDetector(learning_points=learning)
    epoch = times.astype("int64").astype(np.float64).tolist()
    return np.array([detector.update(ts, v) for ts, v in zip(epoch, values.tolist(), strict=True)]), detector


def windowed_gaussian_scores(values: NDArray[np.float64], learning: int) -> NDArray[np.float64]:
    """Baseline: tail of the value under a Gaussian of the last GAUSSIAN_WINDOW values."""
    window: deque[float] = deque(maxlen=GAUSSIAN_WINDOW)
    total = total_sq = 0.0
    out = np.zeros(len(values))
    for i, value in enumerate(values.tolist()):
        if len(window) >= 2 and i >= learning:
            n = len(window)
            mean = total / n
            std = math.sqrt(max(total_sq / n - mean * mean, 0.0))
            out[i] = math.erf(abs(value - mean) / (std * math.sqrt(2.0))) if std > 0 else float(value != mean)
        if len(window) == GAUSSIAN_WINDOW:
            old = window[0]
            total -= old
            total_sq -= old * old
        window.append(value)
        total += value
        total_sq += value * value
    return out


def _published_scores(root: Path, detector: str, relative: str, n_rows: int) -> NDArray[np.float64] | None:
    category, name = relative.split("/", 1)
    path = root / detector / category / f"{detector}_{name}"
    if not path.exists():
        path = root / detector / category / name  # a flattened copy without the prefix
    if not path.exists():
        return None
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        scores = np.array([float(row["anomaly_score"]) for row in reader])
    return scores if len(scores) == n_rows else None


def _windows_detected(
    series_scores: list[NDArray[np.float64]], labels: list[SeriesLabels], threshold: float
) -> tuple[int, int]:
    """(windows with a detection, detections outside windows) at a threshold, after probation."""
    windows = false_positives = 0
    for scores, series in zip(series_scores, labels, strict=True):
        hits = np.flatnonzero(scores >= threshold)
        hits = hits[hits >= probation_rows(series.n_rows)]
        inside = np.zeros(series.n_rows, dtype=bool)
        for left, right in series.windows:
            inside[left : right + 1] = True
            windows += bool(np.any((hits >= left) & (hits <= right)))
        false_positives += int(np.sum(~inside[hits]))
    return windows, false_positives


def _alarm_rule(
    series_scores: list[NDArray[np.float64]],
    labels: list[SeriesLabels],
    epochs: list[NDArray[np.float64]],
    threshold: float,
) -> dict[str, float]:
    """The integration's alarm rule for watched sensors at one threshold: scores at or above
    it, at most one alarm per series per ALARM_COOLDOWN_SECONDS, after probation.

    Returns the windows detected and the false alarms (alarms outside windows) per series-day.
    """
    windows = false_alarms = 0
    days = 0.0
    for scores, series, epoch in zip(series_scores, labels, epochs, strict=True):
        start = probation_rows(series.n_rows)
        days += float(epoch[-1] - epoch[start]) / 86_400.0
        hit_windows: set[int] = set()
        last = -math.inf
        for row in np.flatnonzero(scores >= threshold).tolist():
            if row < start or epoch[row] - last < ALARM_COOLDOWN_SECONDS:
                continue
            last = float(epoch[row])
            window = next((i for i, (left, right) in enumerate(series.windows) if left <= row <= right), None)
            if window is None:
                false_alarms += 1
            else:
                hit_windows.add(window)
        windows += len(hit_windows)
    return {
        "windows_detected": float(windows),
        "false_alarms_per_day": round(false_alarms / max(days, 1e-9), 4),
        "days": round(days, 1),
    }


def run(argv: list[str]) -> dict[str, Any]:
    """Run the detector and the baseline over the labelled series and score all profiles."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task nab")
    parser.add_argument("--data", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--profiles", default=None, help="NAB profiles.json (default: next to the data)")
    parser.add_argument("--published", default=None, help="NAB results/ directory to re-score")
    args = parser.parse_args(argv)

    data_dir = Path(args.data)
    with open(args.labels, encoding="utf-8") as handle:
        label_windows: dict[str, list[list[str]]] = json.load(handle)
    profiles_path = Path(args.profiles) if args.profiles else data_dir.parent / "profiles.json"
    profiles = PROFILES
    if profiles_path.exists():
        with open(profiles_path, encoding="utf-8") as handle:
            profiles = profiles_from_nab(json.load(handle))

    names = sorted(label_windows)
    labels: list[SeriesLabels] = []
    scores: dict[str, list[NDArray[np.float64]]] = {"smartml": [], "windowed_gaussian": []}
    seconds = 0.0
    rows = 0
    state_bytes = 0
    epochs: list[NDArray[np.float64]] = []
    for relative in names:
        times, values = read_series(data_dir / relative)
        epochs.append(times.astype("int64").astype(np.float64))
        learning = probation_rows(len(values))
        labels.append(SeriesLabels(len(values), window_rows(times, label_windows[relative])))
        started = time.perf_counter()
        series_scores, detector = smartml_scores(times, values, learning)
        scores["smartml"].append(series_scores)
        state_bytes = max(state_bytes, len(json.dumps(detector.as_dict())))
        seconds += time.perf_counter() - started
        rows += len(values)
        scores["windowed_gaussian"].append(windowed_gaussian_scores(values, learning))
        print(f"{relative}: {len(values)} rows", file=sys.stderr)

    total_windows = sum(len(w) for w in label_windows.values())
    results: dict[str, dict[str, dict[str, float]]] = {}
    thresholds: dict[str, dict[str, float]] = {}
    for profile, weights in profiles.items():
        results[profile] = {}
        thresholds[profile] = {}
        for method, method_scores in scores.items():
            best = sweep(method_scores, labels, weights, total_windows)
            results[profile][method] = {"score": round(best.normalised, 2)}
            thresholds[profile][method] = best.threshold

    detected = {
        method: _windows_detected(method_scores, labels, thresholds["standard"][method])
        for method, method_scores in scores.items()
    }

    published: dict[str, dict[str, float]] = {}
    if args.published:
        root = Path(args.published)
        for name in sorted(os.listdir(root)):
            if not (root / name).is_dir():
                continue
            found = [_published_scores(root, name, r, lab.n_rows) for r, lab in zip(names, labels, strict=True)]
            if any(s is None for s in found):
                continue
            kept = [s for s in found if s is not None]
            published[name] = {
                profile: round(sweep(kept, labels, w, total_windows).normalised, 2) for profile, w in profiles.items()
            }
            windows_hit, false_rows = _windows_detected(
                kept, labels, sweep(kept, labels, profiles["standard"], total_windows).threshold
            )
            published[name]["standard_windows_detected"] = float(windows_hit)
            published[name]["standard_false_positive_rows"] = float(false_rows)

    info: dict[str, Any] = {
        "series": len(names),
        "rows": rows,
        "windows": total_windows,
        "probation_percent": 15,
        "thresholds": thresholds,
        "standard_windows_detected": {m: d[0] for m, d in detected.items()},
        "standard_false_positive_rows": {m: d[1] for m, d in detected.items()},
        # Watched sensors in the integration: each sensitivity's threshold with its alarm rule.
        "sensitivities": {
            name: {"threshold": threshold, **_alarm_rule(scores["smartml"], labels, epochs, threshold)}
            for name, threshold in SENSITIVITY_THRESHOLDS.items()
        },
        "smartml_microseconds_per_update": round(1e6 * seconds / max(rows, 1), 1),
        "largest_state_json_bytes": state_bytes,
    }
    if published:
        info["published_rescored"] = published
    return {"task": "nab", "results": results, "info": info}
