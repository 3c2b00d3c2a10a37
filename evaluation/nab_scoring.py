"""NAB scoring: anomaly windows, scaled sigmoid, per-profile threshold, normalised score.

Written from the published rules of the Numenta Anomaly Benchmark (Lavin & Ahmad 2015 and
the MIT-licensed numenta/NAB repository):

- each labelled window covers a span of rows; the first 15 % of a series (at most 750
  rows) is probationary and not scored;
- a detection (anomaly score >= threshold) inside a window earns
  tp_weight * sigma(p) / sigma(-1), where p = -(right - i + 1) / width is the detection's
  relative position and sigma(p) = 2 / (1 + exp(5 p)) - 1 (so the earliest detection earns
  about tp_weight); only the best (earliest) detection of a window counts;
- a window without a detection costs fn_weight;
- a detection outside every window costs fp_weight * sigma(d), d being its distance after
  the preceding window's right edge in units of that window's width - 1 (sigma(d >= 3) = -1,
  and -1 when no window precedes it), so a late detection just after a window costs little;
- the threshold is swept over the corpus (all series together) and the best one is taken per
  profile; the raw corpus score is normalised as 100 (raw - null) / (perfect - null) where
  null is the score of a detector that never fires and perfect = tp_weight x windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math

import numpy as np
from numpy.typing import NDArray

PROBATION_PERCENT = 0.15
# NAB caps the probationary period at 15 % of 5000 rows.
PROBATION_CAP_ROWS = 5000

# Window ids carried per row besides real windows (0, 1, ...).
OUTSIDE = -1
PROBATIONARY = -2

# Profile names as NAB's profiles.json spells them, and the scope names reported.
PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_fp": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_fn": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
_NAB_PROFILE_NAMES = {
    "standard": "standard",
    "reward_low_FP_rate": "reward_low_fp",
    "reward_low_FN_rate": "reward_low_fn",
}


def profiles_from_nab(raw: Mapping[str, object]) -> dict[str, dict[str, float]]:
    """Convert NAB's profiles.json content to {scope: {"tp", "fp", "fn"}} weights."""
    out: dict[str, dict[str, float]] = {}
    for name, body in raw.items():
        matrix = body["CostMatrix"]  # type: ignore[index]
        scope = _NAB_PROFILE_NAMES.get(name, name.lower())
        out[scope] = {"tp": float(matrix["tpWeight"]), "fp": float(matrix["fpWeight"]), "fn": float(matrix["fnWeight"])}
    return out


def probation_rows(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a series that are not scored (and that a detector may learn on)."""
    return int(min(math.floor(percent * n_rows), percent * PROBATION_CAP_ROWS))


def scaled_sigmoid(position: NDArray[np.float64]) -> NDArray[np.float64]:
    """NAB's scaled sigmoid: about +1 at position -1, 0 at 0, about -1 at +1, -1 from +3 on."""
    out = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= 3.0, -1.0, out)


@dataclass(slots=True)
class SeriesLabels:
    """Windows of one series as inclusive row ranges, and its length."""

    n_rows: int
    windows: list[tuple[int, int]]


@dataclass(slots=True)
class _Rows:
    """Per-row window id and unit sweep scores (TP rows: sigma/sigma(-1); FP rows: sigma)."""

    window: NDArray[np.int64]
    unit: NDArray[np.float64]


def _rows(labels: SeriesLabels, window_offset: int) -> _Rows:
    n = labels.n_rows
    window = np.full(n, OUTSIDE, dtype=np.int64)
    unit = np.full(n, -1.0)  # an FP with no preceding window costs the full fp weight
    idx = np.arange(n, dtype=np.float64)
    max_tp = float(scaled_sigmoid(np.array([-1.0]))[0])
    previous: tuple[int, int] | None = None
    bounds = sorted(labels.windows)
    for k, (left, right) in enumerate(bounds):
        width = right - left + 1
        window[left : right + 1] = window_offset + k
        unit[left : right + 1] = scaled_sigmoid(-(right - idx[left : right + 1] + 1) / width) / max_tp
        # Rows after this window and before the next are scored against this window.
        after_end = bounds[k + 1][0] if k + 1 < len(bounds) else n
        if width > 1:
            unit[right + 1 : after_end] = scaled_sigmoid(np.abs(right - idx[right + 1 : after_end]) / (width - 1))
        else:
            unit[right + 1 : after_end] = -1.0
        previous = (left, right)
    del previous
    window[: probation_rows(n)] = PROBATIONARY
    return _Rows(window, unit)


