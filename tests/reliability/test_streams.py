"""Arbitrary state streams into the observation store, the slotting and every model.

Streams mix odd states, units and attributes, timestamps out of order, daylight-saving
transitions and clock jumps. Whatever comes in: nothing raises, every kept value is a
finite number, buffers stay ordered and bounded, and no model prediction is NaN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
import importlib.util
import itertools
import json
import logging
import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import numpy as np
import pytest

from custom_components.smartml.engine.home import HomeModels
from custom_components.smartml.engine.observations import (
    KIND_STATE,
    ChannelBuffer,
    ObservationStore,
    entity_roles,
)
from custom_components.smartml.engine.slots import (
    binary_occupied,
    local_times,
    slot_grid,
    slot_mean,
    slots_per_week,
    state_at,
    time_of_week,
)
from custom_components.smartml.fit_reasons import say_reasons

TZ = "Europe/Berlin"
# 2024-03-31 01:00 UTC (spring forward) and 2024-10-27 01:00 UTC (fall back) in Berlin.
DST_MOMENTS = (1711846800.0, 1729990800.0)
SPEC: dict[str, Any] = {
    "timezone": TZ,
    "areas": {
        "kitchen": {"occupancy": ["binary_sensor.kitchen"], "environment": ["sensor.kitchen_co2"]},
        "bedroom": {"occupancy": ["binary_sensor.bedroom"], "environment": []},
    },
    "occupancy": ["binary_sensor.hall"],
    "presence": ["person.alex", "device_tracker.phone"],
    "power": ["sensor.power"],
    "energy": ["sensor.energy"],
    "climate": ["climate.living"],
    "security": ["binary_sensor.door", "lock.front"],
    "outdoor_temperature": "sensor.outdoor",
}
ROLES = entity_roles(SPEC)
ENTITIES = sorted(ROLES)

weird_text = st.text(min_size=0, max_size=40)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
states = st.one_of(
    st.sampled_from(
        [
            "on",
            "off",
            "home",
            "not_home",
            "work",
            "open",
            "closed",
            "locked",
            "unlocked",
            "jammed",
            "heat",
            "cool",
            "off",
            "auto",
            "heat_cool",
            "unknown",
            "unavailable",
            "",
            "nan",
            "inf",
            "-inf",
            "1e309",
            "NaN",
            "12,5",
            " 42 ",
            "0x10",
            "True",
            "None",
            "∞",
            "\x00",
            "🙂",
        ]
    ),
    numbers.map(str),
    weird_text,
)
units = st.one_of(
    st.none(),
    st.sampled_from(["W", "kW", "MW", "mW", "Wh", "kWh", "MWh", "°C", "°F", "F", "K", "%", "ppm", "", "lx"]),
    weird_text,
    st.integers(),
)
attribute_values = st.one_of(
    st.none(), st.booleans(), numbers, weird_text, st.lists(st.integers(), max_size=3), numbers.map(str)
)
attributes = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "unit_of_measurement": units,
            "temperature": attribute_values,
            "current_temperature": attribute_values,
            "target_temp_low": attribute_values,
            "target_temp_high": attribute_values,
            "hvac_action": st.one_of(st.sampled_from(["heating", "cooling", "idle", "preheating"]), attribute_values),
            "device_class": weird_text,
        },
    ),
)


@st.composite
def timestamps(draw: st.DrawFn, count: int) -> list[float]:
    """Mostly increasing times around a DST change, with jumps back and forth."""
    base = draw(st.sampled_from(DST_MOMENTS)) - draw(st.floats(0, 3 * 86_400))
    out: list[float] = []
    ts = base
    for _ in range(count):
        step = draw(
            st.one_of(
                st.floats(0, 900),  # ordinary spacing
                st.just(0.0),  # same instant
                st.floats(-7200, 0),  # out of order / clock set back
                st.floats(0, 86_400),  # clock jumps ahead
            )
        )
        ts += step
        out.append(ts)
    return out


@st.composite
def streams(draw: st.DrawFn, max_size: int = 120) -> list[tuple[str, str, float, dict[str, Any] | None]]:
    """(entity_id, state, ts, attributes) rows."""
    size = draw(st.integers(1, max_size))
    times = draw(timestamps(size))
    return [(draw(st.sampled_from(ENTITIES)), draw(states), ts, draw(attributes)) for ts in times]


def assert_buffer_sane(buf: ChannelBuffer) -> None:
    assert len(buf.times) == len(buf.values)
    assert len(buf.times) <= buf.max_points + buf.max_points // 4
    assert all(math.isfinite(v) for v in buf.values)
    assert all(math.isfinite(t) for t in buf.times)
    times = list(buf.times)
    if buf.kind == KIND_STATE:
        assert times == sorted(times)
    else:
        assert all(a < b for a, b in itertools.pairwise(times))
    assert math.isfinite(buf.bucket_value)


def assert_store_sane(store: ObservationStore) -> None:
    for channel, buf in store.channels.items():
        assert channel in store.roles
        assert_buffer_sane(buf)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=streams())
def test_live_stream_never_raises_and_keeps_finite_ordered_values(
    rows: list[tuple[str, str, float, dict[str, Any] | None]],
) -> None:
    store = ObservationStore(max_points=16)  # small bound so trimming is exercised
    for entity_id, state, ts, attrs in rows:
        added = store.add_state(entity_id, ROLES[entity_id], state, ts, attrs)
        assert added >= 0
    assert_store_sane(store)
    # Saved form is plain JSON and loads back the same.
    saved = json.loads(json.dumps(store.as_dict(), allow_nan=False))
    restored = ObservationStore.from_dict(saved, max_points=16)
    assert set(restored.channels) == set(store.channels)
    assert_store_sane(restored)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live=streams(60), history=streams(60))
def test_history_merge_with_live_stream_never_raises_and_stays_ordered(
    live: list[tuple[str, str, float, dict[str, Any] | None]],
    history: list[tuple[str, str, float, dict[str, Any] | None]],
) -> None:
    store = ObservationStore(max_points=32)
    half = len(live) // 2
    for entity_id, state, ts, attrs in live[:half]:
        store.add_state(entity_id, ROLES[entity_id], state, ts, attrs)
    pending = store.prepare_merge(history, ROLES)
    # Live events keep arriving while the merge is prepared in a worker.
    for entity_id, state, ts, attrs in live[half:]:
        store.add_state(entity_id, ROLES[entity_id], state, ts, attrs)
    store.commit_merge(pending)
    assert_store_sane(store)
    # Once history has been merged with no live event in between, merging it again adds
    # nothing. (The first merge ran while live events arrived: a live state with the same
    # time as a history row can make one more history row new.)
    store.commit_merge(store.prepare_merge(history, ROLES))
    assert store.commit_merge(store.prepare_merge(history, ROLES)) == 0
    assert_store_sane(store)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=streams(), slot_minutes=st.sampled_from([5, 15, 30, 60]))
def test_slotting_of_any_stream_is_finite_and_in_range(
    rows: list[tuple[str, str, float, dict[str, Any] | None]], slot_minutes: int
) -> None:
    store = ObservationStore()
    for entity_id, state, ts, attrs in rows:
        store.add_state(entity_id, ROLES[entity_id], state, ts, attrs)
    span = store.time_span()
    if span is None:
        return
    starts = slot_grid(span[0] - 3600, span[1] + 3600, slot_minutes)
    week = time_of_week(starts, TZ, slot_minutes)
    assert ((week >= 0) & (week < slots_per_week(slot_minutes))).all()
    assert np.isfinite(local_times(starts, TZ)).all()
    seconds = slot_minutes * 60.0
    snapshot = store.snapshot()
    for buf in snapshot.channels.values():
        occupied = binary_occupied(buf, starts, seconds)
        assert occupied.shape == starts.shape
        at = state_at(buf, starts, default=0.0)
        assert np.isfinite(at).all()
        means = slot_mean(buf, starts, seconds)
        assert not np.isinf(means).any()


def _model_modules() -> Iterator[str]:
    for module in ("occupancy", "anomaly", "energy", "climate"):
        if importlib.util.find_spec(f"custom_components.smartml.engine.{module}") is not None:
            yield module


def _walk_numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, float | int):
        yield float(value)
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from _walk_numbers(getattr(value, item.name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _walk_numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk_numbers(item)


@st.composite
def days_of_streams(draw: st.DrawFn) -> list[tuple[str, str, float, dict[str, Any] | None]]:
    """A few days of a plausible home with hostile rows mixed in (the models need days)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    start = draw(st.sampled_from(DST_MOMENTS)) - draw(st.integers(2, 6)) * 86_400.0
    days = draw(st.integers(2, 8))
    rows: list[tuple[str, str, float, dict[str, Any] | None]] = []
    for ts in np.sort(rng.uniform(start, start + days * 86_400.0, size=days * 60)).tolist():
        entity_id = ENTITIES[int(rng.integers(len(ENTITIES)))]
        role = ROLES[entity_id]
        if role in ("occupancy", "security"):
            state, attrs = ("on" if rng.random() < 0.5 else "off"), None
        elif role == "presence":
            state, attrs = ("home" if rng.random() < 0.6 else "not_home"), None
        elif role == "climate":
            state = "heat"
            attrs = {"temperature": float(rng.choice([17.0, 20.5])), "current_temperature": float(rng.uniform(15, 22))}
        else:
            state, attrs = f"{rng.uniform(0, 500):.1f}", {"unit_of_measurement": "W" if role == "power" else "kWh"}
        rows.append((entity_id, state, ts, attrs))
    hostile = draw(streams(40))
    shift = start + days * 86_400.0 / 2 - hostile[0][2]
    rows += [(e, s, ts + shift, a) for e, s, ts, a in hostile]
    return rows


