"""Gradient-boosted regression trees for the median, in numpy (executor only).

Small trees of a fixed depth grown on binned features, each fitted to the sign of the
current residuals with its leaves set to their residuals' median (least-absolute-deviation
boosting). Some 25 kB once grown and well under a second on a few thousand rows: what
scikit-learn's histogram boosting does for this task, without its memory.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from .energy_series import FloatArray, IntArray
from .pacing import pace

MAX_BINS: Final = 32
DEPTH: Final = 3
ROUNDS: Final = 100
LEARNING_RATE: Final = 0.1
MIN_LEAF_ROWS: Final = 40
# Bin 0 holds unknown values of a column that had some in training (the trees learned where
# they go); measured values take bins 1..MAX_BINS.
UNKNOWN_BIN: Final = 0


def _bin_edges(values: FloatArray, max_bins: int) -> FloatArray:
    """Upper edges of up to max_bins bins of equal counts over the known values."""
    known = values[np.isfinite(values)]
    if not len(known):
        return np.zeros(0)
    edges = np.unique(np.quantile(known, np.linspace(0.0, 1.0, max_bins + 1)[1:-1]))
    return np.asarray(edges, dtype=np.float64)


def _median_by(groups: IntArray, values: FloatArray, count: int) -> FloatArray:
    """The median of values in each group 0..count-1 (0 for an empty group)."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.searchsorted(g, np.arange(count), side="left")
    ends = np.searchsorted(g, np.arange(count), side="right")
    out = np.zeros(count)
    filled = ends > starts
    lo = (starts + ends - 1) // 2
    hi = (starts + ends) // 2
    out[filled] = 0.5 * (v[lo[filled]] + v[hi[filled]])
    return out


class MedianBoostedTrees:
    """Boosted trees fitting the median of y from x (NaN allowed in x)."""

    def __init__(
        self,
        depth: int = DEPTH,
        rounds: int = ROUNDS,
        learning_rate: float = LEARNING_RATE,
        min_leaf_rows: int = MIN_LEAF_ROWS,
        max_bins: int = MAX_BINS,
    ) -> None:
        """Trees of `depth` levels, `rounds` of them, each leaf of at least `min_leaf_rows` rows."""
        self.depth = depth
        self.rounds = rounds
        self.learning_rate = learning_rate
        self.min_leaf_rows = min_leaf_rows
        self.max_bins = max_bins
        self.edges_: list[FloatArray] = []
        # Where each column's unknown values go: their own bin if training had some, else the
        # median bin (nothing says an unknown is small or large).
        self.unknown_bins_: list[int] = []
        self.base_ = 0.0
        # Per round and level, the split feature and bin of each node (a bin past the last
        # sends every row left: no split); per round, the value of each leaf.
        self.features_ = np.zeros((0, depth, 2 ** (depth - 1)), dtype=np.int64)
        self.thresholds_ = np.zeros((0, depth, 2 ** (depth - 1)), dtype=np.int64)
        self.leaves_ = np.zeros((0, 2**depth))

    def _bins(self, x: FloatArray) -> IntArray:
        """Each value's bin: 1 + its rank among the edges, or its column's bin for unknowns."""
        bins = np.zeros(x.shape, dtype=np.int64)
        for j, (edges, unknown_bin) in enumerate(zip(self.edges_, self.unknown_bins_, strict=True)):
            col = x[:, j]
            known = np.isfinite(col)
            bins[known, j] = UNKNOWN_BIN + 1 + np.searchsorted(edges, col[known], side="left")
            bins[~known, j] = unknown_bin
        return bins

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        """Grow the trees on rows x (features) and y (targets, all known)."""
        self.edges_ = [_bin_edges(x[:, j], self.max_bins) for j in range(x.shape[1])]
        self.unknown_bins_ = [UNKNOWN_BIN] * x.shape[1]
        bins = self._bins(x)
        self.unknown_bins_ = [
            UNKNOWN_BIN if (bins[:, j] == UNKNOWN_BIN).any() else int(np.median(bins[:, j])) for j in range(x.shape[1])
        ]
        self.base_ = float(np.median(y))
        current = np.full(len(y), self.base_)
        features, thresholds, leaves = [], [], []
        depth = self.depth
        for _ in range(self.rounds):
            pace()
            resid = y - current
            node, feat, thr = self._grow(bins, np.sign(resid))
            values = _median_by(node, resid, 2**depth) * self.learning_rate
            current += values[node]
            features.append(feat)
            thresholds.append(thr)
            leaves.append(values)
        self.features_ = np.asarray(features, dtype=np.int64).reshape(-1, depth, 2 ** (depth - 1))
        self.thresholds_ = np.asarray(thresholds, dtype=np.int64).reshape(-1, depth, 2 ** (depth - 1))
        self.leaves_ = np.asarray(leaves, dtype=np.float64).reshape(-1, 2**depth)

    def _grow(self, bins: IntArray, gradient: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
        """One tree, level by level: each row's leaf, and each level's split per node."""
        rows, width = bins.shape
        depth, min_rows, nbins = self.depth, self.min_leaf_rows, self.max_bins + 1
        node = np.zeros(rows, dtype=np.int64)
        feat = np.zeros((depth, 2 ** (depth - 1)), dtype=np.int64)
        thr = np.full((depth, 2 ** (depth - 1)), nbins, dtype=np.int64)
        for level in range(depth):
            nodes = 2**level
            best_gain = np.zeros(nodes)
            for j in range(width):
                key = node * nbins + bins[:, j]
                total = np.bincount(key, weights=gradient, minlength=nodes * nbins).reshape(nodes, nbins)
                count = np.bincount(key, minlength=nodes * nbins).reshape(nodes, nbins).astype(np.float64)
                left_sum, left_n = np.cumsum(total, axis=1), np.cumsum(count, axis=1)
                right_sum, right_n = left_sum[:, -1:] - left_sum, left_n[:, -1:] - left_n
                ok = (left_n >= min_rows) & (right_n >= min_rows)
                with np.errstate(invalid="ignore", divide="ignore"):
                    gain = left_sum**2 / left_n + right_sum**2 / right_n - left_sum[:, -1:] ** 2 / left_n[:, -1:]
                gain = np.where(ok, gain, -np.inf)
                split = np.argmax(gain, axis=1)
                found = gain[np.arange(nodes), split]
                better = found > best_gain
                best_gain[better] = found[better]
                feat[level, :nodes][better] = j
                thr[level, :nodes][better] = split[better]
            go_right = bins[np.arange(rows), feat[level, node]] > thr[level, node]
            node = node * 2 + go_right
        return node, feat, thr

    def predict(self, x: FloatArray) -> FloatArray:
        """The median of each row's target."""
        bins = self._bins(x)
        rows = np.arange(len(x))
        out = np.full(len(x), self.base_)
        for feat, thr, values in zip(self.features_, self.thresholds_, self.leaves_, strict=True):
            node = np.zeros(len(x), dtype=np.int64)
            for level in range(self.depth):
                node = node * 2 + (bins[rows, feat[level, node]] > thr[level, node])
            out += values[node]
        return np.asarray(out, dtype=np.float64)
