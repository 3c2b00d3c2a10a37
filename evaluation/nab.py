"""Task `nab`: the streaming detector on the Numenta Anomaly Benchmark, scored by NAB's rules.

    scripts/evaluate --task nab --data ../shared/data/nab/data \
        --labels ../shared/data/nab/labels/combined_windows.json

Every series (`<category>/<file>.csv`, columns timestamp,value) that the label file names is
run through `StreamingDetector` one value at a time, with one parameter set for all series
and NAB's probationary period (15 % of the series, at most 750 rows) as its learning period.
The anomaly scores are scored with evaluation/nab_scoring.py (NAB's windows, scaled sigmoid,
per-profile threshold swept over the corpus, normalised between the null and the perfect
detector), for the standard, reward_low_fp and reward_low_fn profiles. A windowed Gaussian
(mean and standard deviation of the last 6400 values, score = two-sided tail) is scored
beside it on the same scorer.

--families A,B keeps only the series of those categories (the folder before the `/` in the
label keys); the threshold sweep and the normalisation then run on those series only.

--tune-on A,B chooses the detector's constants on those categories and checks them on the
others: every combination of --grid (default GRID) is run on the tuning half, the best
standard score there is kept (a tie goes to the production defaults, then to the earlier
combination), and info.split reports the chosen constants and the scores (every profile) of
the tuning half, the held-out half and the full set, with the chosen constants and with the
production defaults, and per category. A category without labelled windows has no score of
its own.

    scripts/evaluate --task nab --data ... --labels ... \
        --tune-on realAWSCloudwatch,artificialWithAnomaly,artificialNoAnomaly

--published DIR re-scores published NAB results (DIR/<detector>/<category>/<detector>_<file>.csv
with an anomaly_score column, as in numenta/NAB's results/) with the same scorer, to check it.
"""

from __future__ import annotations

import argparse
from collections import deque
from collections.abc import Sequence
import csv
from dataclasses import asdict, dataclass, replace
import itertools
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
from custom_components.smartml.engine.streaming import (
    DEFAULT_SCALES,
    RECORD_DECAY,
    RECORD_RANK,
    RESOLUTION,
    StreamingDetector,
)

from .nab_scoring import (
    PROFILES,
    SeriesLabels,
    SweepResult,
    probation_rows,
    profiles_from_nab,
    sweep,
    window_rows,
)

GAUSSIAN_WINDOW = 6400
(_VALUE_LENGTH, _VALUE_MEMORY), (_SHAPE_LENGTH, _SHAPE_MEMORY) = DEFAULT_SCALES


@dataclass(frozen=True, slots=True)
class Constants:
    """The streaming detector's tunable constants; the defaults are the production ones."""

    value_memory: int = _VALUE_MEMORY
    shape_memory: int = _SHAPE_MEMORY
    resolution: float = RESOLUTION
    record_rank: int = RECORD_RANK
    record_decay: float = RECORD_DECAY

    def detector(self, learning: int) -> StreamingDetector:
        """A fresh detector with these constants and this learning period."""
        return StreamingDetector(
            ((_VALUE_LENGTH, self.value_memory), (_SHAPE_LENGTH, self.shape_memory)),
            learning,
            resolution=self.resolution,
            record_rank=self.record_rank,
            record_decay=self.record_decay,
        )


# --tune-on's default grid: 3 x 3 x 3 x 2 = 54 combinations (record decay 0.998 / 0.999 /
# 0.9995 is a time constant of 500 / 1000 / 2000 values).
GRID: dict[str, tuple[float, ...]] = {
    "record_decay": (0.998, 0.999, 0.9995),
    "resolution": (10.0, 30.0, 100.0),
    "record_rank": (2, 3, 5),
    "value_memory": (2000, 4000),
}


