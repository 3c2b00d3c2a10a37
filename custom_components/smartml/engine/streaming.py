"""Streaming anomaly detection on one numeric series (power, temperature, CO2, ...).

`StreamingDetector.update(ts, value)` takes one value at a time, keeps constant memory (a
ring of the last few thousand values and a few running statistics) and returns an anomaly
score in 0..1. Its whole state is plain JSON (`as_dict` / `from_dict`).

How the score is made:

1. Nonconformity at two scales (k, memory): the distance from the latest `k` values to
   their nearest earlier neighbour among the last `memory` subsequences (a left "discord").
   With k = 1 and a long memory this is how far the value lies outside the values seen
   lately (a new low or high); with k = 10 it is a shape not seen lately (a spike, a jump, a
   missing peak). A new level stops scoring once it has been seen for a while. Distances
   are taken on a log scale, log(1 + distance / resolution) with the resolution a small
   fraction of the series' running standard deviation, so that what counts is by what
   factor a distance exceeds the usual ones, not its absolute size.
2. Each scale's nonconformity is compared with a slowly decaying record of the few largest
   values it has had (above its running mean): the ratio is >= 1 only when the series is
   more unusual than it has been `RECORD_RANK` times lately, so noisy series do not alert
   more than quiet ones, a long series does not accumulate alarms, and one earlier
   anomaly does not hide the next one of the same size. The scales' ratios are averaged.
3. Only the first, strongest point of an episode is reported: a score is passed on when it
   beats a fast-decaying memory of the scores already reported, and is 0 otherwise.

No per-series tuning: one parameter set for every series; the first `learning_points`
values only learn (score 0). The value memory (4000), the resolution (1/30 of a standard
deviation), the record rank (3) and the record decay (0.999 per value) were chosen on the
Numenta Anomaly Benchmark (docs/benchmarks/security.md); how they hold on series they were
not chosen on is in docs/benchmarks/nab_split.md. The constructor takes them as keyword
arguments for that evaluation; the integration uses the defaults, and the saved state does
not hold them (a restored detector has the defaults).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any, Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .constants import JsonObject

# (subsequence length, how many past subsequences it is compared with).
DEFAULT_SCALES: Final = ((1, 4000), (10, 1000))
DEFAULT_LEARNING_POINTS: Final = 500
# Running mean/variance of the values and of each nonconformity: 1/n up to this many
# points, then exponential forgetting at 1/this.
STATS_WINDOW: Final = 2000
# Distances are measured in units of the running standard deviation / RESOLUTION.
RESOLUTION: Final = 30.0
# A nonconformity is compared with the RECORD_RANK-th largest one of the recent past;
# the records' excess over the running mean decays by RECORD_DECAY per value.
RECORD_RANK: Final = 3
RECORD_DECAY: Final = 0.999
# Per-point decay of the memory of reported scores.
REPORT_DECAY: Final = 0.995
# The record ratio that maps to a score of 1.
RATIO_AT_ONE: Final = 2.0
STATE_VERSION: Final = 2


class _Record:
    """Running mean of a nonconformity and its few decaying records above that mean."""

    __slots__ = ("count", "decay", "mean", "rank", "top")

    def __init__(
        self,
        rank: int,
        decay: float,
        count: int = 0,
        mean: float = 0.0,
        top: Sequence[float] = (),
    ) -> None:
        self.rank, self.decay = rank, decay
        self.count, self.mean = count, mean
        self.top = sorted((float(x) for x in top), reverse=True)[:rank]

    def ratio(self, value: float) -> float:
        """(value - mean) / (the rank-th record - mean), then learn the value."""
        rank = self.rank
        self.count += 1
        mean = self.mean = self.mean + (value - self.mean) / min(self.count, STATS_WINDOW)
        top = self.top
        reference = top[min(len(top), rank) - 1] if top else mean
        reference = max(reference, mean + 1e-9)
        ratio = (value - mean) / (reference - mean + 1e-9)
        top = [mean + (x - mean) * self.decay for x in top]
        if len(top) < rank or value > top[-1]:
            top.append(value)
            top.sort(reverse=True)
            del top[rank:]
        self.top = top
        return ratio


class StreamingDetector:
    """Online, constant-memory anomaly score for one numeric series."""

    def __init__(
        self,
        scales: Sequence[Sequence[int]] = DEFAULT_SCALES,
        learning_points: int = DEFAULT_LEARNING_POINTS,
        *,
        resolution: float = RESOLUTION,
        record_rank: int = RECORD_RANK,
        record_decay: float = RECORD_DECAY,
    ) -> None:
        """scales: (subsequence length, memory) pairs; learning_points: values that only learn.

        resolution, record_rank and record_decay replace RESOLUTION, RECORD_RANK and
        RECORD_DECAY for this detector (for evaluation; they are not saved in its state).
        """
        self.scales = tuple((int(k), int(memory)) for k, memory in scales)
        if not self.scales or min(min(pair) for pair in self.scales) < 1:
            raise ValueError("scales must be positive (length, memory) pairs")
        self.resolution = float(resolution)
        self.record_rank = int(record_rank)
        self.record_decay = float(record_decay)
        if not self.resolution > 0.0 or self.record_rank < 1 or not 0.0 < self.record_decay <= 1.0:
            raise ValueError("resolution > 0, record_rank >= 1 and 0 < record_decay <= 1 are required")
        self.learning_points = int(learning_points)
        self.count = 0
        self.mean = 0.0
        self.variance = 0.0
        self.reported = 0.0
        self.last_ts = -math.inf
        self._records = [self._record() for _ in self.scales]
        # Each value is written twice so the last `capacity` values are always one
        # contiguous slice, without copying.
        self._capacity = max(k + memory for k, memory in self.scales)
        self._longest = max(k for k, _ in self.scales)
        self._ring = np.zeros(2 * self._capacity)
        # Subsequence views of the ring, made once: slicing them costs nothing per update.
        self._windows = {k: sliding_window_view(self._ring, k) for k, _ in self.scales if k > 1}

    def _record(self, count: int = 0, mean: float = 0.0, top: Sequence[float] = ()) -> _Record:
        return _Record(self.record_rank, self.record_decay, count, mean, top)

    @property
    def ready(self) -> bool:
        """Whether the learning period is over."""
        return self.count > self.learning_points

    def update(self, ts: float, value: float) -> float:
        """Learn one value and return its anomaly score (0..1); non-finite values score 0."""
        if not math.isfinite(value) or ts < self.last_ts:
            return 0.0
        self.last_ts = ts
        slot = self.count % self._capacity
        self._ring[slot] = self._ring[slot + self._capacity] = value
        self.count += 1
        resolution = (math.sqrt(self.variance) + 1e-6 * abs(self.mean) + 1e-9) / self.resolution
        step = 1.0 / min(self.count, STATS_WINDOW)
        delta = value - self.mean
        self.mean += step * delta
        self.variance = (1.0 - step) * (self.variance + step * delta * delta)
        if self.count < 2 * self._longest + 2:
            return 0.0
        end = slot + self._capacity + 1
        ratio = 0.0
        for (k, memory), record in zip(self.scales, self._records, strict=True):
            start = end - min(self.count, k + memory)
            if k == 1:
                distance = float(np.min(np.abs(self._ring[start : end - 1] - value)))
            else:
                # Every earlier subsequence that ends before the current one starts.
                difference = self._windows[k][start : end - 2 * k + 1] - self._ring[end - k : end]
                distance = math.sqrt(float(np.einsum("ij,ij->i", difference, difference).min()) / k)
            ratio += record.ratio(math.log1p(distance / resolution))
        # The scales vote: a short blip or a slow drift alone counts half.
        ratio /= len(self.scales)
        if not self.ready:
            return 0.0
        score = min(1.0, max(0.0, ratio / RATIO_AT_ONE))
        out = score if score > self.reported else 0.0
        self.reported = max(self.reported * REPORT_DECAY, score)
        return out

    def as_dict(self) -> JsonObject:
        """Whole state as plain JSON."""
        held = min(self.count, self._capacity)
        end = self.count % self._capacity + self._capacity
        return {
            "version": STATE_VERSION,
            "scales": [list(pair) for pair in self.scales],
            "learning_points": self.learning_points,
            "count": self.count,
            "mean": self.mean,
            "variance": self.variance,
            "reported": self.reported,
            "last_ts": self.last_ts if math.isfinite(self.last_ts) else None,
            "records": [[r.count, r.mean, list(r.top)] for r in self._records],
            "recent": self._ring[end - held : end].tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamingDetector:
        """Rebuild from as_dict output; raises ValueError/KeyError/TypeError on a bad one.

        A state from an earlier version (other scales, other records) starts a fresh
        detector with the same learning period: it learns the series again.
        """
        version = int(data.get("version", 0))
        if version < STATE_VERSION:
            return cls(learning_points=int(data.get("learning_points", DEFAULT_LEARNING_POINTS)))
        if version != STATE_VERSION:
            raise ValueError("unknown streaming detector state version")
        detector = cls(data["scales"], int(data["learning_points"]))
        detector.count = int(data["count"])
        detector.mean, detector.variance = float(data["mean"]), float(data["variance"])
        detector.reported = float(data["reported"])
        last_ts = data.get("last_ts")
        detector.last_ts = -math.inf if last_ts is None else float(last_ts)
        records = data["records"]
        if len(records) != len(detector.scales):
            raise ValueError("one record per scale")
        detector._records = [detector._record(int(c), float(m), [float(x) for x in top]) for c, m, top in records]
        recent = [float(v) for v in data["recent"]]
        if len(recent) != min(detector.count, detector._capacity):
            raise ValueError("recent values do not match the count")
        # Put the values back where update() expects them.
        for i, value in enumerate(recent):
            slot = (detector.count - len(recent) + i) % detector._capacity
            detector._ring[slot] = detector._ring[slot + detector._capacity] = value
        return detector
