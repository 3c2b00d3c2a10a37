"""The van Kasteren converter on a tiny synthetic file in its layout (the real data stays outside)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evaluation.convert import CONVERTERS, convert_kasteren

HEADER = (
    "Start time: when\r\nID: sensor id\r\n\r\n    [12]    'Frontdoor'\r\n\r\n"
    "Start time\tEnd time\tID\tVal\r\n--\t--\t--\t---\r\n"
)


def _write_sources(folder: Path) -> None:
    (folder / "kasterenSenseData.txt").write_text(
        HEADER
        + "03-Jan-2011 08:00:00\t03-Jan-2011 08:00:05\t8\t1\r\n"
        + "03-Jan-2011 08:10:00\t03-Jan-2011 08:10:20\t12\t1\r\n"
        + "03-Jan-2011 18:00:00\t03-Jan-2011 18:00:10\t12\t1\r\n"
        + "03-Jan-2011 18:05:00\t03-Jan-2011 18:05:02\t14\t1\r\n"
        + "03-Jan-2011 18:06:00\t03-Jan-2011 18:06:30\t99\t1\r\n",
        encoding="utf-8",
    )
    (folder / "kasterenActData.txt").write_text(
        "activity id list:\r\n1: 'leave house'\r\n4: 'use toilet'\r\n\r\nStart time\tEnd time\tID\r\n--\t--\t--\r\n"
        "03-Jan-2011 08:10:30\t03-Jan-2011 17:59:50\t1\r\n"
        "03-Jan-2011 18:04:50\t03-Jan-2011 18:05:10\t4\r\n",
        encoding="utf-8",
    )


def test_contacts_become_binary_sensors_in_areas_and_the_front_door_is_watched(tmp_path: Path) -> None:
    _write_sources(tmp_path)
    spec = convert_kasteren(tmp_path, tmp_path / "out")
    assert spec["timezone"] == "Europe/Amsterdam"
    assert spec["areas"] == {
        "kitchen": {"occupancy": ["binary_sensor.fridge"]},
        "hall": {"occupancy": ["binary_sensor.front_door"]},
        "toilet": {"occupancy": ["binary_sensor.toilet_flush"]},
    }
    assert spec["security"] == ["binary_sensor.front_door"]
    assert spec["presence"] == ["person.resident"]
    assert "kasteren" in CONVERTERS


def test_firings_are_on_then_off_and_leave_house_is_nobody_home(tmp_path: Path) -> None:
    _write_sources(tmp_path)
    convert_kasteren(tmp_path, tmp_path / "out")
    lines = (tmp_path / "out" / "history.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "entity_id,state,last_changed"
    assert lines[1:4] == [
        "binary_sensor.fridge,on,2011-01-03T08:00:00+01:00",
        "person.resident,home,2011-01-03T08:00:00+01:00",
        "binary_sensor.fridge,off,2011-01-03T08:00:05+01:00",
    ]
    assert "person.resident,not_home,2011-01-03T08:10:30+01:00" in lines
    assert "person.resident,home,2011-01-03T17:59:50+01:00" in lines
    # Only `leave house` changes presence; the unknown sensor id is left out.
    assert sum(line.startswith("person.resident") for line in lines) == 3
    assert not any("99" in line.split(",")[0] for line in lines[1:])
    stamps = [datetime.fromisoformat(line.split(",")[2]).astimezone(UTC) for line in lines[1:]]
    assert stamps == sorted(stamps)
    assert stamps[0].hour == 7
