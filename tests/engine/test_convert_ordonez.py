"""The Ordóñez converter on tiny synthetic files in the layouts its published copies come in."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.convert import convert_ordonez

# Copies of the data set differ: some keep a dashed line under the header, some do not.
TWO_LINE_HEADER = (
    "Start time          \tEnd time            \tLocation\tType\t\tPlace\n--------\t--------\t----\t----\t----\n"
)
ONE_LINE_HEADER = "Start time          \tEnd time            \tLocation\tType\t\tPlace\n"
SENSORS = (
    "2012-01-02 07:00:00\t\t2012-01-02 07:00:04\t\tDoor\t\tPIR\t\t\tBedroom\n"
    "\n"
    "2012-01-02 08:00:00\t\t2012-01-02 08:00:06\t\tMaindoor\tMagnetic\tEntrance\n"
    "2012-01-02 08:0\tbroken line\n"
    "2012-01-02 17:00:00\t\t2012-01-02 17:00:05\t\tMaindoor\tMagnetic\tEntrance\n"
)
ACTIVITIES = (
    "2012-01-02 08:00:10\t\t2012-01-02 16:59:50\t\tLeaving\n2012-01-02 07:00:05\t2012-01-02 07:10:00\tToileting\n"
)


def _write_home(folder: Path, home: str, header: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"Ordonez{home}_Sensors.txt").write_text(header + SENSORS, encoding="utf-8")
    (folder / f"Ordonez{home}_ADLs.txt").write_text(
        header.replace("Location\tType\t\tPlace", "Activity") + ACTIVITIES, encoding="utf-8"
    )
    return folder / f"Ordonez{home}_Sensors.txt"


@pytest.mark.parametrize("header", [TWO_LINE_HEADER, ONE_LINE_HEADER])
def test_every_firing_is_kept_whatever_the_header_and_broken_lines_are_left_out(tmp_path: Path, header: str) -> None:
    _write_home(tmp_path, "B", header)
    spec = convert_ordonez(tmp_path, tmp_path / "out")
    assert spec["areas"] == {
        "bedroom": {"occupancy": ["binary_sensor.bedroom_door_pir"]},
        "entrance": {"occupancy": ["binary_sensor.entrance_maindoor_magnetic"]},
    }
    assert spec["security"] == ["binary_sensor.entrance_maindoor_magnetic"]
    lines = (tmp_path / "out" / "history.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1] == "binary_sensor.bedroom_door_pir,on,2012-01-02T07:00:00+01:00"
    assert sum(line.startswith("binary_sensor.") for line in lines) == 6
    assert "person.resident,not_home,2012-01-02T08:00:10+01:00" in lines
    assert "person.resident,home,2012-01-02T16:59:50+01:00" in lines


def test_a_home_is_chosen_by_its_sensor_file_when_a_folder_holds_several(tmp_path: Path) -> None:
    _write_home(tmp_path, "A", TWO_LINE_HEADER)
    (tmp_path / "OrdonezA_Sensors.txt").write_text(
        TWO_LINE_HEADER + "2011-11-28 10:21:24\t2011-11-28 10:21:31\t\tCabinet\t\tMagnetic\tBathroom\n",
        encoding="utf-8",
    )
    chosen = _write_home(tmp_path, "B", ONE_LINE_HEADER)
    assert convert_ordonez(tmp_path, tmp_path / "a")["areas"] == {
        "bathroom": {"occupancy": ["binary_sensor.bathroom_cabinet_magnetic"]}
    }
    assert "entrance" in convert_ordonez(chosen, tmp_path / "b")["areas"]


def test_a_folder_without_a_home_says_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Ordonez<home>_Sensors\.txt"):
        convert_ordonez(tmp_path, tmp_path / "out")
