"""Persistence: what was learned survives restarts; a broken store never blocks setup."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
import json
import logging
from pathlib import Path
import struct
import threading
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import (
    DOMAIN,
    ISSUE_STORE_CORRUPT,
    ISSUE_STORE_CORRUPT_CHOICES_LOST,
    ISSUE_STORE_CORRUPT_MAIN,
    OBSERVATIONS_SAVE_INTERVAL,
    SAVE_INTERVAL,
    STORAGE_MINOR_VERSION,
)
from custom_components.smartml.engine.occupancy import OccupancyModel
from custom_components.smartml.store import OBSERVATIONS_KEY_SUFFIX, LearnedState, SmartMLStorage

from .conftest import (
    ENERGY,
    FRONT_DOOR,
    HALL_MOTION,
    KITCHEN_MOTION,
    PERSON,
    POWER,
    THERMOSTAT,
    HeldFit,
    door_anomaly,
    home_options,
    set_home_states,
    setup_entry,
)
from .home_history import record_home

FIXTURES = Path(__file__).parent.parent / "fixtures"


async def test_learned_state_survives_restart(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    # Home Assistant's final write at shutdown flushes the delayed save.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    saved = hass_storage[f"{DOMAIN}.{mock_entry.entry_id}.observations"]
    assert saved["version"] == 1
    assert "observations" not in hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"]["data"]
    channel = saved["data"]["observations"]["channels"][KITCHEN_MOTION]
    # Two base64 strings of little-endian float64 per channel, not a number per point.
    assert struct.unpack("<2d", base64.b64decode(channel["v"])) == (0.0, 1.0)
    times = struct.unpack("<2d", base64.b64decode(channel["t"]))
    assert times[0] < times[1]

    await hass.config_entries.async_unload(mock_entry.entry_id)
    hass.states.async_remove(KITCHEN_MOTION)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    restored = mock_entry.runtime_data.coordinator.state.observations
    assert list(restored.channels[KITCHEN_MOTION].values) == [0.0, 1.0]


async def test_the_live_scores_are_kept_with_the_observations_and_written_out_in_the_worker(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A week of scores per area is megabytes: not for the main file's write every ten minutes."""
    written_in: set[str] = set()
    live_state = OccupancyModel.live_state

    def spied(self: OccupancyModel) -> Any:
        written_in.add(threading.current_thread().name)
        return live_state(self)

    monkeypatch.setattr(OccupancyModel, "live_state", spied)
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    for _ in range(4):
        freezer.tick(timedelta(minutes=15))
        await coordinator.async_refresh()
    assert written_in and "MainThread" not in written_in
    scores = coordinator.state.scores
    assert any(scores["occupancy"]["live"].values())

    await coordinator.storage.async_save_now()
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    assert '"live"' not in json.dumps(hass_storage[key]["data"]["models"])
    assert "alerts" in hass_storage[key]["data"]["models"]["energy"]  # the energy alerts stay in the main file
    assert await hass.config_entries.async_unload(mock_entry.entry_id)  # which writes the observations file
    assert hass_storage[f"{key}.observations"]["data"]["scores"]["occupancy"] == scores["occupancy"]
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_entry.runtime_data.coordinator.state.scores["occupancy"] == scores["occupancy"]


def test_the_scores_of_an_earlier_release_s_main_file_are_kept() -> None:
    score = {"scopes": {"kitchen": [[1.0, 0.5, 0.4, 1.0]]}}
    main = {"models": {"occupancy": {"live": score}, "energy": {"live": {}, "alerts": {"a": 1.0}}}}
    state = LearnedState.from_dict(main, {"observations": {"channels": {}, "roles": {}}, "saved_at": 1.0})
    assert state.models == {"occupancy": {}, "energy": {"alerts": {"a": 1.0}}}
    assert state.scores == {"occupancy": {"live": score}, "energy": {"live": {}}}
    assert state.live_states() == main["models"]