@dataclass(slots=True)
class Series:
    """One labelled NAB series."""

    name: str
    times: NDArray[np.datetime64]
    values: NDArray[np.float64]
    labels: SeriesLabels
    # Windows in the label file (the perfect score counts these, as NAB does).
    label_windows: int

    @property
    def family(self) -> str:
        """The category: the folder before the `/` in the label key."""
        return self.name.split("/", 1)[0]

    @property
    def learning(self) -> int:
        """NAB's probationary period, the detector's learning period."""
        return probation_rows(len(self.values))

    @property
    def epoch(self) -> NDArray[np.float64]:
        """Timestamps in seconds."""
        return self.times.astype("int64").astype(np.float64)


@dataclass(slots=True)
class DetectorRun:
    """The streaming detector's scores on a list of series, its time and largest state."""

    scores: list[NDArray[np.float64]]
    seconds: float
    state_bytes: int


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
    times: NDArray[np.datetime64], values: NDArray[np.float64], learning: int, constants: Constants | None = None
) -> tuple[NDArray[np.float64], StreamingDetector]:
    """The streaming detector (production constants by default), one value at a time; the
    scores and its final state."""
    detector = (constants or Constants()).detector(learning)
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


def read_corpus(data_dir: Path, label_windows: dict[str, list[list[str]]], families: set[str] | None) -> list[Series]:
    """The labelled series in key order, only those of `families` when given."""
    out: list[Series] = []
    for name in sorted(label_windows):
        if families is not None and name.split("/", 1)[0] not in families:
            continue
        times, values = read_series(data_dir / name)
        windows = label_windows[name]
        out.append(Series(name, times, values, SeriesLabels(len(values), window_rows(times, windows)), len(windows)))
    return out


def run_detector(series: Sequence[Series], constants: Constants, *, verbose: bool = True) -> DetectorRun:
    """The streaming detector over every series; with verbose, one progress line per series."""
    out = DetectorRun([], 0.0, 0)
    for one in series:
        started = time.perf_counter()
        scores, detector = smartml_scores(one.times, one.values, one.learning, constants)
        out.scores.append(scores)
        out.state_bytes = max(out.state_bytes, len(json.dumps(detector.as_dict())))
        out.seconds += time.perf_counter() - started
        if verbose:
            print(f"{one.name}: {len(one.values)} rows", file=sys.stderr)
    return out


def corpus_sweep(
    scores: Sequence[NDArray[np.float64]], series: Sequence[Series], weights: dict[str, float]
) -> SweepResult:
    """NAB's threshold sweep and normalisation over exactly these series."""
    return sweep(scores, [s.labels for s in series], weights, sum(s.label_windows for s in series))


def profile_scores(
    scores: Sequence[NDArray[np.float64]], series: Sequence[Series], profiles: dict[str, dict[str, float]]
) -> dict[str, float]:
    """Normalised score per profile, rounded as reported."""
    return {profile: round(corpus_sweep(scores, series, w).normalised, 2) for profile, w in profiles.items()}


def _family_list(text: str | None, known: set[str], parser: argparse.ArgumentParser, flag: str) -> set[str] | None:
    if text is None:
        return None
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - known
    if not chosen or unknown:
        parser.error(f"{flag}: unknown or no categories {sorted(unknown)}; known: {sorted(known)}")
    return chosen


