"""History bootstrap from the real recorder, and history CSV import."""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import DOMAIN, ISSUE_RECORDER_EXCLUDES, ISSUE_RECORDER_KEEP_DAYS

from .conftest import (
    ENERGY,
    FRONT_DOOR,
    HALL_MOTION,
    KITCHEN_MOTION,
    PERSON,
    POWER,
    THERMOSTAT,
    force_history_api,
    home_options,
    set_home_states,
    setup_entry,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


async def _record_past_week(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Write a week of kitchen use into the recorder, one visit each morning."""
    now = dt_util.utcnow()
    freezer.move_to(now - timedelta(days=7))
    set_home_states(hass)
    for day in range(7):
        freezer.move_to(now - timedelta(days=7 - day, hours=-1))
        hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        freezer.tick(timedelta(minutes=10))
        hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
        hass.states.async_set(POWER, str(300 + day), {"unit_of_measurement": "W"})
        hass.states.async_set(POWER, "unavailable")
    freezer.move_to(now)
    await async_wait_recording_done(hass)


async def test_bootstrap_reads_recorder_history(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _record_past_week(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    kitchen = coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(kitchen.values) == [0.0, 1.0] * 7 + [0.0]
    assert coordinator.state.observations.skipped["unavailable"] >= 7
    assert coordinator.data.days_covered >= 6.9
    assert set(coordinator.state.bootstrapped) == set(coordinator.roles)


async def test_bootstrap_is_not_repeated_on_restart(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _record_past_week(hass, freezer)
    await setup_entry(hass, mock_entry)
    await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert len(kitchen.times) == 15


async def test_recorder_limits_raise_repair_issues(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    recorder_mock.entity_filter = lambda entity_id: entity_id != KITCHEN_MOTION
    recorder_mock.keep_days = 10
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    issues = ir.async_get(hass)
    excluded = issues.async_get_issue(DOMAIN, f"{ISSUE_RECORDER_EXCLUDES}_{mock_entry.entry_id}")
    assert excluded is not None
    assert excluded.translation_placeholders == {"entities": KITCHEN_MOTION}
    assert issues.async_get_issue(DOMAIN, f"{ISSUE_RECORDER_KEEP_DAYS}_{mock_entry.entry_id}") is not None

    recorder_mock.entity_filter = None
    recorder_mock.keep_days = 30
    await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, f"{ISSUE_RECORDER_EXCLUDES}_{mock_entry.entry_id}") is None
    assert issues.async_get_issue(DOMAIN, f"{ISSUE_RECORDER_KEEP_DAYS}_{mock_entry.entry_id}") is None


async def test_the_recorder_keeping_fewer_days_matters_only_until_smartml_holds_them(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """SmartML keeps its own observations: once they span the days asked for, the recorder's horizon is moot."""
    recorder_mock.keep_days = 10
    key = f"{DOMAIN}.{mock_entry.entry_id}.observations"
    now = dt_util.utcnow().timestamp()
    first = now - 27.5 * 86400
    hass_storage[key] = {
        "version": 1,
        "minor_version": 5,
        "key": key,
        "data": {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "state", "t": [first], "v": [0.0]}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            },
            "bootstrapped": dict.fromkeys(
                [KITCHEN_MOTION, HALL_MOTION, FRONT_DOOR, PERSON, POWER, ENERGY, THERMOSTAT], first
            ),
            "saved_at": now,
        },
    }
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    issues = ir.async_get(hass)
    issue_id = f"{ISSUE_RECORDER_KEEP_DAYS}_{mock_entry.entry_id}"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"keep_days": "10", "history_days": "28", "held_days": "27"}

    # A day later SmartML holds the 28 days itself: the next fit clears the repair.
    freezer.tick(timedelta(days=1))
    await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None


@pytest.fixture
def allowed_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    for name in ("history_good.csv", "history_partly_bad.csv", "history_bad_header.csv", "history_no_units.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


async def _import(hass: HomeAssistant, path: Path | str) -> dict:
    return await hass.services.async_call(
        DOMAIN, "import_history", {"path": str(path)}, blocking=True, return_response=True
    )


async def test_import_good_csv(hass: HomeAssistant, mock_entry: MockConfigEntry, allowed_dir: Path) -> None:
    await setup_entry(hass, mock_entry)
    response = await _import(hass, allowed_dir / "history_good.csv")
    assert response == {"added": 12, "rows": 9, "bad_rows": 0, "ignored_rows": 1, "future_rows": 0, "entities": 4}
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[KITCHEN_MOTION].values) == [1.0, 0.0, 1.0, 0.0]
    assert list(observations.channels[PERSON].values) == [0.0, 1.0]
    assert list(observations.channels[POWER].values) == [450.0, 380.0]
    assert list(observations.channels[f"{THERMOSTAT}|temperature"].values) == [21.0]
    # A second import of the same file adds nothing.
    again = await _import(hass, allowed_dir / "history_good.csv")
    assert again["added"] == 0
    assert len(observations.channels[KITCHEN_MOTION].times) == 4


