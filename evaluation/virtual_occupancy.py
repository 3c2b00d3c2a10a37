"""Task `virtual_occupancy`: occupancy inferred from environmental sensors, on held-out data.

    scripts/evaluate --task virtual_occupancy --train datatraining.txt --test datatest.txt

Reads UCI Occupancy Detection files (minute rows: date, Temperature, Humidity, Light, CO2,
HumidityRatio, Occupancy). Temperature, humidity, light and CO2 become four environment
channels (HumidityRatio is left out: a home has no such sensor, it is derived from the
other two). Features at each test minute use only readings at or before it, through the
same engine functions as live. Baselines: the training set's majority class for each hour
of the day, and the light rule (occupied when the light level is above the threshold that
is most accurate on the training rows).

Three scopes: the test file (named after its stem); the last quarter of the training file
in time, trained on the first three quarters (`<train stem>_last_quarter`); and the test
file with the room's CO2 and humidity baselines raised (`<test stem>_shifted`: +300 ppm,
+8 %RH, as in another season or with a window kept open), to show that a shift of those
baselines does not move the answer.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime
from pathlib import Path
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.smartml.engine.virtual_occupancy import VirtualOccupancyModel, best_threshold, feature_matrix

from .metrics import accuracy, auc, f1

CHANNELS = ("Temperature", "Humidity", "Light", "CO2")
LABEL = "Occupancy"
# Candanedo & Feldheim (2016), best reported accuracy on this test file.
PUBLISHED = {"accuracy_best_reported": 0.979, "accuracy_range_reported": "0.95-0.99"}
LIGHT = "Light"
# The shifted scope: baselines of the test file raised by these amounts.
BASELINE_SHIFT = {"CO2": 300.0, "Humidity": 8.0}
TRAIN_SHARE = 0.75


def read_uci(path: str | Path) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], NDArray[np.float64]]:
    """(times, {channel: values}, labels) of a UCI occupancy file; local times read as UTC."""
    times: list[float] = []
    columns: dict[str, list[float]] = {name: [] for name in CHANNELS}
    labels: list[float] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        # The header has one name fewer than the rows (the row number is unnamed).
        offset = 1 if header and header[0] == "date" else 0
        index = {name: i + offset for i, name in enumerate(header)}
        for row in reader:
            if not row:
                continue
            stamp = datetime.fromisoformat(row[index["date"]]).replace(tzinfo=UTC)
            times.append(stamp.timestamp())
            for name in CHANNELS:
                columns[name].append(float(row[index[name]]))
            labels.append(float(row[index[LABEL]]))
    order = np.argsort(times, kind="stable")
    t = np.asarray(times)[order]
    return t, {k: np.asarray(v)[order] for k, v in columns.items()}, np.asarray(labels)[order]


def hour_majority(
    train_t: NDArray[np.float64], train_y: NDArray[np.float64], test_t: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Majority class of the training rows per hour of day, for each test row."""
    hours = ((train_t % 86_400) // 3_600).astype(np.int64)
    rate = np.bincount(hours, weights=train_y, minlength=24) / np.maximum(np.bincount(hours, minlength=24), 1)
    majority = (rate > 0.5).astype(np.float64)
    return np.asarray(majority[((test_t % 86_400) // 3_600).astype(np.int64)], dtype=np.float64)


def _scores(y: NDArray[np.float64], p: NDArray[np.float64]) -> dict[str, float]:
    return {"accuracy": round(accuracy(y, p), 5), "f1": round(f1(y, p), 5), "auc": round(auc(y, p), 5)}


def light_rule(
    train_light: NDArray[np.float64], train_y: NDArray[np.float64], light: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The one-line rule: occupied when the light is above the threshold best on the training rows."""
    _, threshold, _ = best_threshold(train_light[:, None], train_y, columns=[0])
    return (light > threshold).astype(np.float64)


def _split(
    train: tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], NDArray[np.float64]],
    test: tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], NDArray[np.float64]],
    names: list[str],
) -> tuple[dict[str, dict[str, float]], float]:
    """Scores of SmartML and the baselines trained on `train`, tested on `test`; the fit's seconds."""
    train_t, train_c, train_y = train
    test_t, test_c, test_y = test
    train_x = feature_matrix({k: (train_t, v) for k, v in train_c.items()}, names, train_t)
    test_x = feature_matrix({k: (test_t, v) for k, v in test_c.items()}, names, test_t)
    started = time.perf_counter()
    model = VirtualOccupancyModel().fit(train_x, train_y)
    fit_seconds = time.perf_counter() - started
    scores = {
        "smartml": _scores(test_y, model.predict_proba(test_x)),
        "hour_majority": _scores(test_y, hour_majority(train_t, train_y, test_t)),
        "light_threshold": _scores(test_y, light_rule(train_c[LIGHT], train_y, test_c[LIGHT])),
    }
    return scores, fit_seconds


def run(argv: list[str]) -> dict[str, Any]:
    """Train on one file, score on the other (also shifted) and on the training file's last quarter."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task virtual_occupancy")
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument(
        "--channels", default=",".join(CHANNELS), help="comma-separated subset of " + ",".join(CHANNELS)
    )
    args = parser.parse_args(argv)
    names = [c for c in args.channels.split(",") if c]
    train = read_uci(args.train)
    test = read_uci(args.test)
    test_t, test_c, test_y = test
    shifted = (test_t, {k: v + BASELINE_SHIFT.get(k, 0.0) for k, v in test_c.items()}, test_y)
    cut = int(len(train[2]) * TRAIN_SHARE)
    head = (train[0][:cut], {k: v[:cut] for k, v in train[1].items()}, train[2][:cut])
    tail = (train[0][cut:], {k: v[cut:] for k, v in train[1].items()}, train[2][cut:])
    test_stem, train_stem = Path(args.test).stem, Path(args.train).stem
    results: dict[str, Any] = {}
    fit_seconds = 0.0
    for scope, (fit_on, score_on) in {
        test_stem: (train, test),
        f"{train_stem}_last_quarter": (head, tail),
        f"{test_stem}_shifted": (train, shifted),
    }.items():
        results[scope], seconds = _split(fit_on, score_on, names)
        fit_seconds = max(fit_seconds, seconds)
    return {
        "task": "virtual_occupancy",
        "results": results,
        "info": {
            "channels": names,
            "train_rows": len(train[2]),
            "test_rows": len(test_y),
            "last_quarter_rows": len(tail[2]),
            "test_occupied_share": round(float(test_y.mean()), 4),
            "baseline_shift": BASELINE_SHIFT,
            "fit_seconds": round(fit_seconds, 3),
            "published": PUBLISHED,
        },
    }