@dataclass(slots=True)
class SweepResult:
    """Best threshold for one profile and the scores it gives."""

    threshold: float
    raw: float
    null: float
    perfect: float
    tp: int
    fp: int

    @property
    def normalised(self) -> float:
        """NAB's 0..100 score (100 perfect, 0 the never-firing detector)."""
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def sweep(
    scores: Sequence[NDArray[np.float64]],
    labels: Sequence[SeriesLabels],
    weights: Mapping[str, float],
    total_windows: int | None = None,
) -> SweepResult:
    """Sweep the threshold over the whole corpus and return the best one, as NAB does.

    A row is a detection when its score >= threshold. total_windows (the count in the
    label file) defines the perfect score; by default the windows given here.
    """
    windows_all: list[NDArray[np.int64]] = []
    units: list[NDArray[np.float64]] = []
    values: list[NDArray[np.float64]] = []
    offset = 0
    scored_windows: set[int] = set()
    for series_scores, series_labels in zip(scores, labels, strict=True):
        if len(series_scores) != series_labels.n_rows:
            raise ValueError("scores and labels differ in length")
        rows = _rows(series_labels, offset)
        offset += len(series_labels.windows)
        keep = rows.window != PROBATIONARY
        windows_all.append(rows.window[keep])
        units.append(rows.unit[keep])
        values.append(np.asarray(series_scores, dtype=np.float64)[keep])
        scored_windows.update(int(w) for w in np.unique(rows.window[keep]) if w >= 0)
    window = np.concatenate(windows_all) if windows_all else np.zeros(0, dtype=np.int64)
    unit = np.concatenate(units) if units else np.zeros(0)
    value = np.concatenate(values) if values else np.zeros(0)
    tp_w, fp_w, fn_w = weights["tp"], weights["fp"], weights["fn"]

    order = np.argsort(-value, kind="stable")
    window, unit, value = window[order], unit[order], value[order]
    in_window = window >= 0
    # Each detection changes the total by: fp rows their own cost; window rows the rise of
    # their window's best (running max) score, starting from the missed-window cost.
    delta = np.where(in_window, 0.0, fp_w * unit)
    for w in np.unique(window[in_window]):
        positions = np.flatnonzero(window == w)
        best = np.maximum.accumulate(np.maximum(tp_w * unit[positions], -fn_w))
        delta[positions] = np.diff(np.concatenate(([-fn_w], best)))
    null = -fn_w * len(scored_windows)
    total = null + np.cumsum(delta)
    # Thresholds are the distinct scores; a threshold's detections are all rows up to the
    # last one with that score.
    last_of_value = np.flatnonzero(np.r_[value[1:] != value[:-1], True]) if len(value) else np.zeros(0, dtype=np.int64)
    candidates = total[last_of_value]
    n_windows = total_windows if total_windows is not None else offset
    perfect = tp_w * n_windows
    if not len(candidates) or candidates.max() <= null:
        return SweepResult(math.inf, null, null, perfect, 0, 0)
    best_k = int(np.argmax(candidates))
    end = int(last_of_value[best_k]) + 1
    return SweepResult(
        threshold=float(value[end - 1]),
        raw=float(candidates[best_k]),
        null=null,
        perfect=perfect,
        tp=int(in_window[:end].sum()),
        fp=int((~in_window[:end]).sum()),
    )


def window_rows(timestamps: NDArray[np.datetime64], windows: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Map (start, end) timestamp windows to inclusive row ranges of a sorted series."""
    out: list[tuple[int, int]] = []
    for start, end in windows:
        left = int(np.searchsorted(timestamps, np.datetime64(start.replace(" ", "T")), side="left"))
        right = int(np.searchsorted(timestamps, np.datetime64(end.replace(" ", "T")), side="right")) - 1
        if right >= left:
            out.append((left, right))
    return out