async def test_an_export_without_units_is_read_in_each_entity_s_unit(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed_dir: Path
) -> None:
    await setup_entry(hass, mock_entry)
    # The house sensor reports in kW now, as its export's rows are (Home Assistant's export has no units).
    hass.states.async_set(POWER, "0.35", {"unit_of_measurement": "kW", "device_class": "power"})
    await _import(hass, allowed_dir / "history_no_units.csv")
    channel = mock_entry.runtime_data.coordinator.state.observations.channels[POWER]
    assert list(channel.values)[:2] == [450.0, 380.0]  # the export's rows, before today's readings


async def test_import_partly_bad_csv_counts_bad_rows(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed_dir: Path
) -> None:
    await setup_entry(hass, mock_entry)
    response = await _import(hass, allowed_dir / "history_partly_bad.csv")
    assert response["bad_rows"] == 3
    assert response["rows"] == 5
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[KITCHEN_MOTION].values) == [1.0, 0.0]
    assert POWER not in observations.channels
    assert observations.skipped["not_numeric"] == 2
    assert observations.skipped["unavailable"] == 1


async def test_an_imported_row_dated_ahead_is_not_kept_and_live_states_still_count(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed_dir: Path
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    # Naive UTC times read as local (the test home is US/Pacific): the row lies hours ahead of now.
    ahead = (dt_util.utcnow() + timedelta(hours=3)).replace(tzinfo=None).isoformat()
    path = allowed_dir / "ahead.csv"
    path.write_text(f"entity_id,state,last_changed\n{KITCHEN_MOTION},on,{ahead}\n", encoding="utf-8")
    response = await _import(hass, path)
    assert (response["rows"], response["future_rows"]) == (0, 1)

    heard: list[Any] = []
    coordinator = mock_entry.runtime_data.coordinator
    coordinator.collector.add_listener(lambda *args: heard.append(args))
    for state in ("on", "off"):
        hass.states.async_set(KITCHEN_MOTION, state, {"device_class": "motion"})
        await hass.async_block_till_done()
    channel = coordinator.state.observations.channels[KITCHEN_MOTION]
    assert heard  # the live states reach the models (and the anomaly checks)
    assert max(channel.times) <= dt_util.utcnow().timestamp()


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("missing.csv", "csv_file_not_found"),
        ("history_bad_header.csv", "csv_bad_header"),
    ],
)
async def test_import_bad_file_raises_translated_error(
    hass: HomeAssistant, mock_entry: MockConfigEntry, allowed_dir: Path, name: str, key: str
) -> None:
    await setup_entry(hass, mock_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, allowed_dir / name)
    assert err.value.translation_key == key
    assert err.value.translation_domain == DOMAIN


async def test_import_disallowed_path_is_refused(
    hass: HomeAssistant, mock_entry: MockConfigEntry, tmp_path: Path
) -> None:
    await setup_entry(hass, mock_entry)
    shutil.copy(FIXTURES / "history_good.csv", tmp_path / "history.csv")
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, tmp_path / "history.csv")
    assert err.value.translation_key == "path_not_allowed"
    assert KITCHEN_MOTION not in mock_entry.runtime_data.coordinator.state.observations.channels


