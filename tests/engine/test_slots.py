"""Local time in the home's zone: the vectorised lookup against the zone database, time by time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.smartml.engine.energy import hour_of_week
from custom_components.smartml.engine.slots import local_times, time_of_week

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")


def _reference(times: np.ndarray, zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    return [datetime.fromtimestamp(ts, UTC).astimezone(tz) for ts in times.tolist()]


@pytest.mark.parametrize("zone", ZONES)
def test_local_times_match_the_zone_database_across_transitions(zone: str) -> None:
    # Two years of random times in shuffled order, plus every minute around each transition.
    rng = np.random.default_rng(1)
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    times = rng.uniform(start, start + 2 * 365 * 86400, 20_000)
    minutes = np.arange(start, start + 2 * 365 * 86400, 60.0)
    offsets = np.array([d.utcoffset().total_seconds() for d in _reference(minutes[::60], zone)])
    for i in np.flatnonzero(np.diff(offsets)):
        times = np.concatenate([times, minutes[i * 60 : (i + 2) * 60]])
    rng.shuffle(times)

    local = local_times(times, zone)

    expected = np.array(
        [ts + d.utcoffset().total_seconds() for ts, d in zip(times.tolist(), _reference(times, zone), strict=True)]
    )
    np.testing.assert_array_equal(local, expected)


@pytest.mark.parametrize("zone", ZONES)
def test_time_of_week_and_hour_of_week_follow_local_time(zone: str) -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC).timestamp()
    starts = np.arange(start, start + 300 * 86400, 900.0)
    reference = _reference(starts, zone)

    week = time_of_week(starts, zone, 15)
    how, hod = hour_of_week(starts, zone)

    np.testing.assert_array_equal(week, [d.weekday() * 96 + (d.hour * 60 + d.minute) // 15 for d in reference])
    np.testing.assert_array_equal(how, [d.weekday() * 24 + d.hour for d in reference])
    np.testing.assert_array_equal(hod, [d.hour for d in reference])


def test_empty_input() -> None:
    assert local_times(np.zeros(0), "Europe/Berlin").shape == (0,)
    assert time_of_week(np.zeros(0), "Europe/Berlin", 15).shape == (0,)
