"""The transfer-learning layout converters (van Kasteren 2010, Tapia) on tiny synthetic homes.

The real data stays outside the repository; these files only copy its layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.convert import CONVERTERS, convert_kasteren2010, convert_tapia

ACTIONS = "14,leave-house\r\n15,use-toilet\r\n18,go-to-bed\r\n"


def _write_kasteren_home(folder: Path) -> None:
    folder.mkdir()
    (folder / "sensorMapB-ids.txt").write_text(
        "7,frontdoor,Outside\r\n"
        "3,fridge,KitchStor\r\n"
        "16,PIR slaapkamer,Sleep\r\n"
        "6,toilet flush,Toilet\r\n"
        "9,cupboard plates,Kitchen\r\n"
        "12,press bed,Sleep",  # no newline at the end, as in the data
        encoding="utf-8",
    )
    (folder / "actionMapB.txt").write_text(ACTIONS, encoding="utf-8")
    (folder / "houseB-ss.txt").write_text(
        # before the first label: left out
        "05-Jan-2011 06:00:00\t05-Jan-2011 06:00:05\t3\t\r\n"
        "05-Jan-2011 09:00:10\t05-Jan-2011 09:00:20\t7\t\r\n"
        "05-Jan-2011 09:05:00\t05-Jan-2011 09:05:30\t3\t\r\n"
        "05-Jan-2011 09:06:00\t05-Jan-2011 09:08:00\t16\t\r\n"
        # an id the sensor map does not name: left out
        "05-Jan-2011 09:07:00\t05-Jan-2011 09:07:05\t22\t\r\n"
        "05-Jan-2011 21:00:00\t05-Jan-2011 21:00:04\t6\t\r\n"
        # after the last label: left out
        "06-Jan-2011 12:00:00\t06-Jan-2011 12:00:04\t9\t\r\n",
        encoding="utf-8",
    )
    (folder / "houseB-as.txt").write_text(
        # the data opens with an absence, as houses B and C do
        "05-Jan-2011 08:00:00\t05-Jan-2011 09:00:00\t14\n"
        "05-Jan-2011 20:59:00\t05-Jan-2011 21:01:00\t15\n"
        "05-Jan-2011 23:00:00\t06-Jan-2011 07:00:00\t18\n",
        encoding="utf-8",
    )


def _history(out: Path) -> list[str]:
    return (out / "history.csv").read_text(encoding="utf-8").splitlines()


def test_van_kasteren_sensors_are_in_the_rooms_of_their_location_class(tmp_path: Path) -> None:
    _write_kasteren_home(tmp_path / "houseB")
    spec = convert_kasteren2010(tmp_path / "houseB", tmp_path / "out")
    assert spec["timezone"] == "Europe/Amsterdam"
    assert spec["areas"] == {
        "hall": {"occupancy": ["binary_sensor.frontdoor"]},
        "kitchen": {"occupancy": ["binary_sensor.fridge"]},
        "bedroom": {"occupancy": ["binary_sensor.pir_slaapkamer"]},
        "toilet": {"occupancy": ["binary_sensor.toilet_flush"]},
    }
    assert spec["security"] == ["binary_sensor.frontdoor"]
    assert spec["presence"] == ["person.resident"]
    assert {"kasteren2010", "tapia"} <= set(CONVERTERS)


def test_history_keeps_to_the_labelled_span_and_opens_away_when_the_labels_do(tmp_path: Path) -> None:
    _write_kasteren_home(tmp_path / "houseB")
    convert_kasteren2010(tmp_path / "houseB", tmp_path / "out")
    lines = _history(tmp_path / "out")
    # Leaving starts at home: the first spell away begins with a departure.
    assert lines[1:5] == [
        "person.resident,home,2011-01-05T07:59:00+01:00",
        "person.resident,not_home,2011-01-05T08:00:00+01:00",
        "person.resident,home,2011-01-05T09:00:00+01:00",
        "binary_sensor.frontdoor,on,2011-01-05T09:00:10+01:00",
    ]
    assert sum(line.startswith("person.resident") for line in lines) == 3
    assert not any("06:00:0" in line or "2011-01-06T12" in line for line in lines)
    assert len(lines) == 1 + 3 + 2 * 4  # header, presence, four firings on and off


def test_tapia_rooms_come_from_the_sensor_names_in_new_york_time_without_presence(tmp_path: Path) -> None:
    home = tmp_path / "houseD"
    home.mkdir()
    (home / "sensorMapD-ids.txt").write_text(
        "92,Foyer-Door-houseD,Outside\n"
        "136,Kitchen-Refrigerator C-houseD,KitchStor\n"
        "137,Office/study-Light switch-houseD,Other\n"
        "138,Kitchen-Refrigerator C-houseD,KitchStor\n"
        "77,no location\n"
        "broken line\n",
        encoding="utf-8",
    )
    (home / "actionMapD.txt").write_text(ACTIONS + "171,Other\n", encoding="utf-8")
    (home / "houseD-ss.txt").write_text(
        "05-Apr-2003 07:00:00\t05-Apr-2003 07:00:03\t136\r\n"
        "06-Apr-2003 07:00:00\t06-Apr-2003 07:00:03\t138\r\n"
        "06-Apr-2003 08:00:00\t06-Apr-2003 08:00:03\t92\r\n"
        "06-Apr-2003 18:00:00\t06-Apr-2003 18:00:05\t137\r\n",
        encoding="utf-8",
    )
    (home / "houseD-as.txt").write_text(
        "05-Apr-2003 06:59:00\t05-Apr-2003 07:10:00\t19\n06-Apr-2003 07:55:00\t06-Apr-2003 08:01:00\t14\n"
        "06-Apr-2003 17:59:00\t06-Apr-2003 18:10:00\t171\n",
        encoding="utf-8",
    )
    spec = convert_tapia(home, tmp_path / "out")
    assert spec["timezone"] == "America/New_York"
    assert spec["areas"] == {
        "kitchen": {"occupancy": ["binary_sensor.refrigerator_c_kitchen", "binary_sensor.refrigerator_c_kitchen_138"]},
        "foyer": {"occupancy": ["binary_sensor.door_foyer"]},
        "office_study": {"occupancy": ["binary_sensor.light_switch_office_study"]},
    }
    assert spec["security"] == ["binary_sensor.door_foyer"]
    lines = _history(tmp_path / "out")
    # Daylight saving time began on 6 April 2003 at 2:00.
    assert "binary_sensor.refrigerator_c_kitchen,on,2003-04-05T07:00:00-05:00" in lines
    assert "binary_sensor.refrigerator_c_kitchen_138,on,2003-04-06T07:00:00-04:00" in lines
    # Getting ready to leave is labelled, not the time away: no presence entity.
    assert spec["presence"] == []
    assert not any(line.startswith("person.") for line in lines)
    # The labels still bound the history.
    assert len(lines) == 1 + 2 * 4


def test_a_home_without_labels_or_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        convert_kasteren2010(tmp_path, tmp_path / "out")
    _write_kasteren_home(tmp_path / "houseB")
    (tmp_path / "houseB" / "houseB-as.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no activity labels"):
        convert_kasteren2010(tmp_path / "houseB", tmp_path / "out")
