"""Pacing: worker code hands the interpreter over once a slice; nowhere else does it pause."""

from __future__ import annotations

import sys
import types

import pytest

from custom_components.smartml.engine import pacing


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(pacing.time, "perf_counter", fake.perf_counter)
    monkeypatch.setattr(pacing.time, "sleep", fake.sleep)
    return fake


def test_pace_does_nothing_outside_paced_work(clock: _Clock) -> None:
    # The event loop and the evaluation scripts call the same helpers: they must never sleep.
    for _ in range(10):
        clock.now += 1.0
        pacing.pace()
    assert clock.sleeps == []


def test_paced_work_pauses_once_per_slice(clock: _Clock) -> None:
    with pacing.paced():
        pacing.pace()  # within the first slice
        assert clock.sleeps == []
        clock.now += pacing.SLICE_SECONDS
        pacing.pace()
        pacing.pace()  # the next slice has just begun
        clock.now += 10 * pacing.SLICE_SECONDS
        pacing.pace()
    assert clock.sleeps == [pacing.PAUSE_SECONDS, pacing.PAUSE_SECONDS]
    clock.now += 1.0
    pacing.pace()
    assert len(clock.sleeps) == 2


def test_paced_decorates_worker_functions(clock: _Clock) -> None:
    @pacing.paced()
    def work() -> None:
        clock.now += pacing.SLICE_SECONDS
        pacing.pace()

    work()
    work()
    assert clock.sleeps == [pacing.PAUSE_SECONDS, pacing.PAUSE_SECONDS]


def test_one_blas_thread_limits_blas_and_finds_libraries_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np  # noqa: F401 - loads the BLAS library to limit
    import threadpoolctl

    scans = []
    real = threadpoolctl.ThreadpoolController

    def counting() -> threadpoolctl.ThreadpoolController:
        scans.append(1)
        return real()

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", counting)
    pacing._controllers.clear()
    for round_ in range(3):
        with pacing.one_blas_thread():
            blas = [pool for pool in real().info() if pool["user_api"] == "blas"]
            assert blas and all(pool["num_threads"] == 1 for pool in blas)
        # Modules imported in between (as Home Assistant keeps doing) bring no new search.
        monkeypatch.setitem(sys.modules, f"unrelated_module_{round_}", types.ModuleType("unrelated"))
    assert len(scans) == 1
    # A change in which packages with pools of their own are loaded brings a new search.
    if "sklearn" in sys.modules:
        monkeypatch.delitem(sys.modules, "sklearn")
    else:
        monkeypatch.setitem(sys.modules, "sklearn", types.ModuleType("sklearn"))
    with pacing.one_blas_thread():
        pass
    assert len(scans) == 2
