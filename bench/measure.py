"""Single measurements, each run in a fresh interpreter by bench/__main__.py.

`python -m bench.measure <name> --entities N` prints one JSON object on stdout.
A fresh process per measurement keeps imports, caches and memory of one from
flattering or burdening another.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import callback
from homeassistant.helpers.registry import SAVE_DELAY as REGISTRY_SAVE_DELAY
import psutil

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _rss() -> float:
    gc.collect()
    rss: int = psutil.Process().memory_info().rss
    return rss / MB


def _quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("homeassistant").setLevel(logging.ERROR)


# --- state callback -------------------------------------------------------------------


async def _fire(hass: Any, stream: list[tuple[str, str, dict[str, Any]]]) -> float:
    """Wall time to put the stream on the bus and let every listener run."""
    await hass.async_block_till_done()
    gc.collect()
    started = time.perf_counter()
    async_set = hass.states.async_set
    for i, (entity_id, state, attrs) in enumerate(stream):
        async_set(entity_id, state, attrs)
        if i % 1000 == 999:
            await asyncio.sleep(0)  # let scheduled work run as it would in a live home
    await hass.async_block_till_done()
    return time.perf_counter() - started


def _direct_callback_us(collector: Any, stream: list[tuple[str, str, dict[str, Any]]]) -> float:
    """µs per call of SmartML's own state callback (and what it calls), without the bus."""
    from homeassistant.core import Event, State

    now = time.time()
    events = [
        Event(EVENT_STATE_CHANGED, {"entity_id": e, "old_state": None, "new_state": State(e, s, a)})
        for e, s, a in stream
    ]
    for i, event in enumerate(events):  # strictly increasing times, as live
        event.data["new_state"].last_updated_timestamp = now + i * 1e-3
    gc.collect()
    started = time.perf_counter()
    for event in events:
        collector._async_state_changed(event)
    return (time.perf_counter() - started) / len(events) * 1e6


async def measure_callback(entities_count: int, events: int, rounds: int) -> dict[str, Any]:
    """µs per state change with SmartML listening, against the same stream without it."""
    from .harness import running_hass, setup_smartml
    from .home import build_entities, live_stream, options

    entities = build_entities(entities_count)
    stream = live_stream(entities, events)
    # The stream alternates values, so each event is a real change; a reversed copy
    # keeps consecutive runs from repeating a state (which HA would not fire).
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hass(tmp) as hass:
            for entity in entities:
                hass.states.async_set(entity.entity_id, "unknown", entity.attributes)
            bare = [await _fire(hass, stream) for _ in range(rounds)]
            # A real Home Assistant always has state_changed listeners (recorder, history,
            # logbook, websocket), so the bus builds each event anyway; this is the baseline.
            unlisten = hass.bus.async_listen(EVENT_STATE_CHANGED, callback(lambda event: None))
            without = [await _fire(hass, stream) for _ in range(rounds)]
            entry = await setup_smartml(hass, options(entities))
            collector = entry.runtime_data.coordinator.collector
            seen_before = collector.events_seen
            with_ = [await _fire(hass, stream) for _ in range(rounds)]
            seen = collector.events_seen - seen_before
            points = entry.runtime_data.coordinator.state.observations.total_points
            direct = _direct_callback_us(collector, stream)
            await hass.config_entries.async_unload(entry.entry_id)
            unlisten()
    base = min(without) / events * 1e6
    smart = min(with_) / events * 1e6
    return {
        "events": events,
        "entities": entities_count,
        "events_seen_by_smartml": seen,
        "points_kept": points,
        "collector_callback_us": round(direct, 2),
        "us_per_event_bare_core": round(min(bare) / events * 1e6, 2),
        "us_per_event_without": round(base, 2),
        "us_per_event_with": round(smart, 2),
        "us_per_event_added": round(smart - base, 2),
        "ratio": round(smart / base, 3),
        "rounds": rounds,
    }


