"""Restarts in the middle of a save, truncated store files, saves racing live events.

These use Home Assistant's real file storage (not the test harness's in-memory one),
because what is under test is what is on disk after a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
import importlib.util
import json
import os
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from homeassistant import loader
from homeassistant.helpers import storage
import pytest
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.store import LearnedState, SmartMLStorage

ENTRY_ID = "entry1"
MOTION = "binary_sensor.kitchen_motion"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> Generator[None]:
    """These tests build their own Home Assistant (no harness `hass`)."""
    yield


def _real_store_methods() -> dict[str, Any]:
    """Home Assistant's own Store load/write, which the harness replaces with an in-memory dict."""
    spec = importlib.util.spec_from_file_location("homeassistant.helpers._unmocked_storage", storage.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: getattr(module.Store, name) for name in ("_async_load", "_async_write_data", "async_remove")}


@pytest.fixture
async def real_hass(tmp_path: Path) -> AsyncIterator[Any]:
    methods = _real_store_methods()
    with (
        patch.object(storage.Store, "_async_load", methods["_async_load"]),
        patch.object(storage.Store, "_async_write_data", methods["_async_write_data"]),
        patch.object(storage.Store, "async_remove", methods["async_remove"]),
    ):
        async with async_test_home_assistant(config_dir=str(tmp_path)) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            yield hass
            await hass.async_stop(force=True)


def _learned(*values: float) -> LearnedState:
    state = LearnedState()
    for i, value in enumerate(values):
        state.observations.add_state(MOTION, "occupancy", "on" if value else "off", 1_700_000_000.0 + 60 * i)
    state.bootstrapped[MOTION] = 1_700_000_000.0
    return state


async def _save(hass: Any, state: LearnedState) -> SmartMLStorage:
    store = SmartMLStorage(hass, ENTRY_ID)
    store.attach(state)
    await store.async_save_now()
    return store


async def test_crash_in_the_middle_of_a_save_keeps_the_last_complete_save(real_hass: Any) -> None:
    first = _learned(0, 1)
    first.learning = False
    await _save(real_hass, first)
    store = SmartMLStorage(real_hass, ENTRY_ID)
    paths = [Path(store.path), Path(store.observations_path)]
    saved_before = [path.read_bytes() for path in paths]

    def power_lost(tmp_name: str, _target: str) -> None:
        # The new file is half on disk when the power goes out, before it replaces the old.
        with open(tmp_name, "r+b") as handle:
            handle.truncate(os.path.getsize(tmp_name) // 2)
        raise OSError("power lost")

    # Both files are written atomically (a new file, synced, then renamed over the old one).
    with patch("atomicwrites.replace_atomic", power_lost):
        # Home Assistant's Store logs the failed write; the entry carries on.
        await _save(real_hass, _learned(0, 1, 0, 1, 0))
    # A restart reads the last complete save of both files.
    assert [path.read_bytes() for path in paths] == saved_before
    restored = await SmartMLStorage(real_hass, ENTRY_ID).async_load()
    assert restored is not None
    assert list(restored.observations.channels[MOTION].values) == [0.0, 1.0]
    assert restored.bootstrapped == {MOTION: 1_700_000_000.0}
    assert restored.learning is False


@pytest.mark.parametrize("keep", [0, 1, 17, 0.5, 0.99])
async def test_truncated_observations_are_set_aside_and_the_rest_is_kept(real_hass: Any, keep: float) -> None:
    state = _learned(0, 1, 0)
    state.learning = False
    said = {"id": "a1", "kind": "security", "type": "unusual_value", "ts": 1_700_000_000.0, "facts": {}}
    state.feedback.append(said)  # type: ignore[arg-type]
    store = await _save(real_hass, state)
    path = Path(store.observations_path)
    raw = path.read_bytes()
    cut = int(len(raw) * keep) if isinstance(keep, float) else keep
    path.write_bytes(raw[:cut])
    # A fresh start (the storage manager caches nothing across restarts).
    real_hass.data.pop(storage.STORAGE_MANAGER, None)
    restored = await SmartMLStorage(real_hass, ENTRY_ID).async_load()
    # The history starts over (the recorder bootstrap refills, see test_recorder.py); what a
    # person set is kept; the broken file is kept beside for the user, never overwritten.
    assert restored is not None and restored.learning is False and restored.feedback == [said]
    assert not restored.observations.channels and restored.bootstrapped == {}
    assert any(p.name.startswith(path.name + ".corrupt") for p in path.parent.iterdir())
    assert not path.exists()


@pytest.mark.parametrize("keep", [0, 0.5])
async def test_a_truncated_main_file_keeps_the_observations(real_hass: Any, keep: float) -> None:
    store = await _save(real_hass, _learned(0, 1, 0))
    path = Path(store.path)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    real_hass.data.pop(storage.STORAGE_MANAGER, None)
    restored = await SmartMLStorage(real_hass, ENTRY_ID).async_load()
    assert restored is not None and restored.learning is True and restored.feedback == []
    assert list(restored.observations.channels[MOTION].values) == [0.0, 1.0, 0.0]
    assert any(p.name.startswith(path.name + ".corrupt") for p in path.parent.iterdir())


async def test_store_with_nan_or_garbage_values_is_set_aside(real_hass: Any) -> None:
    path = Path(SmartMLStorage(real_hass, ENTRY_ID).path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"observations": {"channels": {MOTION: {"kind": "state", "t": [1, "x"], "v": [1, 2]}}, "roles": {}}}
    path.write_text(json.dumps({"version": 1, "minor_version": 1, "key": f"smartml.{ENTRY_ID}", "data": data}))
    restored = await SmartMLStorage(real_hass, ENTRY_ID).async_load()
    # The observations of this earlier release's file are lost, not what was set beside them.
    assert restored is not None and not restored.observations.channels
    assert any(".corrupt-" in p.name for p in path.parent.iterdir())


def test_saving_while_events_arrive_writes_a_consistent_snapshot() -> None:
    """The save serialises in a worker while the event loop keeps appending."""
    store = ObservationStore(max_points=500)
    stop = threading.Event()

    def append() -> None:
        ts = 1_700_000_000.0
        i = 0
        while not stop.is_set():
            store.add_state(MOTION, "occupancy", "on" if i % 2 else "off", ts)
            store.add_state("sensor.power", "power", str(i % 300), ts, {"unit_of_measurement": "W"})
            ts += 7.0
            i += 1

    writer = threading.Thread(target=append)
    writer.start()
    try:
        for _ in range(200):
            saved = json.loads(json.dumps(store.as_dict()))
            restored = ObservationStore.from_dict(saved)
            for buf in restored.channels.values():
                assert len(buf.times) == len(buf.values)
                assert list(buf.times) == sorted(buf.times)
    finally:
        stop.set()
        writer.join()
