"""The replays of scripts/evaluate run the shipped code path (HomeModels) on a real home.

The fixture is two weeks of Ordóñez home A (tests/fixtures/SOURCE.md); the figures themselves
are checked against the published runs by `python -m evaluation.golden`, these tests check
that each home-replay task runs end to end through the façade and keeps its JSON shape.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from evaluation import __main__ as evaluate
from evaluation.routine import due_after

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HISTORY = str(FIXTURES / "ordonez_a_history.csv")
HOME = str(FIXTURES / "ordonez_a_home.json")


def _evaluate(*argv: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        evaluate.main(list(argv))
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_occupancy_replay_beats_the_overall_rate_at_every_horizon() -> None:
    result = _evaluate("--task", "occupancy", "--history", HISTORY, "--home", HOME, "--first-test-day", "3")
    assert result["task"] == "occupancy"
    for horizon in ("15min", "1h", "4h", "24h"):
        scores = result["results"][horizon]
        assert scores["smartml"]["brier"] < scores["overall_rate"]["brier"], horizon
    # The next use of each area, scored against the time-of-week baseline on the same origins.
    next_occupied = result["results"]["next_occupied"]
    assert next_occupied["smartml"]["count"] == next_occupied["time_of_week"]["count"] > 0
    assert set(result["info"]["next_occupied"]) == set(result["info"]["occupied_share"]) - {"home"}


def test_security_replay_reports_detections_and_false_alarms() -> None:
    result = _evaluate(
        "--task",
        "security",
        "--history",
        HISTORY,
        "--home",
        HOME,
        "--inject",
        "6",
        "--seed",
        "7",
        "--first-test-day",
        "4",
    )
    scores = result["results"]["all"]["smartml"]
    assert 0.0 <= scores["detection_rate"] <= 1.0
    assert scores["false_alarms_per_week"] >= 0.0
    assert result["info"]["test_days"] > 0


def test_routine_replay_detects_quiet_spells_and_writes_its_alerts(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    argv = ["--task", "routine", "--history", HISTORY, "--home", HOME, "--inject", "8", "--seed", "0"]
    result = _evaluate(*argv, "--sensitivity", "high", "--alerts-out", str(alerts))
    assert result["task"] == "routine"
    smartml, rule = result["results"]["all"]["smartml"], result["results"]["all"]["rule_silence"]
    assert smartml["injections"] == rule["injections"] == 8
    # The learned routine finds far more quiet spells than the 12-hour rule.
    assert smartml["detection_rate"] > rule["detection_rate"]
    lines = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert len(lines) == result["info"]["false_alarms"]["smartml"]
    for line in lines:
        assert line["kind"] == "routine_missing" and line["explanation"].startswith("No activity in the home since")
    # Each spell is timed from its start and from when activity was due, never before it.
    spells = result["info"]["spells"]
    assert len(spells) == 8
    for spell in spells:
        if spell["minutes_to_detect"] is not None:
            assert 0.0 <= spell["minutes_after_due"] <= spell["minutes_to_detect"]


def test_activity_is_due_after_the_usual_wait_on_the_earlier_days_at_home() -> None:
    tz = ZoneInfo("Europe/Amsterdam")
    start = datetime(2024, 4, 10, 8, 0, tzinfo=tz).timestamp()

    def earlier(days: int, minutes: float) -> float:
        return (datetime(2024, 4, 10, 8, 0, tzinfo=tz) - timedelta(days=days, minutes=-minutes)).timestamp()

    # The next sign of life came 10, 30 and 50 minutes after 08:00 on three earlier days.
    signs = [earlier(3, 10), earlier(2, 30), earlier(1, 50)]
    home, since = [(0.0, start + 86_400.0)], earlier(3, 0)
    assert due_after(start, signs, home, since, tz) == start + 30 * 60.0
    # Only days with someone home from 08:00 until that sign count; none at all: due at once.
    assert due_after(start, signs, [(earlier(2, -1), earlier(1, 40))], since, tz) == start + 30 * 60.0
    assert due_after(start, signs, [], since, tz) == start


@pytest.mark.parametrize("mode", ["simulated", "replayed"])
def test_climate_replay_scores_setpoints_against_the_baselines(mode: str, tmp_path: Path) -> None:
    simulated = _evaluate(
        "--task",
        "climate",
        "--seed",
        "0",
        "--ordonez-history",
        HISTORY,
        "--ordonez-home",
        HOME,
        "--write-history",
        str(tmp_path),
    )
    result = simulated
    if mode == "replayed":
        result = _evaluate(
            "--task", "climate", "--history", str(tmp_path / "history.csv"), "--home", str(tmp_path / "home.json")
        )
    assert result["task"] == "climate"
    assert result["results"]