@pytest.mark.parametrize(
    "data",
    [
        {"observations": "garbage"},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": [1, 2], "v": [1]}}, "roles": {}}},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": "AAA=", "v": "AAA="}}, "roles": {}}},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": [2, 1], "v": [1, 0]}}, "roles": {}}},
        {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "weird", "t": [], "v": []}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            }
        },
        ["not", "an", "object"],
    ],
)
async def test_corrupt_store_is_set_aside_and_setup_continues(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], data: Any
) -> None:
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {"version": 1, "minor_version": 1, "key": "x", "data": data}
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    issues = [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN and i.startswith(ISSUE_STORE_CORRUPT)]
    assert len(issues) == 1
    observations = mock_entry.runtime_data.coordinator.state.observations
    # Collection starts again from the current states.
    assert list(observations.channels[FRONT_DOOR].values) == [0.0]


async def test_store_of_version_1_1_with_number_lists_loads(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    now = time.time()
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": "x",
        "data": {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "state", "t": [now - 120, now - 60], "v": [1.0, 0.0]}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            }
        },
    }
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert not [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN]
    restored = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(restored.times[:2]) == [now - 120, now - 60]
    assert list(restored.values[:2]) == [1.0, 0.0]


async def test_store_from_a_newer_version_is_set_aside(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    # Both files of a newer release (a downgrade): each is set aside and named in its own issue.
    hass_storage[key] = {"version": 9, "minor_version": 1, "key": key, "data": {}}
    hass_storage[f"{key}.{OBSERVATIONS_KEY_SUFFIX}"] = {"version": 9, "minor_version": 1, "key": key, "data": {}}
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    issues = ir.async_get(hass).issues
    named = sorted(issue.translation_placeholders["path"] for (domain, _), issue in issues.items() if domain == DOMAIN)
    assert [path.rsplit("/", 1)[-1] for path in named] == [key, f"{key}.{OBSERVATIONS_KEY_SUFFIX}"]


async def test_removing_entry_deletes_store(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await hass.config_entries.async_unload(mock_entry.entry_id)
    assert f"{DOMAIN}.{mock_entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{mock_entry.entry_id}" not in hass_storage


async def test_a_steady_stream_of_changes_does_not_postpone_the_save(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage.pop(key, None)
    # Something happens every minute: a debounced save would never come.
    for minute in range(1, 12):
        hass.states.async_set(KITCHEN_MOTION, "on" if minute % 2 else "off", {"device_class": "motion"})
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        if key in hass_storage:
            break
    assert key in hass_storage and minute <= SAVE_INTERVAL // 60 + 1
    first = hass_storage[key]["data"]["saved_at"]
    # And again within the next interval, while changes go on.
    for _ in range(SAVE_INTERVAL // 60 + 1):
        hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert hass_storage[key]["data"]["saved_at"] > first


async def test_a_change_while_an_immediate_write_reads_the_data_is_written_later(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    storage = mock_entry.runtime_data.coordinator.storage
    writes = storage._observation_writes
    read = writes.data_func
    assert read is not None

    def a_sensor_reports_meanwhile() -> Any:
        hass.loop.call_soon_threadsafe(hass.states.async_set, KITCHEN_MOTION, "on", {"device_class": "motion"})
        time.sleep(0.1)
        return read()

    writes.data_func = a_sensor_reports_meanwhile
    await storage.async_save_observations()
    writes.data_func = read
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{mock_entry.entry_id}.{OBSERVATIONS_KEY_SUFFIX}"
    written = hass_storage[key]["data"]["saved_at"]
    freezer.tick(timedelta(seconds=OBSERVATIONS_SAVE_INTERVAL + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"]["saved_at"] > written


async def test_the_learning_switch_and_feedback_are_on_disk_at_once(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage.pop(key, None)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"]["learning"] is False

    coordinator = mock_entry.runtime_data.coordinator
    coordinator.anomalies.async_report(door_anomaly("f1"))
    await hass.async_block_till_done()
    hass_storage.pop(key)
    await hass.services.async_call(DOMAIN, "report_false_alarm", {}, blocking=True)
    await hass.async_block_till_done()
    assert [item["id"] for item in hass_storage[key]["data"]["feedback"]] == ["f1"]


async def test_what_was_told_outlives_a_restart_and_a_broken_item_is_left_out(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("d1"))
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.security_anomaly").state == "on"
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    assert [item["anomaly"]["id"] for item in hass_storage[key]["data"]["anomalies"]] == ["d1"]
    hass_storage[key]["data"]["anomalies"].append({"anomaly": {"kind": "security"}})

    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    anomalies = mock_entry.runtime_data.coordinator.anomalies
    assert [reported.anomaly.id for reported in anomalies.recent] == ["d1"]
    assert hass.states.get("binary_sensor.security_anomaly").state == "on"
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "d1"}, blocking=True)
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"

    # An unreadable list costs only what was told, never what was learned; a broken item of
    # what was said is left out, and the models are fitted all the same.
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    hass_storage[key]["data"]["anomalies"] = "garbage"
    hass_storage[key]["data"]["feedback"] += [{"id": "no type"}, "x", {"type": "unusual_time", "ts": "later"}]
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_entry.runtime_data.coordinator
    assert not coordinator.anomalies.recent
    assert [item["id"] for item in coordinator.state.feedback] == ["d1"]
    assert coordinator.fitter.last_update_success
    raised = [issue for (domain, issue) in ir.async_get(hass).issues if domain == DOMAIN]
    assert not [issue for issue in raised if issue.startswith(ISSUE_STORE_CORRUPT)]


async def test_a_store_of_the_previous_release_keeps_everything_and_is_split(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """A file written by format 1.2 (one file, observations inside): tests/fixtures/store_v1_2.json."""
    freezer.move_to("2026-11-20 09:00:00+00:00")  # an hour after its observations
    stored = json.loads((FIXTURES / "store_v1_2.json").read_text(encoding="utf-8"))
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage[key] = stored
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    assert coordinator.learning is False
    assert [item["id"] for item in coordinator.state.feedback] == [stored["data"]["feedback"][0]["id"]]
    assert coordinator.state.settings == stored["data"]["settings"]
    restored = coordinator.state.observations.channels[KITCHEN_MOTION]
    assert len(restored.times) >= 2 and coordinator.state.bootstrapped == stored["data"]["bootstrapped"]
    # Split at once: the observations have their own file, the main file no longer holds them.
    assert "observations" not in hass_storage[key]["data"]
    assert hass_storage[key]["minor_version"] == STORAGE_MINOR_VERSION
    assert hass_storage[key]["data"]["anomalies"] == []
    assert KITCHEN_MOTION in hass_storage[f"{key}.observations"]["data"]["observations"]["channels"]


async def test_a_broken_main_file_keeps_the_pause_the_excluded_days_and_the_feedback(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    start = dt_util.now() - timedelta(days=3)
    await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()},
        blocking=True,
        return_response=True,
    )
    coordinator.anomalies.async_report(door_anomaly("f1"))
    await hass.async_block_till_done()
    await hass.services.async_call(DOMAIN, "report_false_alarm", {}, blocking=True)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage[key]["data"] = "garbage"  # the main file is damaged; the others are fine

    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_entry.runtime_data.coordinator
    assert coordinator.state.observations.channels  # the history is kept
    assert coordinator.learning is False
    assert [period.start for period in coordinator.state.excluded] == [start.timestamp()]
    assert [item["id"] for item in coordinator.state.feedback] == ["f1"]
    issues = [issue for (domain, _), issue in ir.async_get(hass).issues.items() if domain == DOMAIN]
    assert [issue.translation_key for issue in issues] == [ISSUE_STORE_CORRUPT_MAIN]


async def test_an_entry_of_an_earlier_release_gets_its_copy_of_the_choices_at_setup(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    copy_key = f"{DOMAIN}.{mock_entry.entry_id}.choices"
    del hass_storage[copy_key]  # an earlier release wrote none

    # Home Assistant restarts without unloading: the copy must not wait for a person's next action.
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()

    assert hass_storage[copy_key]["data"]["learning"] is False


async def test_a_broken_main_file_without_a_copy_of_the_choices_says_they_are_lost(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage[key]["data"] = "garbage"
    hass_storage[f"{key}.choices"]["data"] = ["not", "choices"]
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    issues = [issue for (domain, _), issue in ir.async_get(hass).issues.items() if domain == DOMAIN]
    assert [issue.translation_key for issue in issues] == [ISSUE_STORE_CORRUPT_CHOICES_LOST]
    assert mock_entry.runtime_data.coordinator.state.observations.channels  # the history is kept


async def test_a_broken_history_in_a_previous_release_s_file_keeps_what_the_user_set(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Format 1.2 held the observations in the main file; one channel there is broken."""
    stored = json.loads((FIXTURES / "store_v1_2.json").read_text(encoding="utf-8"))
    stored["data"]["observations"]["channels"][KITCHEN_MOTION]["t"] = [2.0, 1.0]  # out of order
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    hass_storage[key] = stored
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    # The history starts again from the recorder; the switch, feedback and settings stay.
    assert coordinator.learning is False
    assert [item["id"] for item in coordinator.state.feedback] == ["c0ffee123456"]
    assert coordinator.state.settings == stored["data"]["settings"]
    assert not coordinator.state.observations.channels
    issues = [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN and i.startswith(ISSUE_STORE_CORRUPT)]
    assert len(issues) == 1
    assert hass_storage[key]["data"]["learning"] is False  # written again, without the observations
    assert "observations" not in hass_storage[key]["data"]


@pytest.mark.parametrize("learning", [True, False])
async def test_after_a_restart_the_recorder_fills_the_time_since_the_last_save(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    learning: bool,
) -> None:
    """The observations file ends two hours ago (a power cut); the recorder kept what came after.

    Unless learning was paused then: what came after is what the pause leaves out.
    """
    now = dt_util.utcnow()
    saved_at = (now - timedelta(hours=2)).timestamp()
    freezer.move_to(now - timedelta(hours=3))
    set_home_states(hass)
    for minutes_ago in (150, 90, 89):  # before the save, then twice after it
        freezer.move_to(now - timedelta(minutes=minutes_ago))
        hass.states.async_set(KITCHEN_MOTION, "off" if minutes_ago == 90 else "on", {"device_class": "motion"})
        await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    freezer.move_to(now)
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    before = (now - timedelta(minutes=150)).timestamp()
    hass_storage[f"{key}.observations"] = {
        "version": 1,
        "minor_version": 3,
        "key": f"{key}.observations",
        "data": {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "state", "t": [before], "v": [1.0]}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            },
            "bootstrapped": dict.fromkeys(home_options_roles(), before),
            "saved_at": saved_at,
        },
    }
    hass_storage[key] = {
        "version": 1,
        "minor_version": STORAGE_MINOR_VERSION,
        "key": key,
        "data": {"learning": learning},
    }
    await setup_entry(hass, mock_entry)

    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    attributes = hass.states.get("sensor.smartml_learning_status").attributes
    # Not "restored": Home Assistant's mark of an entity no longer provided.
    assert "restored" not in attributes
    restored = attributes["recovery"]
    assert restored["restored_observations"] == 1
    if not learning:
        assert list(kitchen.times) == [before]
        assert restored["from_recorder"] == 0
        return
    assert (now - timedelta(minutes=90)).timestamp() in list(kitchen.times)
    assert list(kitchen.values)[-2:] == [0.0, 1.0]
    assert restored["from_recorder"] >= 2
    assert restored["gap_minutes"] == 120.0
    assert restored["restored_until"] == dt_util.utc_from_timestamp(saved_at).isoformat()


def home_options_roles() -> list[str]:
    """Every entity of the small home."""
    return [KITCHEN_MOTION, HALL_MOTION, FRONT_DOOR, PERSON, POWER, ENERGY, THERMOSTAT]


async def test_an_old_observations_file_is_written_soon_after_a_start(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """Restarts more often than the interval must not keep the observations file from being written."""
    key = f"{DOMAIN}.{mock_entry.entry_id}.observations"
    saved_at = time.time() - OBSERVATIONS_SAVE_INTERVAL - 60
    hass_storage[key] = {
        "version": 1,
        "minor_version": 3,
        "key": key,
        "data": {"observations": {"channels": {}, "roles": {}}, "bootstrapped": {}, "saved_at": saved_at},
    }
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"]["saved_at"] > saved_at
    assert KITCHEN_MOTION in hass_storage[key]["data"]["observations"]["channels"]


async def test_a_renamed_entity_keeps_what_was_learned_under_its_new_id(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "kitchen", suggested_object_id="kitchen_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()

    registry.async_update_entity(KITCHEN_MOTION, new_entity_id="binary_sensor.cuisine_motion")
    await hass.async_block_till_done()

    options = mock_entry.options
    assert "binary_sensor.cuisine_motion" in options["areas"]["kitchen"]["occupancy"]
    assert KITCHEN_MOTION not in options["areas"]["kitchen"]["occupancy"]
    # Reloaded under the new id, with what was learned under the old one, and collecting it.
    hass.states.async_set("binary_sensor.cuisine_motion", "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels["binary_sensor.cuisine_motion"].values) == [0.0, 1.0, 0.0]
    assert KITCHEN_MOTION not in observations.channels


async def test_two_renames_in_a_row_are_both_followed(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    """A typo fixed at once: the second rename comes before the reload the first asked for."""
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "hall", suggested_object_id="hall_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry.async_update_entity(HALL_MOTION, new_entity_id="binary_sensor.corridor_motoin")
    registry.async_update_entity("binary_sensor.corridor_motoin", new_entity_id="binary_sensor.corridor_motion")
    await hass.async_block_till_done()
    assert mock_entry.options["occupancy"] == ["binary_sensor.corridor_motion"]
    assert "binary_sensor.corridor_motion" in mock_entry.runtime_data.coordinator.roles


async def test_a_rename_while_what_was_learned_loads_is_followed(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart on a small machine: months of observations load as the hall sensor is renamed."""
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "hall", suggested_object_id="hall_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(mock_entry.entry_id)

    loading, loaded = asyncio.Event(), asyncio.Event()
    load = SmartMLStorage.async_load

    async def slow_load(self: SmartMLStorage) -> Any:
        loading.set()
        await loaded.wait()
        return await load(self)

    monkeypatch.setattr(SmartMLStorage, "async_load", slow_load)
    setup = hass.async_create_task(hass.config_entries.async_setup(mock_entry.entry_id))
    await loading.wait()
    registry.async_update_entity(HALL_MOTION, new_entity_id="binary_sensor.corridor_motion")
    loaded.set()
    await setup
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    assert mock_entry.options["occupancy"] == ["binary_sensor.corridor_motion"]
    # What was learned of the hall sensor is the corridor sensor's now.
    channels = mock_entry.runtime_data.coordinator.state.observations.channels
    assert HALL_MOTION not in channels and 1.0 in list(channels["binary_sensor.corridor_motion"].values)


async def test_a_thermostat_renamed_to_the_id_of_one_gone_is_still_followed(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    """SmartML's device of an old thermostat still holds the new id: its own entities start afresh."""
    registry = er.async_get(hass)
    registry.async_get_or_create("climate", "test", "living_room", suggested_object_id="living_room")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=mock_entry.entry_id, identifiers={(DOMAIN, f"{mock_entry.entry_id}_climate.lounge")}
    )
    registry.async_update_entity(THERMOSTAT, new_entity_id="climate.lounge")
    hass.states.async_set("climate.lounge", "heat", {"temperature": 20.5, "current_temperature": 19.8})
    await hass.async_block_till_done()
    assert mock_entry.options["climate"] == ["climate.lounge"]
    assert mock_entry.state is ConfigEntryState.LOADED


async def test_a_security_sensor_shown_as_motion_is_learned_as_motion(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    """A sensor first shown as a door, then corrected to motion with "Show as"."""
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "binary_sensor", "test", "front", suggested_object_id="front_door", original_device_class="door"
    )
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.runtime_data.coordinator.spec["device_classes"] == {FRONT_DOOR: "door"}
    registry.async_update_entity(FRONT_DOOR, device_class="motion")
    await hass.async_block_till_done()
    assert mock_entry.runtime_data.coordinator.spec["device_classes"] == {FRONT_DOOR: "motion"}


async def test_a_rename_while_the_first_fit_runs_is_followed(
    hass: HomeAssistant, mock_entry: MockConfigEntry, held_first_fit: HeldFit
) -> None:
    """A restart on a small machine: the hall sensor is renamed before SmartML has finished starting."""
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "hall", suggested_object_id="hall_motion")
    set_home_states(hass)

    async def renamed() -> None:
        registry.async_update_entity(HALL_MOTION, new_entity_id="binary_sensor.corridor_motion")

    await held_first_fit.async_set_up(hass, mock_entry, renamed)
    assert mock_entry.state is ConfigEntryState.LOADED
    assert mock_entry.options["occupancy"] == ["binary_sensor.corridor_motion"]
    assert "binary_sensor.corridor_motion" in mock_entry.runtime_data.coordinator.roles


@pytest.mark.parametrize(
    "content",
    [
        {"data": {"learning": False}},  # no version
        {"version": 1, "minor_version": 5, "key": "x"},  # no data
        {"version": "one", "data": {}},  # a version that is not a number
        [],
        None,
        "text",
    ],
)
async def test_a_store_file_of_the_wrong_shape_is_set_aside_and_setup_continues(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    tmp_path: Path,
    content: Any,
) -> None:
    """Valid JSON that is not a store file, read from disk by the real Store (not the test double)."""

    async def load_from_disk(store: Store[Any]) -> Any:
        return await store._async_load_data()

    hass.config.config_dir = str(tmp_path)
    path = tmp_path / ".storage" / f"{DOMAIN}.{mock_entry.entry_id}"
    path.parent.mkdir()
    path.write_text(json.dumps(content), encoding="utf-8")
    set_home_states(hass)
    with patch.object(Store, "_async_load", load_from_disk):
        await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    issues = [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN and i.startswith(ISSUE_STORE_CORRUPT)]
    assert len(issues) == 1
    # Moved aside (kept for the user), and learning starts afresh from the current states.
    assert not path.exists()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.corrupt-")]
    assert mock_entry.runtime_data.coordinator.learning is True
    assert list(mock_entry.runtime_data.coordinator.state.observations.channels[FRONT_DOOR].values) == [0.0]


async def test_nothing_is_written_after_an_unload_or_a_removal(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    key = f"{DOMAIN}.{mock_entry.entry_id}"
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    saved = {k: json.dumps(hass_storage[k]) for k in (key, f"{key}.observations")}

    async def a_prediction_finishing_late() -> None:
        """What a refresh still running at the unload does when it ends: it learned something."""
        coordinator.state.models["late"] = {"changed": True}
        coordinator.storage.schedule_save()
        await coordinator.storage.async_save_choices()
        freezer.tick(timedelta(seconds=OBSERVATIONS_SAVE_INTERVAL + 60))
        async_fire_time_changed(hass)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
        await hass.async_block_till_done()

    await a_prediction_finishing_late()
    assert {k: json.dumps(hass_storage[k]) for k in saved} == saved
    await hass.config_entries.async_remove(mock_entry.entry_id)
    await a_prediction_finishing_late()
    assert not [k for k in hass_storage if k.startswith(key)]


async def test_a_change_during_the_last_write_leaves_no_write_behind(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The home goes on while the entry unloads: a sensor reports just as the last write ends."""
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    storage = mock_entry.runtime_data.coordinator.storage
    writes = storage._observation_writes
    last_write = writes.store.async_save

    async def the_home_goes_on(data: Any) -> None:
        await last_write(data)
        storage.schedule_save()

    writes.store.async_save = the_home_goes_on  # type: ignore[method-assign]
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    assert not writes._pending  # nothing left to write once the last write is done
    freezer.tick(timedelta(seconds=OBSERVATIONS_SAVE_INTERVAL + 60))
    async_fire_time_changed(hass)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_renamed_entity_keeps_what_was_chosen_and_said_about_it(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Auto-apply, "It was me", an excluded period, what was told and a device's alerts follow a rename."""
    plug = "sensor.plug_power"
    registry = er.async_get(hass)
    for domain, object_id in (("climate", "living_room"), ("binary_sensor", "front_door"), ("sensor", "plug_power")):
        registry.async_get_or_create(domain, "test", object_id, suggested_object_id=object_id)
    set_home_states(hass)
    hass.states.async_set(plug, "40", {"unit_of_measurement": "W", "device_class": "power"})
    entry = MockConfigEntry(
        domain=DOMAIN, title="SmartML", unique_id=DOMAIN, data={}, options=home_options(devices=[plug])
    )
    await setup_entry(hass, entry)
    await hass.services.async_call("switch", "turn_on", {"entity_id": "switch.living_room_auto_apply"}, blocking=True)
    # The user's own id and name for SmartML's entities, and one entity disabled.
    registry.async_update_entity(
        "sensor.living_room_preheat_start", new_entity_id="sensor.lounge_warm_up", name="Warm up"
    )
    registry.async_update_entity("sensor.living_room_predicted_setpoint", disabled_by=er.RegistryEntryDisabler.USER)
    registry.async_update_entity("binary_sensor.plug_power_left_on", new_entity_id="binary_sensor.kettle_on")
    thermostat_device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.entry_id}_{THERMOSTAT}")})
    assert thermostat_device is not None
    entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("d1"))
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "d1"}, blocking=True)
    now = dt_util.now()
    await hass.services.async_call(
        DOMAIN,
        "exclude_period",
        {"start": (now - timedelta(days=2)).isoformat(), "end": now.isoformat(), "entities": [FRONT_DOOR]},
        blocking=True,
        return_response=True,
    )
    # What the energy model learned live about the device: an alert open and a period reported.
    alert_key = f"device_left_on:{plug}"
    entry.runtime_data.coordinator.state.models["energy"] = {"alerts": {alert_key: 1.0}, "flagged": [[alert_key, 0, 1]]}

    renames = {THERMOSTAT: "climate.lounge", FRONT_DOOR: "binary_sensor.entrance", plug: "sensor.kettle_power"}
    for old, new in renames.items():
        moved = hass.states.get(old)
        assert moved is not None
        registry.async_update_entity(old, new_entity_id=new)
        hass.states.async_set(new, moved.state, moved.attributes)
        await hass.async_block_till_done()

    # Reloaded from the files, under the new ids.
    state = entry.runtime_data.coordinator.state
    door = renames[FRONT_DOOR]
    assert state.settings["auto_apply"] == ["climate.lounge"]
    # SmartML's entities of the thermostat and the plug are the same entities, as the user left them.
    assert hass.states.get("switch.living_room_auto_apply").state == "on"
    assert hass.states.get("switch.lounge_auto_apply") is None
    warm_up = registry.async_get("sensor.lounge_warm_up")
    assert warm_up is not None and warm_up.name == "Warm up"
    assert warm_up.unique_id == f"{entry.entry_id}_climate.lounge_preheat_start"
    setpoint = registry.async_get("sensor.living_room_predicted_setpoint")
    assert setpoint is not None and setpoint.disabled_by is er.RegistryEntryDisabler.USER
    assert warm_up.device_id == setpoint.device_id == thermostat_device.id
    kettle = registry.async_get("binary_sensor.kettle_on")
    assert kettle is not None and kettle.unique_id == f"{entry.entry_id}_sensor.kettle_power_left_on"
    assert [(item["entity_ids"], item["facts"]["entity_id"]) for item in state.feedback] == [([door], door)]
    assert [period.entities for period in state.excluded] == [(door,)]
    assert [item["anomaly"]["entity_ids"] for item in state.anomalies] == [[door]]
    kettle_key = "device_left_on:sensor.kettle_power"
    assert state.models["energy"] == {"alerts": {kettle_key: 1.0}, "flagged": [[kettle_key, 0, 1]]}
    assert FRONT_DOOR not in json.dumps(hass_storage[f"{DOMAIN}.{entry.entry_id}"])