def parse_grid(text: str | None) -> dict[str, tuple[float, ...]]:
    """--grid "record_rank=2,3;resolution=10,30" (constants not named keep their default)."""
    if text is None:
        return dict(GRID)
    grid: dict[str, tuple[float, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, values = (x.strip() for x in part.partition("="))
        default = getattr(Constants(), name, None)
        if default is None or not values:
            raise ValueError(f"--grid: {part!r} is not constant=value,value (constants: {list(asdict(Constants()))})")
        grid[name] = tuple(type(default)(float(v)) for v in values.split(","))
    return grid


def grid_constants(grid: dict[str, tuple[float, ...]]) -> list[Constants]:
    """Every combination of the grid, in order; constants not in the grid keep their default."""
    out: list[Constants] = []
    for combo in itertools.product(*grid.values()):
        changes: dict[str, Any] = dict(zip(grid, combo, strict=True))
        out.append(replace(Constants(), **changes))
    return out


@dataclass(slots=True)
class _Trial:
    constants: Constants
    standard: float
    scores: list[NDArray[np.float64]]


def _tune(series: Sequence[Series], grid: dict[str, tuple[float, ...]], weights: dict[str, float]) -> list[_Trial]:
    """Every grid combination on the tuning series, with its standard score."""
    combos = grid_constants(grid)
    trials: list[_Trial] = []
    for i, constants in enumerate(combos, 1):
        scores = run_detector(series, constants, verbose=False).scores
        trials.append(_Trial(constants, round(corpus_sweep(scores, series, weights).normalised, 2), scores))
        print(f"grid {i}/{len(combos)}: {asdict(constants)}: standard {trials[-1].standard}", file=sys.stderr)
    return trials


def _halves(series: Sequence[Series], tune_on: set[str]) -> dict[str, list[int]]:
    """Series indices of the tuning half, the held-out half and the full set; ValueError unless
    both halves have labelled windows."""
    halves = {
        "tuning": [i for i, s in enumerate(series) if s.family in tune_on],
        "held_out": [i for i, s in enumerate(series) if s.family not in tune_on],
        "full": list(range(len(series))),
    }
    if not all(sum(series[i].label_windows for i in rows) for rows in halves.values()):
        raise ValueError("--tune-on must leave labelled windows on both sides")
    return halves


def split_report(
    series: Sequence[Series],
    defaults: Sequence[NDArray[np.float64]],
    tune_on: set[str],
    grid: dict[str, tuple[float, ...]],
    profiles: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Choose the constants on the tune_on categories; score them and the defaults everywhere.

    defaults: the production detector's scores on `series` (already computed).
    """
    halves = _halves(series, tune_on)
    tuning, held = halves["tuning"], halves["held_out"]
    trials = _tune([series[i] for i in tuning], grid, profiles["standard"])
    # Best standard score; a tie goes to the production defaults, then to the earlier one.
    best = max(trials, key=lambda t: (t.standard, t.constants == Constants()))
    print(f"chosen: {asdict(best.constants)}", file=sys.stderr)
    chosen = list(defaults)
    held_scores = run_detector([series[i] for i in held], best.constants, verbose=False).scores
    for i, scores in zip(tuning + held, best.scores + held_scores, strict=True):
        chosen[i] = scores

    def both(rows: list[int]) -> dict[str, Any]:
        part = [series[i] for i in rows]
        return {
            "series": len(part),
            "windows": sum(s.label_windows for s in part),
            "chosen": profile_scores([chosen[i] for i in rows], part, profiles),
            "defaults": profile_scores([defaults[i] for i in rows], part, profiles),
        }

    by_family: dict[str, list[int]] = {}
    for i, one in enumerate(series):
        by_family.setdefault(one.family, []).append(i)
    return {
        "tune_on": sorted({series[i].family for i in tuning}),
        "held_out": sorted({series[i].family for i in held}),
        "grid": {name: list(values) for name, values in grid.items()},
        "grid_standard": [{**asdict(t.constants), "standard": t.standard} for t in trials],
        "defaults": asdict(Constants()),
        "chosen": asdict(best.constants),
        "scores": {half: both(rows) for half, rows in halves.items()},
        # Threshold swept within each category; categories without windows have no score.
        "families": {
            f: both(rows) for f, rows in sorted(by_family.items()) if any(series[i].label_windows for i in rows)
        },
    }


def _published(
    root: Path, series: Sequence[Series], profiles: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Published NAB results re-scored on these series (detectors missing any are left out)."""
    published: dict[str, dict[str, float]] = {}
    for name in sorted(os.listdir(root)):
        if not (root / name).is_dir():
            continue
        found = [_published_scores(root, name, s.name, s.labels.n_rows) for s in series]
        if any(s is None for s in found):
            continue
        kept = [s for s in found if s is not None]
        published[name] = profile_scores(kept, series, profiles)
        windows_hit, false_rows = _windows_detected(
            kept, [s.labels for s in series], corpus_sweep(kept, series, profiles["standard"]).threshold
        )
        published[name]["standard_windows_detected"] = float(windows_hit)
        published[name]["standard_false_positive_rows"] = float(false_rows)
    return published


def _profiles(args: argparse.Namespace, data_dir: Path) -> dict[str, dict[str, float]]:
    profiles_path = Path(args.profiles) if args.profiles else data_dir.parent / "profiles.json"
    if not profiles_path.exists():
        return PROFILES
    with open(profiles_path, encoding="utf-8") as handle:
        return profiles_from_nab(json.load(handle))


def run(argv: list[str]) -> dict[str, Any]:
    """Run the detector and the baseline over the labelled series and score all profiles."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task nab")
    parser.add_argument("--data", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--profiles", default=None, help="NAB profiles.json (default: next to the data)")
    parser.add_argument("--published", default=None, help="NAB results/ directory to re-score")
    parser.add_argument("--families", default=None, help="only these categories, comma-separated")
    parser.add_argument("--tune-on", default=None, help="choose the constants on these categories, check on the rest")
    parser.add_argument(
        "--grid", default=None, help='with --tune-on: "record_rank=2,3;resolution=10,30" (default GRID)'
    )
    args = parser.parse_args(argv)

    data_dir = Path(args.data)
    with open(args.labels, encoding="utf-8") as handle:
        label_windows: dict[str, list[list[str]]] = json.load(handle)
    known = {name.split("/", 1)[0] for name in label_windows}
    families = _family_list(args.families, known, parser, "--families")
    tune_on = _family_list(args.tune_on, known, parser, "--tune-on")
    try:
        grid = parse_grid(args.grid)
        for constants in grid_constants(grid):
            constants.detector(1)  # refuses constants out of range before the long run
    except ValueError as error:
        parser.error(str(error))
    profiles = _profiles(args, data_dir)
    series = read_corpus(data_dir, label_windows, families)
    total_windows = sum(s.label_windows for s in series)
    if not total_windows:
        parser.error("no labelled windows in the chosen series")
    if tune_on is not None:
        try:
            _halves(series, tune_on)
        except ValueError as error:
            parser.error(str(error))
    labels = [s.labels for s in series]
    epochs = [s.epoch for s in series]

    smartml = run_detector(series, Constants())
    scores: dict[str, list[NDArray[np.float64]]] = {
        "smartml": smartml.scores,
        "windowed_gaussian": [windowed_gaussian_scores(s.values, s.learning) for s in series],
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    thresholds: dict[str, dict[str, float]] = {}
    for profile, weights in profiles.items():
        results[profile] = {}
        thresholds[profile] = {}
        for method, method_scores in scores.items():
            best = corpus_sweep(method_scores, series, weights)
            results[profile][method] = {"score": round(best.normalised, 2)}
            thresholds[profile][method] = best.threshold

    detected = {
        method: _windows_detected(method_scores, labels, thresholds["standard"][method])
        for method, method_scores in scores.items()
    }
    published = _published(Path(args.published), series, profiles) if args.published else {}
    rows = sum(len(s.values) for s in series)
    info: dict[str, Any] = {
        "series": len(series),
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
        "smartml_microseconds_per_update": round(1e6 * smartml.seconds / max(rows, 1), 1),
        "largest_state_json_bytes": smartml.state_bytes,
    }
    if published:
        info["published_rescored"] = published
    if families is not None:
        info["families"] = sorted(families)
    if tune_on is not None:
        info["split"] = split_report(series, smartml.scores, tune_on, grid, profiles)
    return {"task": "nab", "results": results, "info": info}