@pytest.mark.parametrize("module", list(_model_modules()))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=days_of_streams())
def test_every_model_fits_and_predicts_any_stream_without_nan(
    module: str, rows: list[tuple[str, str, float, dict[str, Any] | None]]
) -> None:
    store = ObservationStore()
    for entity_id, state, ts, attrs in rows:
        store.add_state(entity_id, ROLES[entity_id], state, ts, attrs)
    span = store.time_span()
    assert span is not None
    now = span[1] + 600.0
    models = HomeModels(SPEC, {"sensitivity": "medium"})
    fitter = getattr(models, f"_fit_{module if module != 'anomaly' else 'security'}")
    # Call the model's own fit (HomeModels.fit would swallow and log its exceptions).
    ready, reasons = fitter(store.snapshot(), now)
    assert isinstance(say_reasons(reasons), str)  # every reason has its words
    models.report.ready = {module if module != "anomaly" else "security": bool(ready)}
    prediction = models.predict(store.snapshot(since=now - 8 * 86_400), now, presence=None)
    numbers = list(_walk_numbers(prediction))
    assert numbers, prediction
    assert all(math.isfinite(x) for x in numbers), prediction


def test_model_failure_is_contained_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """HomeModels keeps the other models when one raises (the guard the tests above rely on)."""
    store = ObservationStore()
    store.add_state("binary_sensor.kitchen", "occupancy", "on", DST_MOMENTS[0] - 5 * 86_400)
    store.add_state("binary_sensor.kitchen", "occupancy", "off", DST_MOMENTS[0])

    class Boom(HomeModels):
        def _fit_occupancy(self, store: ObservationStore, now: float) -> tuple[bool, str]:
            raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        report = Boom({"timezone": TZ, "occupancy": ["binary_sensor.kitchen"]}).fit(store, DST_MOMENTS[0] + 60)
    assert report.ready["occupancy"] is False
    assert "fit failed" in say_reasons(report.reasons["occupancy"])
