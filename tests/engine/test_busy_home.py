"""The synthetic busy home used to check the models on sensors that fire all day."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.busy_home import DOOR, busy_home, main


def test_a_busy_day_has_a_change_every_few_seconds_while_someone_is_up(tmp_path: Path) -> None:
    events = busy_home(days=3, every_seconds=15.0)
    motion = [at for at, entity_id, state in events if entity_id.endswith("_motion") and state == "on"]
    assert len(motion) > 3 * 12 * 3600 / 15 / 3  # at least a third of a 12-hour day at that pace
    assert events == sorted(events, key=lambda event: (event[0], event[1]))
    assert main(["--days", "3", "--every", "15", "--out", str(tmp_path)]) == 0
    spec = json.loads((tmp_path / "home.json").read_text(encoding="utf-8"))
    assert spec["security"] == [DOOR]
    assert len(spec["areas"]) == 6
    assert (tmp_path / "history.csv").read_text(encoding="utf-8").count("\n") == len(events) + 1