async def test_service_without_loaded_entry_raises(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    await setup_entry(hass, mock_entry)
    await hass.config_entries.async_unload(mock_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
    assert err.value.translation_key == "entry_not_loaded"


async def test_energy_history_comes_from_long_term_statistics(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    from homeassistant.components.recorder.models import StatisticMeanType
    from homeassistant.components.recorder.statistics import async_import_statistics

    start = dt_util.start_of_local_day(dt_util.utcnow() - timedelta(days=3)).astimezone(dt_util.UTC)
    # A meter in Wh: SmartML takes the recorder's hourly change of its sum, in kWh.
    hourly_wh = [400.0 + 100 * (hour % 3) for hour in range(48)]
    total, rows = 0.0, []
    for hour, wh in enumerate(hourly_wh):
        total += wh
        rows.append({"start": start + timedelta(hours=hour), "state": total, "sum": total})
    async_import_statistics(
        hass,
        {
            "mean_type": StatisticMeanType.NONE,
            "has_sum": True,
            "name": None,
            "source": "recorder",
            "statistic_id": ENERGY,
            "unit_class": "energy",
            "unit_of_measurement": "Wh",
        },
        rows,
    )
    await async_wait_recording_done(hass)
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hours, kwh = mock_entry.runtime_data.coordinator.fitter.hourly_energy
    assert hours[0] == start.timestamp()
    assert kwh == pytest.approx([wh / 1000 for wh in hourly_wh])


async def test_a_watched_meter_gives_its_hourly_power_from_long_term_statistics(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    from homeassistant.components.recorder.models import StatisticMeanType
    from homeassistant.components.recorder.statistics import async_import_statistics

    kettle, plug = "sensor.kettle_energy", "sensor.plug_power"
    start = dt_util.start_of_local_day(dt_util.utcnow() - timedelta(days=3)).astimezone(dt_util.UTC)
    # A device's meter in Wh: the hourly change of its sum is its mean power over the hour.
    hourly_wh = [5.0 if hour % 24 != 7 else 1500.0 for hour in range(48)]
    total, rows = 0.0, []
    for hour, wh in enumerate(hourly_wh):
        total += wh
        rows.append({"start": start + timedelta(hours=hour), "state": total, "sum": total})
    metadata: Any = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": None,
        "source": "recorder",
        "statistic_id": kettle,
        "unit_class": "energy",
        "unit_of_measurement": "Wh",
    }
    async_import_statistics(hass, metadata, rows)
    await async_wait_recording_done(hass)
    set_home_states(hass)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(devices=[kettle, plug]))
    await setup_entry(hass, entry)
    device_hourly = entry.runtime_data.coordinator.fitter.device_hourly
    # The plug has no statistics: it learns from its observations alone.
    assert set(device_hourly) == {kettle}
    hours, watts = device_hourly[kettle]
    assert hours[0] == start.timestamp()
    assert watts == pytest.approx(hourly_wh)


async def test_a_failing_statistics_read_leaves_the_models_to_their_observations(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sqlalchemy.exc import OperationalError

    from custom_components.smartml import history

    def broken(*_args: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(history, "_read_hourly_watts", broken)
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    fitter = mock_entry.runtime_data.coordinator.fitter
    assert fitter.last_update_success
    assert fitter.hourly_energy is None and fitter.device_hourly == {}
    assert "could not read the recorder's long-term statistics, learning from states" in caplog.text


@pytest.mark.parametrize("persistent_database", [True])
async def test_bootstrap_leaves_no_page_cache_behind(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The bulk read's pages are freed from the recorder's read connection afterwards."""
    import ctypes

    sqlite = ctypes.CDLL("libsqlite3.so.0")  # the library Python's sqlite3 module uses here
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    now = dt_util.utcnow()
    set_home_states(hass)
    for reading in range(1500):
        freezer.move_to(now - timedelta(days=6, minutes=-5 * reading))
        # Distinct attributes make a database of a few megabytes for the read to go through.
        hass.states.async_set(POWER, str(reading), {"unit_of_measurement": "W", "note": f"{reading:04d}" * 500})
    freezer.move_to(now)
    await async_wait_recording_done(hass)
    before = sqlite.sqlite3_memory_used()
    await setup_entry(hass, mock_entry)
    # The readings and the state set_home_states gave at `now`.
    assert len(mock_entry.runtime_data.coordinator.state.observations.channels[POWER].times) == 1501
    # Without the release the read connection keeps about 4 MB of pages here.
    assert sqlite.sqlite3_memory_used() - before < 1_000_000


async def test_bootstrap_keeps_history_when_freeing_the_cache_fails(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import text

    from custom_components.smartml import history

    await _record_past_week(hass, freezer)
    monkeypatch.setattr(history, "text", lambda _sql: text("PRAGMA shrink_memory("))  # a statement SQLite rejects
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    assert list(coordinator.state.observations.channels[KITCHEN_MOTION].values) == [0.0, 1.0] * 7 + [0.0]
    assert set(coordinator.state.bootstrapped) == set(coordinator.roles)


async def _read_small_home(hass: HomeAssistant, recorder: Recorder) -> dict[str, Any]:
    """The small home's last 28 days of recorder history, as the bootstrap reads it."""
    from custom_components.smartml import history
    from custom_components.smartml.engine.observations import ObservationStore, entity_roles

    roles = entity_roles(home_options())
    end = dt_util.utcnow()
    store = ObservationStore()
    pending, rows = await recorder.async_add_executor_job(
        history._read_recorder, hass, store, roles, sorted(roles), end - timedelta(days=28), end
    )
    store.commit_merge(pending)
    return {
        "rows": rows,
        "skipped": dict(store.skipped),
        "channels": {name: (list(buf.times), list(buf.values)) for name, buf in sorted(store.channels.items())},
    }


async def test_states_table_read_matches_the_history_api(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct read gives exactly what Home Assistant's history API gives, bad rows included."""
    from custom_components.smartml import history

    monkeypatch.setattr(history, "RECORDER_ROWS_PER_READ", 7)  # many batches per entity
    now = dt_util.utcnow()
    freezer.move_to(now - timedelta(days=21))
    set_home_states(hass)
    for step in range(300):
        freezer.move_to(now - timedelta(days=20, minutes=-17 * step))
        hass.states.async_set(KITCHEN_MOTION, "on" if step % 2 else "off", {"device_class": "motion"})
        unit = "kW" if step % 50 > 40 else "W"  # a unit change and back
        value = {7: "unavailable", 8: "unknown", 9: "garbage", 10: "nan"}.get(step % 60, str(step * 3.5))
        hass.states.async_set(POWER, value, {"unit_of_measurement": unit})
        hass.states.async_set(ENERGY, str(1000 + step * 0.25), {"unit_of_measurement": "kWh"})
        hass.states.async_set(THERMOSTAT, "heat", {"current_temperature": 18.0 + step % 5, "temperature": 20.5})
        hass.states.async_set(FRONT_DOOR, "on" if step % 30 == 0 else "off", {"device_class": "door"})
    freezer.move_to(now)
    await async_wait_recording_done(hass)
    table = await _read_small_home(hass, recorder_mock)
    force_history_api(monkeypatch)
    api = await _read_small_home(hass, recorder_mock)
    assert table == api
    assert table["rows"] > 1000
    assert len(table["channels"][POWER][0]) > 200
    assert table["skipped"]["unavailable"] >= 5


async def test_an_unknown_recorder_schema_reads_through_the_history_api(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Home Assistant whose recorder schema the direct read was not tested on: the public API, said once."""
    from custom_components.smartml import history

    now = dt_util.utcnow()
    freezer.move_to(now - timedelta(days=2))
    set_home_states(hass)
    for step in range(40):
        freezer.move_to(now - timedelta(days=2, minutes=-30 * step))
        hass.states.async_set(KITCHEN_MOTION, "on" if step % 2 else "off", {"device_class": "motion"})
    freezer.move_to(now)
    await async_wait_recording_done(hass)
    table = await _read_small_home(hass, recorder_mock)

    def never(*_args: Any) -> int:
        raise AssertionError("the states table must not be read on an unknown schema")

    monkeypatch.setattr(history, "_read_states_table", never)
    monkeypatch.setattr(history, "_UNKNOWN_SCHEMAS_LOGGED", set())
    monkeypatch.setattr(recorder_mock, "schema_version", max(history.TESTED_SCHEMA_VERSIONS) + 1)
    api = await _read_small_home(hass, recorder_mock)
    await _read_small_home(hass, recorder_mock)
    assert api == table
    said = [r for r in caplog.records if "history API" in r.getMessage() and "schema" in r.getMessage()]
    assert len(said) == 1


async def test_any_failure_of_the_direct_read_falls_back_to_the_history_api(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A recorder whose internals changed in a way the direct read does not expect (a new signature)."""
    from custom_components.smartml import history

    await _record_past_week(hass, freezer)

    def changed_signature(*_args: Any) -> int:
        raise TypeError("get_many() takes 3 positional arguments but 4 were given")

    monkeypatch.setattr(history, "_read_states_table", changed_signature)
    monkeypatch.setattr(history, "_FAST_READ_FAILURES_LOGGED", set())
    caplog.set_level(logging.DEBUG, logger="custom_components.smartml")
    await setup_entry(hass, mock_entry)
    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(kitchen.values) == [0.0, 1.0] * 7 + [0.0]
    await _read_small_home(hass, recorder_mock)
    said = [r for r in caplog.records if "states table failed" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.DEBUG]


async def test_the_tested_schema_is_the_running_one(recorder_mock: Recorder, hass: HomeAssistant) -> None:
    """On the release the tests run on, the direct read is the one used (the parity test compares both)."""
    from custom_components.smartml import history

    assert recorder_mock.schema_version in history.TESTED_SCHEMA_VERSIONS


async def test_state_before_the_window_counts_from_its_start(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A sensor that last changed before the history window is read as in that state from the window's start."""
    now = dt_util.utcnow()
    freezer.move_to(now - timedelta(days=40))
    set_home_states(hass)
    hass.states.async_set(POWER, "999", {"unit_of_measurement": "W"})
    freezer.move_to(now - timedelta(days=35))
    hass.states.async_set(POWER, "998", {"unit_of_measurement": "W"})
    freezer.move_to(now - timedelta(days=10))
    hass.states.async_set(POWER, "500", {"unit_of_measurement": "W"})
    freezer.move_to(now)
    await async_wait_recording_done(hass)
    await setup_entry(hass, mock_entry)
    power = mock_entry.runtime_data.coordinator.state.observations.channels[POWER]
    start = (now - timedelta(days=28)).timestamp()
    assert list(power.values) == [998.0, 500.0]
    assert power.times[0] == pytest.approx(start, abs=300)  # numeric points sit on 5-minute buckets