# --- bootstrap, refit, predict, stalls, memory ----------------------------------------

# As long as a bootstrap takes here: the worst of a window grows with its length.
REFERENCE_SECONDS = 8.0


def _busy_paced(seconds: float) -> None:
    """Pure Python work for `seconds`, paced exactly as SmartML's worker paces its own."""
    from custom_components.smartml.engine.pacing import pace, paced

    deadline = time.perf_counter() + seconds
    with paced():
        while time.perf_counter() < deadline:
            total = 0
            for i in range(200):
                total += i * i
            pace()


async def _paced_thread_reference(seconds: float) -> tuple[float, float]:
    """The window of a paced busy thread without SmartML: the least any worker thread costs the loop."""
    started = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(None, _busy_paced, seconds)
    return started, time.perf_counter()


async def measure_home(entities_count: int, days: int, refits: int) -> dict[str, Any]:
    """Set SmartML up on a recorder with `days` of history; time and probe each phase."""
    from custom_components.smartml import coordinator as coordinator_module, fitting as fitting_module
    from custom_components.smartml.fit_reasons import say_reasons

    from .harness import LagProbe, running_hass, setup_smartml
    from .home import build_entities, current_state, options
    from .recorder_db import ensure_db

    db, db_meta = await ensure_db(entities_count, days)
    entities = build_entities(entities_count)
    windows: dict[str, list[tuple[float, float]]] = {"bootstrap": [], "fit": [], "predict": []}
    fit_reports: list[Any] = []
    cls = coordinator_module.SmartMLCoordinator
    fitter_cls = fitting_module.SmartMLFitCoordinator
    original_bootstrap, original_fit, original_predict = cls.async_bootstrap, fitter_cls._fit, cls._predict

    async def timed_bootstrap(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_bootstrap(self)
        finally:
            windows["bootstrap"].append((started, time.perf_counter()))

    def timed_fit(self: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            models, report = original_fit(self, *args)
            fit_reports.append(report)
            return models, report
        finally:
            windows["fit"].append((started, time.perf_counter()))

    def timed_predict(self: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_predict(self, *args)
        finally:
            windows["predict"].append((started, time.perf_counter()))

    cls.async_bootstrap, cls._predict = timed_bootstrap, timed_predict  # type: ignore[method-assign,assignment]
    fitter_cls._fit = timed_fit  # type: ignore[method-assign,assignment]
    probe = LagProbe()
    # Garbage collector pauses hold the GIL in whichever thread triggers them, so they
    # show as loop stalls; recording them tells a collection from a long C call.
    gc_pauses: list[tuple[float, float, int]] = []
    gc_started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started["t"] = time.perf_counter()
        elif "t" in gc_started:
            gc_pauses.append((gc_started.pop("t"), time.perf_counter(), info["generation"]))

    gc.callbacks.append(on_gc)
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hass(tmp, str(db)) as hass:
            now = time.time()
            for entity in entities:
                state, attrs = current_state(entity, now)
                hass.states.async_set(entity.entity_id, state, attrs)
            await hass.async_block_till_done()
            await asyncio.sleep(1.0)
            probe.start()
            # What the loop does without SmartML: the same span of idle time.
            idle_start = time.perf_counter()
            await asyncio.sleep(3.0)
            idle_end = time.perf_counter()
            reference_start, reference_end = await _paced_thread_reference(REFERENCE_SECONDS)
            rss_before = _rss()
            setup_start = time.perf_counter()
            entry = await setup_smartml(hass, options(entities, days))
            setup_end = time.perf_counter()
            rss_after_setup = _rss()
            coordinator = entry.runtime_data.coordinator
            observations = coordinator.state.observations
            points = observations.total_points
            store_bytes = sum(
                buf.times.itemsize * (buf.times.buffer_info()[1] + buf.values.buffer_info()[1])
                for buf in observations.channels.values()
            )
            # Home Assistant writes its entity and device registries ten seconds after SmartML
            # adds its entities, encoding them in an executor thread with the interpreter lock
            # held; the refits are measured after that one-time write, not across it.
            await asyncio.sleep(REGISTRY_SAVE_DELAY + 2.0)
            for _ in range(refits):
                await coordinator.async_retrain()
                await asyncio.sleep(0.2)
            saves = await _measure_saves(coordinator.storage, windows)
            for _ in range(3):
                await coordinator.async_refresh()
                await asyncio.sleep(0.2)
            rss_end = _rss()
            await probe.stop()
            report = coordinator.fitter.data.report
            await hass.config_entries.async_unload(entry.entry_id)

    gc.callbacks.remove(on_gc)

    def gc_pause(name: str) -> float:
        longest = 0.0
        for a, b in windows[name]:
            for start, end, _gen in gc_pauses:
                if start <= b and end >= a:
                    longest = max(longest, end - start)
        return longest * 1000

    # The first fit imports numpy and the models in the worker; later refits show the
    # steady cost.
    fits = [b - a for a, b in windows["fit"]]
    windows["first_fit"], windows["fit"] = windows["fit"][:1], windows["fit"][1:] or windows["fit"]

    def stall(name: str) -> float:
        return max((probe.worst(a, b) for a, b in windows[name]), default=0.0) * 1000

    pause_spans = [(a, b) for a, b, _gen in gc_pauses]

    def stall_beyond_gc(name: str) -> float:
        return max((probe.worst_beyond(a, b, pause_spans) for a, b in windows[name]), default=0.0) * 1000

    def full_collections(spans: list[tuple[float, float]]) -> int:
        return sum(1 for start, end, gen in gc_pauses if gen == 2 and any(start <= b and end >= a for a, b in spans))

    predicts = [b - a for a, b in windows["predict"]]
    model_seconds: dict[str, list[float]] = {}
    for fit in fit_reports[1:] or fit_reports:
        for name, seconds in fit.model_seconds.items():
            model_seconds.setdefault(name, []).append(seconds)
    bootstrap_seconds = windows["bootstrap"][0][1] - windows["bootstrap"][0][0]
    return {
        "entities": entities_count,
        "days": days,
        "recorder_rows": db_meta["rows"],
        "points_kept": points,
        "bootstrap_s": round(bootstrap_seconds, 3),
        "setup_s": round(setup_end - setup_start, 3),
        "refit_s": round(statistics.median(fits[1:] or fits), 3),
        "refit_s_first": round(fits[0], 3),
        "refit_s_per_model": {k: round(statistics.median(v), 4) for k, v in model_seconds.items()},
        "models_ready": dict(report.ready),
        "models_not_ready": {model: say_reasons(reasons) for model, reasons in report.reasons.items()},
        "predict_s": round(statistics.median(predicts), 4) if predicts else None,
        "stall_ms_idle_without_smartml": round(probe.worst(idle_start, idle_end) * 1000, 2),
        "stall_ms_bootstrap": round(stall("bootstrap"), 2),
        "stall_ms_refit": round(stall("fit"), 2),
        "stall_ms_predict": round(stall("predict"), 2),
        "stall_ms_setup": round(probe.worst(setup_start, setup_end) * 1000, 2),
        "stall_ms_beyond_gc_idle_without_smartml": round(
            probe.worst_beyond(idle_start, idle_end, pause_spans) * 1000, 2
        ),
        "stall_ms_beyond_gc_paced_thread_without_smartml": round(
            probe.worst_beyond(reference_start, reference_end, pause_spans) * 1000, 2
        ),
        "late_wakeups_over_5ms": {
            name: _late_wakeups(probe, spans)
            for name, spans in (
                ("idle_without_smartml", [(idle_start, idle_end)]),
                ("paced_thread_without_smartml", [(reference_start, reference_end)]),
                ("bootstrap", windows["bootstrap"]),
                ("refit", windows["fit"]),
                ("predict", windows["predict"]),
            )
        },
        "stall_ms_beyond_gc_bootstrap": round(stall_beyond_gc("bootstrap"), 2),
        "stall_ms_beyond_gc_refit": round(stall_beyond_gc("fit"), 2),
        "stall_ms_beyond_gc_first_fit": round(stall_beyond_gc("first_fit"), 2),
        "stall_ms_beyond_gc_predict": round(stall_beyond_gc("predict"), 2),
        "stall_ms_beyond_gc_setup": round(probe.worst_beyond(setup_start, setup_end, pause_spans) * 1000, 2),
        "full_collections_idle_3s_without_smartml": full_collections([(idle_start, idle_end)]),
        "full_collections_bootstrap": full_collections(windows["bootstrap"]),
        "full_collections_refit": full_collections(windows["fit"]),
        "gc_pause_ms_idle_without_smartml": round(
            max((e - s for s, e, _g in gc_pauses if s <= idle_end and e >= idle_start), default=0.0) * 1000, 2
        ),
        "gc_pause_ms_bootstrap": round(gc_pause("bootstrap"), 2),
        "gc_pause_ms_refit": round(gc_pause("fit"), 2),
        "gc_pause_ms_predict": round(gc_pause("predict"), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_added_after_setup": round(rss_after_setup - rss_before, 1),
        "rss_mb_added_end": round(rss_end - rss_before, 1),
        "observation_arrays_mb": round(store_bytes / MB, 2),
        **saves,
        "stall_ms_beyond_gc_save": round(stall_beyond_gc("save"), 2),
        "stall_ms_save": round(stall("save"), 2),
    }


async def _measure_saves(storage: Any, windows: dict[str, list[tuple[float, float]]]) -> dict[str, float]:
    """Each store file's size and write time (best of 3), and what the throttles write a day."""
    from custom_components.smartml.const import OBSERVATIONS_SAVE_INTERVAL, SAVE_INTERVAL

    windows["save"] = []
    seconds: dict[str, list[float]] = {"main": [], "observations": []}
    for _ in range(3):
        for name, save in (("main", storage.async_save_choices), ("observations", storage.async_save_observations)):
            started = time.perf_counter()
            await save()
            seconds[name].append(time.perf_counter() - started)
            windows["save"].append((started, time.perf_counter()))
    main_bytes = os.path.getsize(storage.path)
    observation_bytes = os.path.getsize(storage.observations_path)
    per_day = main_bytes * 86_400 / SAVE_INTERVAL + observation_bytes * 86_400 / OBSERVATIONS_SAVE_INTERVAL
    return {
        "store_main_kb": round(main_bytes / 1024, 1),
        "store_observations_mb": round(observation_bytes / MB, 2),
        "save_s_main": round(min(seconds["main"]), 4),
        "save_s_observations": round(min(seconds["observations"]), 3),
        "store_mb_written_per_day": round(per_day / MB, 1),
    }


def _late_wakeups(probe: Any, spans: list[tuple[float, float]], above: float = 0.005) -> dict[str, float]:
    """How many times the loop woke more than `above` late in these windows, and their length."""
    late = sum(1 for ts, lateness in probe.samples if lateness > above and any(a <= ts <= b for a, b in spans))
    return {"count": late, "seconds": round(sum(b - a for a, b in spans), 2)}


# --- a year of events -----------------------------------------------------------------


def measure_year(entities_count: int, days: int) -> dict[str, Any]:
    """Memory of the observation store after `days` of a home's events, fed as they come.

    Numeric sensors are fed one reading per 5-minute bucket (what the buffers keep of any
    faster stream); the store is pruned every 6 hours as the coordinator does at refit.
    """
    from custom_components.smartml.const import RETENTION_DAYS_MIN
    from custom_components.smartml.engine.observations import ObservationStore, entity_roles

    from .home import DAY, build_entities, history, options

    entities = build_entities(entities_count)
    roles = entity_roles(options(entities))
    store = ObservationStore()
    rss_start = _rss()
    end = time.time()
    start = end - days * DAY
    retention = max(28, RETENTION_DAYS_MIN) * DAY
    events = 0
    checkpoints: dict[str, float] = {}
    started = time.perf_counter()
    chunk = 6 * 3600.0
    generators = {e.entity_id: _bucketed(history(e, start, end, seed=i), e.kind) for i, e in enumerate(entities)}
    pending: dict[str, tuple[float, str, dict[str, Any]] | None] = {k: next(g, None) for k, g in generators.items()}
    t = start
    while t < end:
        t += chunk
        for entity_id, gen in generators.items():
            row = pending[entity_id]
            role = roles[entity_id]
            while row is not None and row[0] < t:
                store.add_state(entity_id, role, row[1], row[0], row[2])
                events += 1
                row = next(gen, None)
            pending[entity_id] = row
        store.prune_before(t - retention)
        elapsed_days = (t - start) / DAY
        if "28d" not in checkpoints and elapsed_days >= 28:
            checkpoints["28d"] = _rss() - rss_start
    rss_end = _rss() - rss_start
    return {
        "entities": entities_count,
        "days": days,
        "events_fed": events,
        "seconds": round(time.perf_counter() - started, 1),
        "points_kept": store.total_points,
        "rss_mb_added_28d": round(checkpoints.get("28d", rss_end), 1),
        "rss_mb_added_end": round(rss_end, 1),
        "max_points_per_channel": store.max_points,
    }


def _bucketed(rows: Any, kind: str) -> Any:
    if kind not in ("power", "environment", "outdoor", "energy"):
        yield from rows
        return
    last_bucket = None
    for row in rows:
        bucket = row[0] // 300
        if bucket != last_bucket:
            last_bucket = bucket
            yield row


# --- import ---------------------------------------------------------------------------

PLATFORM_MODULES = [
    "custom_components.smartml",
    "custom_components.smartml.config_flow",
    "custom_components.smartml.sensor",
    "custom_components.smartml.binary_sensor",
    "custom_components.smartml.event",
    "custom_components.smartml.switch",
    "custom_components.smartml.diagnostics",
]


def measure_import(preload: list[str]) -> dict[str, Any]:
    """Import the integration and its platforms; what it costs and what it pulls in."""
    import importlib

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - a module that only imports as part of another
            continue
    before = set(sys.modules)
    rss_before = _rss()
    started = time.perf_counter()
    for name in PLATFORM_MODULES:
        importlib.import_module(name)
    seconds = time.perf_counter() - started
    rss_added = _rss() - rss_before
    added = sorted(set(sys.modules) - before)
    return {
        "seconds": round(seconds, 4),
        "rss_mb_added": round(rss_added, 2),
        "modules_added": len(added),
        "outside_modules_added": [m for m in added if not m.startswith("custom_components")],
        "sklearn_imported": any(m == "sklearn" or m.startswith("sklearn.") for m in sys.modules),
        "numpy_imported": "numpy" in sys.modules,
        "scipy_imported": "scipy" in sys.modules,
    }


def main() -> None:
    """Run one measurement and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.measure")
    parser.add_argument("name", choices=["callback", "home", "year", "import"])
    parser.add_argument("--entities", type=int, default=200)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--refits", type=int, default=3)
    parser.add_argument("--preload", default="")
    args = parser.parse_args()
    _quiet_logs()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.name == "callback":
        result = asyncio.run(measure_callback(args.entities, args.events, args.rounds))
    elif args.name == "home":
        result = asyncio.run(measure_home(args.entities, args.days, args.refits))
    elif args.name == "year":
        result = measure_year(args.entities, args.days)
    else:
        preload = args.preload
        if preload.startswith("@"):
            preload = Path(preload[1:]).read_text(encoding="utf-8")
        result = measure_import([m for m in preload.split(",") if m])
    print(json.dumps(result))  # noqa: T201


if __name__ == "__main__":
    main()
