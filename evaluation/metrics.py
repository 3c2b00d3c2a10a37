"""Metric functions shared by the evaluation tasks (numpy only, no scikit-learn).

Every function takes plain arrays and returns a float; NaN when a metric is undefined
(for example AUC on slots of one class only), so that callers can report it as null.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Probabilities are clipped before the log so one confident miss costs a lot but finitely.
LOG_LOSS_EPS = 1e-6


def clean_json(value: Any, digits: int | None = None) -> Any:
    """A result with NaN and infinities as None, so that the JSON stays valid.

    digits: round every float to this many decimals (the figures a task reports).
    """
    if isinstance(value, dict):
        return {k: clean_json(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, digits) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value if digits is None else round(value, digits)
    return value


def _arrays(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    truth = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if truth.shape != pred.shape:
        raise ValueError(f"lengths differ: {truth.shape[0]} truths, {pred.shape[0]} predictions")
    return truth, pred


def brier(y_true: ArrayLike, p: ArrayLike) -> float:
    """Mean squared error of probabilities against 0/1 outcomes."""
    truth, prob = _arrays(y_true, p)
    return float(np.mean((prob - truth) ** 2)) if truth.size else math.nan


def log_loss(y_true: ArrayLike, p: ArrayLike, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood (natural log) of 0/1 outcomes."""
    truth, prob = _arrays(y_true, p)
    if not truth.size:
        return math.nan
    prob = np.clip(prob, eps, 1.0 - eps)
    return float(-np.mean(truth * np.log(prob) + (1.0 - truth) * np.log(1.0 - prob)))


def auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count half); NaN with one class."""
    truth, values = _arrays(y_true, score)
    positives = truth > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return math.nan
    # Average ranks handle ties exactly.
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def accuracy(y_true: ArrayLike, p: ArrayLike, threshold: float = 0.5) -> float:
    """Share of outcomes matched by thresholding the probability (p >= threshold is 1)."""
    truth, prob = _arrays(y_true, p)
    return float(np.mean((prob >= threshold) == (truth > 0.5))) if truth.size else math.nan


def f1(y_true: ArrayLike, p: ArrayLike, threshold: float = 0.5) -> float:
    """F1 score of the positive class after thresholding; NaN with no positives at all."""
    truth, prob = _arrays(y_true, p)
    predicted, actual = prob >= threshold, truth > 0.5
    tp = float(np.sum(predicted & actual))
    denominator = float(predicted.sum() + actual.sum())
    return 2.0 * tp / denominator if denominator else math.nan


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error; NaN pairs are left out."""
    truth, pred = _arrays(y_true, y_pred)
    keep = np.isfinite(truth) & np.isfinite(pred)
    return float(np.mean(np.abs(pred[keep] - truth[keep]))) if keep.any() else math.nan


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error; NaN pairs are left out."""
    truth, pred = _arrays(y_true, y_pred)
    keep = np.isfinite(truth) & np.isfinite(pred)
    return float(np.sqrt(np.mean((pred[keep] - truth[keep]) ** 2))) if keep.any() else math.nan


def probability_metrics(y_true: ArrayLike, p: ArrayLike) -> dict[str, float]:
    """brier, log_loss, auc and accuracy of one set of probabilities, rounded for reports."""
    return {
        "brier": round(brier(y_true, p), 5),
        "log_loss": round(log_loss(y_true, p), 5),
        "auc": round(auc(y_true, p), 5),
        "accuracy": round(accuracy(y_true, p), 5),
    }


def skill(score: float, reference: float) -> float:
    """Skill of a loss against a reference loss: 1 - score/reference (1 perfect, 0 no better)."""
    if not math.isfinite(score) or not math.isfinite(reference) or reference <= 0.0:
        return math.nan
    return 1.0 - score / reference


def pinball(y_true: ArrayLike, quantiles: ArrayLike, levels: tuple[float, ...] = (0.1, 0.5, 0.9)) -> float:
    """Mean pinball (quantile) loss over the levels; `quantiles` has one column per level.

    A point forecast may be passed as one column: it then stands for every level.
    """
    truth = np.asarray(y_true, dtype=np.float64).ravel()
    q = np.asarray(quantiles, dtype=np.float64).reshape(len(truth), -1)
    if q.shape[1] == 1:
        q = np.repeat(q, len(levels), axis=1)
    keep = np.isfinite(truth) & np.all(np.isfinite(q), axis=1)
    if not keep.any():
        return math.nan
    diff = truth[keep, None] - q[keep]
    tau = np.asarray(levels, dtype=np.float64)[None, :]
    return float(np.mean(np.maximum(tau * diff, (tau - 1.0) * diff)))


def coverage(y_true: ArrayLike, low: ArrayLike, high: ArrayLike) -> float:
    """Share of outcomes inside [low, high]."""
    truth, lo = _arrays(y_true, low)
    _, hi = _arrays(y_true, high)
    keep = np.isfinite(truth) & np.isfinite(lo) & np.isfinite(hi)
    return float(np.mean((truth[keep] >= lo[keep]) & (truth[keep] <= hi[keep]))) if keep.any() else math.nan
