"""Known answers of the NAB scorer on tiny synthetic series."""

import math

import numpy as np
import pytest

from evaluation.nab_scoring import PROFILES, SeriesLabels, probation_rows, scaled_sigmoid, sweep, window_rows

STANDARD = PROFILES["standard"]
N = 100
WINDOW = (40, 59)  # 20 rows; probation is the first 15 rows
MAX_TP = 2.0 / (1.0 + math.exp(-5.0)) - 1.0


def _series(**hits: float) -> np.ndarray:
    scores = np.zeros(N)
    for row, value in hits.items():
        scores[int(row.removeprefix("r"))] = value
    return scores


def _score(scores: np.ndarray, profile: str = "standard") -> float:
    return sweep([scores], [SeriesLabels(N, [WINDOW])], PROFILES[profile]).normalised


def test_scaled_sigmoid_matches_published_values() -> None:
    values = scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.0]))
    assert values == pytest.approx([0.98661, 0.84828, 0.0, -0.98661, -1.0], abs=1e-5)


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(22_695) == 750


def test_detection_at_window_start_is_perfect() -> None:
    assert _score(_series(r40=1.0)) == pytest.approx(100.0)


def test_detector_that_never_fires_scores_zero() -> None:
    assert _score(np.zeros(N)) == pytest.approx(0.0)


def test_detection_at_window_end_earns_little() -> None:
    # Position -(59 - 59 + 1) / 20 = -0.05.
    tp = (2.0 / (1.0 + math.exp(-0.25)) - 1.0) / MAX_TP
    assert _score(_series(r59=1.0)) == pytest.approx(100.0 * (tp + 1.0) / 2.0)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    assert _score(_series(r40=1.0, r45=1.0, r50=1.0)) == pytest.approx(100.0)


def test_false_positive_before_any_window_costs_full_weight() -> None:
    assert _score(_series(r20=1.0, r40=1.0)) == pytest.approx(100.0 * (1.0 - 0.11 + 1.0) / 2.0)


def test_false_positive_just_after_window_costs_little() -> None:
    # Distance |59 - 60| / (20 - 1); scaled sigmoid is slightly negative there.
    cost = 0.11 * (2.0 / (1.0 + math.exp(5.0 / 19.0)) - 1.0)
    assert _score(_series(r40=1.0, r60=1.0)) == pytest.approx(100.0 * (1.0 + cost + 1.0) / 2.0)


def test_probationary_rows_are_not_scored() -> None:
    assert _score(_series(r5=1.0, r40=1.0)) == pytest.approx(100.0)


def test_threshold_is_swept_to_the_best_one() -> None:
    # At threshold 0.9 only the false positive fires (-1 - 0.11); at 0.8 both (1 - 0.11).
    result = sweep([_series(r20=0.9, r40=0.8)], [SeriesLabels(N, [WINDOW])], STANDARD)
    assert result.threshold == pytest.approx(0.8)
    assert result.raw == pytest.approx(1.0 - 0.11)


def test_reward_low_fn_profile_doubles_the_miss_cost() -> None:
    result = sweep([np.zeros(N)], [SeriesLabels(N, [WINDOW])], PROFILES["reward_low_fn"])
    assert result.null == pytest.approx(-2.0)
    assert _score(_series(r40=1.0), "reward_low_fn") == pytest.approx(100.0)


def test_windows_are_pooled_over_series_and_normalised_by_the_label_count() -> None:
    labels = [SeriesLabels(N, [WINDOW]), SeriesLabels(N, [WINDOW])]
    result = sweep([_series(r40=1.0), np.zeros(N)], labels, STANDARD)
    assert result.raw == pytest.approx(1.0 - 1.0)
    assert result.normalised == pytest.approx(50.0)


def test_window_timestamps_map_to_rows() -> None:
    times = np.arange("2014-04-01T00:00", "2014-04-01T01:40", np.timedelta64(5, "m"), dtype="datetime64[s]")
    rows = window_rows(times, [["2014-04-01 00:10:00.000000", "2014-04-01 00:20:00.000000"]])
    assert rows == [(2, 4)]
