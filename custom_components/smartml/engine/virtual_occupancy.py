"""Virtual occupancy: whether an area is occupied now, inferred from its environmental sensors.

An area may list CO2, illuminance, humidity, temperature or sound sensors (role
"environment"). People change them: lights go on, CO2 and humidity rise, a room warms. For
each channel the features are its level, its change over the last 10 and 30 minutes and
its rise above its own 24-hour floor, all taken from data at or before the moment scored.
A logistic regression, trained on the area's own occupancy entities, maps them to a
probability; missing readings are allowed (NaN). Features enter on a signed log scale, as
sensor levels span orders of magnitude (a few lux to thousands, 400 to 2000 ppm), and every
weight is held non-negative: people add light, CO2, humidity, heat and sound to a room,
never take them away. Small and monotone, the model cannot memorise the training weeks,
and sensor levels that drift with the seasons move it little.

One sensor often tells a room's use almost alone (the light is on or it is not): the best
one-threshold rule on a channel's level, learned from the area's own history, is a
candidate too, and an extra feature of the regression. Which of the two answers is chosen
by blocked cross-validation in time on the area's history, the rule when it does as well:
a rule on one level cannot be misled by another sensor's drifting baseline (CO2 or
humidity in another season, a window kept open).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
import math
from typing import Any, Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from .logistic import LogisticFit, fit_logistic
from .observations import ROLE_ENVIRONMENT, ROLE_OCCUPANCY, ObservationStore
from .pacing import one_blas_thread, pace
from .slots import binary_occupied, last_reading, slot_grid

SHORT_LAG_S: Final = 600.0
LONG_LAG_S: Final = 1800.0
FLOOR_WINDOW_S: Final = 86_400.0
FLOOR_GRID_S: Final = 300.0
# A reading older than this no longer describes the room.
STALE_AFTER_S: Final = 3_600.0
FEATURES_PER_CHANNEL: Final = ("level", "change_10min", "change_30min", "above_floor")
TRAIN_STEP_S: Final = 600.0
MIN_TRAIN_ROWS: Final = 200
# Contiguous blocks in time of the cross-validation that picks the rule or the regression.
CV_FOLDS: Final = 4


def value_at(times: NDArray[np.float64], values: NDArray[np.float64], at: NDArray[np.float64]) -> NDArray[np.float64]:
    """Last reading at or before each time; NaN before the first or when stale."""
    return last_reading(times, values, at, STALE_AFTER_S)


def channel_features(
    times: NDArray[np.float64], values: NDArray[np.float64], at: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Level, 10/30-minute change and rise above the trailing 24-hour floor, at each time."""
    pace()
    level = value_at(times, values, at)
    short = level - value_at(times, values, at - SHORT_LAG_S)
    long = level - value_at(times, values, at - LONG_LAG_S)
    floor = np.full(len(at), np.nan)
    if len(times) and len(at):
        # Trailing minimum on a regular grid (a reading holds until the next one). The grid
        # keeps one lattice, anchored at the first reading, but starts a window before the
        # first time asked for: a prediction at one time samples a day, not all history.
        anchor = min(at.min(), times[0]) - FLOOR_WINDOW_S
        first = anchor + max(0.0, np.floor((at.min() - FLOOR_WINDOW_S - anchor) / FLOOR_GRID_S)) * FLOOR_GRID_S
        grid = np.arange(first, at.max() + FLOOR_GRID_S, FLOOR_GRID_S)
        sampled = value_at(times, values, grid)
        filled = np.where(np.isnan(sampled), np.inf, sampled)
        size = int(FLOOR_WINDOW_S // FLOOR_GRID_S)
        # Each grid point's window ends at (and includes) it; the first ones repeat the edge.
        padded = np.concatenate([np.full(size - 1, filled[0]), filled])
        trailing = sliding_window_view(padded, size).min(axis=1)
        pace()
        idx = np.clip(np.searchsorted(grid, at, side="right") - 1, 0, len(grid) - 1)
        floor = np.where(np.isfinite(trailing[idx]), trailing[idx], np.nan)
        # The point itself counts too, between grid points.
        floor = np.fmin(floor, level)
    return np.column_stack([level, short, long, level - floor])


def feature_matrix(
    channels: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    names: Sequence[str],
    at: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Features of the named channels (times, values) at each time, in a fixed column order."""
    blocks = []
    for name in names:
        times, values = channels.get(name, (np.zeros(0), np.zeros(0)))
        blocks.append(channel_features(times, values, at))
    return np.hstack(blocks) if blocks else np.zeros((len(at), 0))


def area_environment(spec: Mapping[str, Any], area: str) -> list[str]:
    """Environment entities an area lists in the home spec."""
    conf = (spec.get("areas") or {}).get(area) or {}
    return [str(e) for e in conf.get(ROLE_ENVIRONMENT) or []]


def store_channels(
    store: ObservationStore, names: Sequence[str]
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """(times, values) arrays of the named environment channels kept in the store."""
    out: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    for name in names:
        buf = store.channels.get(name)
        if buf is not None and buf.times:
            # Views, not copies: the store is the worker's private snapshot.
            out[name] = (np.frombuffer(buf.times, dtype=np.float64), np.frombuffer(buf.values, dtype=np.float64))
    return out


def store_features(
    store: ObservationStore, spec: Mapping[str, Any], area: str, at: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Feature rows of an area's environment channels at the given times."""
    names = area_environment(spec, area)
    return feature_matrix(store_channels(store, names), names, at)


def store_training_set(
    store: ObservationStore, spec: Mapping[str, Any], area: str, now: float, step_s: float = TRAIN_STEP_S
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(times, features, labels) for an area: labels from its own occupancy entities.

    Each row is the end of a `step_s` slot; it is occupied when any occupancy entity was on
    in that slot. Empty arrays when the area has no environment or occupancy history.
    """
    conf = (spec.get("areas") or {}).get(area) or {}
    occupancy = [
        store.channels[e] for e in conf.get(ROLE_OCCUPANCY) or [] if e in store.channels and store.channels[e].times
    ]
    names = area_environment(spec, area)
    channels = store_channels(store, names)
    if not occupancy or not channels:
        return np.zeros(0), np.zeros((0, len(names) * len(FEATURES_PER_CHANNEL))), np.zeros(0)
    start = max(min(buf.times[0] for buf in occupancy), min(t[0] for t, _ in channels.values()))
    starts = slot_grid(start, now - step_s, int(step_s // 60))
    labels = np.zeros(len(starts), dtype=bool)
    for buf in occupancy:
        labels |= binary_occupied(buf, starts, step_s)
    at = starts + step_s
    return at, feature_matrix(channels, names, at), labels.astype(np.float64)


def signed_log(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """sign(x) * log(1 + |x|): orders of magnitude, sign and NaN kept."""
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)), dtype=np.float64)


def best_threshold(
    features: NDArray[np.float64], labels: NDArray[np.float64], columns: Sequence[int] | None = None
) -> tuple[int, float, float]:
    """(column, threshold, training accuracy) of the best rule "occupied when value > threshold".

    columns: those tried, by default each channel's level (its first column); NaN reads as
    below any threshold.
    """
    best = (0, math.inf, float(np.mean(labels == 0.0)) if len(labels) else 0.0)
    tried = range(0, features.shape[1], len(FEATURES_PER_CHANNEL)) if columns is None else columns
    for column in tried:
        pace()
        values = np.nan_to_num(features[:, column], nan=-math.inf)
        order = np.argsort(values, kind="stable")
        ordered, occupied = values[order], labels[order]
        # Accuracy with the cut after each sorted row: empty rows below, occupied above.
        right = np.r_[0.0, np.cumsum(1.0 - occupied)] + (occupied.sum() - np.r_[0.0, np.cumsum(occupied)])
        # Cuts only between distinct values.
        valid = np.r_[True, ordered[1:] > ordered[:-1], True]
        right = np.where(valid, right, -1.0)
        cut = int(np.argmax(right))
        accuracy = float(right[cut]) / len(labels)
        if accuracy > best[2]:
            threshold = float(ordered[cut - 1]) if cut > 0 else -math.inf
            best = (column, threshold, accuracy)
    return best


@dataclass(slots=True)
class VirtualOccupancyModel:
    """Probability that an area is occupied now, from features of its environment channels.

    Either a regression on every feature and the best one-threshold rule's verdict, or the
    rule alone, whichever cross-validates better in time.
    """

    # The inverse penalty of scikit-learn's LogisticRegression(C=1.0), on standardised features.
    c: float = 1.0
    fit_: LogisticFit | None = None
    constant_: float | None = None
    # The rule: occupied when features[:, rule_column_] > rule_threshold_.
    rule_column_: int = 0
    rule_threshold_: float = math.inf
    # Whether the rule alone answers (chosen by cross-validation).
    rule_only_: bool = False

    def _design(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        # Levels shift with the season or an open window; the rule's channel keeps its
        # level, the others enter by their changes and rise above their own floor.
        levels = np.arange(features.shape[1]) % len(FEATURES_PER_CHANNEL) == 0
        keep = ~levels
        keep[self.rule_column_] = True
        return np.asarray(np.c_[signed_log(features[:, keep]), self._rule(features)], dtype=np.float64)

    def _fit_once(self, features: NDArray[np.float64], labels: NDArray[np.float64]) -> None:
        self.rule_column_, self.rule_threshold_, _ = best_threshold(features, labels)
        pace()
        # One BLAS thread: small matrices, and Home Assistant's executor shares the cores.
        with one_blas_thread():
            self.fit_ = fit_logistic(self._design(features), labels, self.c, nonnegative=True)

    def _rule(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        values = np.nan_to_num(features[:, self.rule_column_], nan=-math.inf)
        return (values > self.rule_threshold_).astype(np.float64)

    def _cross_validated(self, features: NDArray[np.float64], labels: NDArray[np.float64]) -> tuple[float, float]:
        """(rule's, regression's) accuracy over contiguous held-out blocks, each fitted on the rest."""
        edges = np.linspace(0, len(labels), CV_FOLDS + 1).astype(np.int64)
        right_rule, right_model, scored = 0.0, 0.0, 0
        for start, stop in pairwise(edges.tolist()):
            held = np.zeros(len(labels), dtype=bool)
            held[start:stop] = True
            train = labels[~held]
            if len(train) < MIN_TRAIN_ROWS or train.min() == train.max():
                continue
            self._fit_once(features[~held], train)
            truth = labels[held]
            right_rule += float(np.sum(self._rule(features[held]) == truth))
            right_model += float(np.sum((self.predict_proba(features[held]) >= 0.5) == truth))
            scored += len(truth)
        return (right_rule / scored, right_model / scored) if scored else (0.0, 0.0)

    def fit(self, features: NDArray[np.float64], labels: NDArray[np.float64]) -> VirtualOccupancyModel:
        """Learn from feature rows (oldest first) and 0/1 occupancy labels (executor)."""
        labels = np.asarray(labels, dtype=np.float64)
        features = np.asarray(features, dtype=np.float64)
        self.fit_, self.constant_, self.rule_only_ = None, None, False
        if len(labels) < MIN_TRAIN_ROWS or labels.min() == labels.max():
            # Nothing to tell apart: predict the observed rate.
            self.constant_ = float(labels.mean()) if len(labels) else 0.0
            return self
        rule, model = self._cross_validated(features, labels)
        self._fit_once(features, labels)
        self.rule_only_ = rule >= model
        return self

    def predict_proba(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(occupied) per row (0 or 1 when the rule answers)."""
        features = np.asarray(features, dtype=np.float64)
        if self.fit_ is None:
            return np.full(len(features), self.constant_ if self.constant_ is not None else 0.0)
        if self.rule_only_:
            return self._rule(features)
        return self.fit_.predict_proba(self._design(features))

    @property
    def fitted(self) -> bool:
        """Whether fit has been called."""
        return self.fit_ is not None or self.constant_ is not None
