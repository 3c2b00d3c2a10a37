"""History CSV import of hostile files: rejected or sanitised, never a crash, memory bounded."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
import tracemalloc

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.const import DOMAIN
from custom_components.smartml.engine import history_csv
from custom_components.smartml.engine.history_csv import HistoryCsvError, read_history_csv
from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.history import _read_csv
from tests.components.conftest import KITCHEN_MOTION, POWER, set_home_states, setup_entry

HEADER = "entity_id,state,last_changed,attributes\n"
WANTED = {KITCHEN_MOTION: "occupancy", POWER: "power"}


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _reason(path: Path, **kwargs: object) -> str:
    with pytest.raises(HistoryCsvError) as err:
        read_history_csv(path, WANTED, **kwargs)  # type: ignore[arg-type]
    return err.value.reason


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(history_csv.MAX_BYTES + 1)
    assert _reason(path) == "file_too_large"


def test_nul_bytes_in_fields_never_become_observations(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "x.csv",
        HEADER.encode()
        + b"binary_sensor.kitchen_motion,on\x00\x00,2024-01-01T00:00:00+00:00,\n"
        + b"sensor.house_power,4\x002,2024-01-01T00:00:00+00:00,\n",
    )
    # Python's csv accepts NUL inside fields; such states are simply not understood.
    result = read_history_csv(path, WANTED)
    store = ObservationStore()
    store.merge_states(result.rows, WANTED)
    assert store.total_points == 0
    assert store.skipped == {"unsupported": 1, "not_numeric": 1}


@pytest.mark.parametrize(
    "payload",
    [
        HEADER.encode() + "binary_sensor.kitchen_motion,ön,2024-01-01T00:00:00+00:00\n".encode("latin-1"),
        HEADER.encode("utf-16"),
        os.urandom(4096),
    ],
    ids=["latin1", "utf16", "random"],
)
def test_wrong_encoding_is_refused_with_a_reason(tmp_path: Path, payload: bytes) -> None:
    path = _write(tmp_path / "x.csv", payload)
    assert _reason(path) in {"bad_encoding", "bad_header", "not_csv"}


def test_field_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    long_state = "x" * (history_csv.MAX_FIELD + 10)
    path = _write(tmp_path / "x.csv", HEADER + f"{KITCHEN_MOTION},{long_state},2024-01-01T00:00:00+00:00,\n")
    assert _reason(path) == "not_csv"


def test_reading_leaves_the_process_wide_csv_field_limit_alone(tmp_path: Path) -> None:
    """Other integrations in the same Home Assistant share the csv module's limit."""
    path = _write(tmp_path / "x.csv", HEADER + f"{KITCHEN_MOTION},on,2024-01-01T00:00:00+00:00,\n")
    before = csv.field_size_limit()
    read_history_csv(path, WANTED)
    assert csv.field_size_limit() == before


def test_very_long_line_of_many_fields_is_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    many_fields = ",".join(["x"] * 200_000)
    path = _write(tmp_path / "x.csv", HEADER + many_fields + "\n" + f"{POWER},5,2024-01-01T00:00:00+00:00,\n")
    result = read_history_csv(path, WANTED)
    assert [row[0] for row in result.rows] == [POWER]
    assert result.ignored_rows + result.bad_rows == 1


def test_attributes_nested_past_the_parser_s_depth_are_a_bad_row(tmp_path: Path) -> None:
    nested = "[" * 30_000 + "]" * 30_000
    path = _write(
        tmp_path / "x.csv",
        HEADER + f'{POWER},4,2024-01-01T00:00:00+00:00,"{nested}"\n' + f"{POWER},5,2024-01-01T00:05:00+00:00,\n",
    )
    result = read_history_csv(path, WANTED)
    assert result.bad_rows == 1
    assert [row[1] for row in result.rows] == ["5"]


def test_formula_like_strings_never_become_observations(tmp_path: Path) -> None:
    rows = [
        f"{POWER},=1+1,2024-01-01T00:00:00+00:00,",
        f'{POWER},"=HYPERLINK(""http://x"",""y"")",2024-01-01T00:05:00+00:00,',
        f"{POWER},+42,2024-01-01T00:10:00+00:00,",  # a plain signed number is fine
        f"{POWER},@SUM(A1),2024-01-01T00:15:00+00:00,",
        f"{KITCHEN_MOTION},-cmd|' /C calc'!A0,2024-01-01T00:20:00+00:00,",
        "=cmd|' /C calc'!A0,on,2024-01-01T00:25:00+00:00,",
        f'{POWER},7,2024-01-01T00:30:00+00:00,"{{""unit_of_measurement"": ""=W""}}"',
    ]
    path = _write(tmp_path / "x.csv", HEADER + "\n".join(rows) + "\n")
    result = read_history_csv(path, WANTED)
    store = ObservationStore()
    store.merge_states(result.rows, WANTED)
    power = store.channels[POWER]
    power.flush()
    assert list(power.values) == [42.0]
    assert KITCHEN_MOTION not in store.channels
    assert all(math.isfinite(v) for buf in store.channels.values() for v in buf.values)


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening a pipe with no writer would block the worker forever
    assert _reason(fifo) == "file_not_found"
    assert _reason(tmp_path) == "file_not_found"  # a directory


