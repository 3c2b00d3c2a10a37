"""Live score: Brier and MAE skill per scope, and both stored forms."""

from __future__ import annotations

import json

import numpy as np
from numpy.typing import NDArray
import pytest

from custom_components.smartml.engine.live_score import SERIES, LiveScore

HOUR = 3600.0


def _hours(n: int) -> NDArray[np.float64]:
    return np.arange(n, dtype=np.float64) * HOUR


def test_first_forecast_of_a_period_is_kept_and_non_numbers_skipped() -> None:
    score = LiveScore()
    score.record("office", 0.0, 0.9, 0.5)
    score.record("office", 0.0, 0.1, 0.5)
    score.record("office", HOUR, float("nan"), 0.5)
    assert [row.as_list() for row in score.entries["office"]] == [[0.0, 0.9, 0.5, None]]


def test_mae_skill_of_one_series_against_the_naive_forecast() -> None:
    score = LiveScore(error="absolute")
    for h in range(30):
        score.record(SERIES, h * HOUR, 1.0, 1.5)
    outcomes = np.full(30, 1.2)
    outcomes[0] = np.nan  # not measured yet: stays open
    score.resolve(SERIES, _hours(30), outcomes)
    skill, scored = score.skill(SERIES)
    assert scored == 29 and skill == pytest.approx(1 - 0.2 / 0.3)


def test_perfect_reference_gives_brier_skill_zero_and_mae_skill_none() -> None:
    for error, expected in (("squared", 0.0), ("absolute", None)):
        score = LiveScore(error=error)  # type: ignore[arg-type]
        for h in range(24):
            score.record(SERIES, h * HOUR, 1.0, 1.0)
        score.resolve(SERIES, _hours(24), np.ones(24, dtype=bool))
        assert score.skill(SERIES) == (expected, 24)


def test_both_stored_forms_are_read() -> None:
    scopes = LiveScore()
    scopes.record("kitchen", 0.0, 0.8, 0.4)
    scopes.resolve("kitchen", np.array([0.0]), np.array([True]))
    stored = json.loads(json.dumps(scopes.as_dict()))
    assert stored == {"window_days": 7.0, "entries": {"kitchen": [[0.0, 0.8, 0.4, 1.0]]}}
    assert LiveScore.from_dict(stored).entries == scopes.entries

    series = LiveScore(error="absolute")
    series.record(SERIES, 0.0, 1.25, 1.5)
    stored_series = json.loads(json.dumps(series.series_dict()))
    assert stored_series == {"window_days": 7.0, "rows": [[0.0, 1.25, 1.5, None]]}
    again = LiveScore.from_dict(stored_series, error="absolute")
    assert again.entries == series.entries and again.error == "absolute"
    # Rows of the wrong shape are dropped; data that is not a score at all raises.
    assert LiveScore.from_dict({"rows": [[1.0, 2.0], "x"]}).entries == {SERIES: []}
    for broken in ("broken", {"entries": ["x"]}, {"window_days": None}, {"rows": [[None, 1.0, 1.0, None]]}):
        with pytest.raises((TypeError, ValueError)):
            LiveScore.from_dict(broken)


def test_prune_forgets_periods_older_than_the_window() -> None:
    score = LiveScore(window_days=1.0)
    score.record("home", 0.0, 0.5, 0.5)
    score.record("home", 30 * HOUR, 0.5, 0.5)
    score.prune(30 * HOUR)
    assert [row.start for row in score.entries["home"]] == [30 * HOUR]


def test_forget_drops_the_periods_excluded_afterwards_by_their_middle() -> None:
    score = LiveScore()
    for hour in range(4):
        score.record("home", hour * HOUR, 0.5, 0.5)
    score.record("kitchen", 2 * HOUR, 0.5, 0.5)
    # The span covers the middle of the hours starting at 1 and 2, not that of the hour at 0.
    score.forget([(0.75 * HOUR, 2.75 * HOUR)], HOUR)
    assert [row.start for row in score.entries["home"]] == [0.0, 3 * HOUR]
    assert score.entries["kitchen"] == []
    score.forget([], HOUR)
    assert len(score.entries["home"]) == 2