def test_memory_stays_proportional_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = [HEADER]
    lines += [f"{POWER},{i % 500},2024-01-01T00:{i % 60:02d}:{i % 60:02d}+00:00,\n" for i in range(100_000)]
    path.write_text("".join(lines), encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        result = read_history_csv(path, WANTED)
        store = ObservationStore()
        store.merge_states(result.rows, WANTED)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Bounded by a small multiple of the file (which is itself bounded by MAX_BYTES).
    assert peak < 12 * size, (peak, size)


def test_an_import_holds_its_rows_once(tmp_path: Path) -> None:
    """The service's read streams rows into the merge: at the size cap, a few hundred MB."""
    path = tmp_path / "big.csv"
    lines = ["entity_id,state,last_changed\n"]
    lines += [
        f"{POWER},{i % 500},2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00\n"
        for i in range(200_000)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        _pending, result = _read_csv(str(path), ObservationStore(), WANTED, "UTC", "°C", {POWER: "kW"})
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rows == 200_000 and result.entities == 1
    assert peak < 4 * size, (peak, size)


# --- through the service ----------------------------------------------------------------


@pytest.fixture
def allowed(hass: HomeAssistant, tmp_path: Path) -> Path:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    hass.config.allowlist_external_dirs = {str(allowed)}
    return allowed


async def _import(hass: HomeAssistant, path: str) -> dict:
    return await hass.services.async_call(DOMAIN, "import_history", {"path": path}, blocking=True, return_response=True)


@pytest.mark.parametrize("where", ["outside", "traversal", "symlink", "relative", "etc"])
async def test_paths_outside_allowed_dirs_are_refused(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed: Path, tmp_path: Path, where: str
) -> None:
    secret = _write(tmp_path / "secret.csv", HEADER + f"{POWER},5,2024-01-01T00:00:00+00:00,\n")
    if where == "outside":
        path = str(secret)
    elif where == "traversal":
        path = str(allowed / ".." / "secret.csv")
    elif where == "symlink":
        (allowed / "link.csv").symlink_to(secret)
        path = str(allowed / "link.csv")
    elif where == "relative":
        path = "secret.csv"
    else:
        path = "/etc/passwd"
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    points = mock_entry.runtime_data.coordinator.state.observations.total_points
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, path)
    assert err.value.translation_key == "path_not_allowed"
    assert mock_entry.runtime_data.coordinator.state.observations.total_points == points


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (b"\x00\x01\x02" * 1000, "csv_bad_header"),
        (HEADER.encode() + "x,é,y\n".encode("latin-1"), "csv_bad_encoding"),
        (b"name,value\nfoo,1\n", "csv_bad_header"),
        (HEADER.encode() + b"x," + b"y" * 200_000 + b",z\n", "csv_not_csv"),
    ],
    ids=["binary", "latin1", "other_csv", "long_field"],
)
async def test_hostile_file_through_the_service_changes_nothing(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed: Path, content: bytes, key: str
) -> None:
    path = _write(allowed / "x.csv", content)
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    before = mock_entry.runtime_data.coordinator.state.observations.as_dict()
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, str(path))
    assert err.value.translation_key == key
    assert mock_entry.runtime_data.coordinator.state.observations.as_dict() == before


async def test_allowed_path_check_does_not_block_the_event_loop(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check touches the disk (exists, resolve), so it must run in the executor."""
    import threading

    loop_thread = threading.get_ident()
    checked_in: list[int] = []
    real = hass.config.is_allowed_path

    def spy(path: str) -> bool:
        checked_in.append(threading.get_ident())
        return real(path)

    monkeypatch.setattr(hass.config, "is_allowed_path", spy)
    path = _write(allowed / "ok.csv", HEADER + f"{POWER},5,2024-01-01T00:00:00+00:00,\n")
    await setup_entry(hass, mock_entry)
    await _import(hass, str(path))
    assert checked_in and loop_thread not in checked_in
