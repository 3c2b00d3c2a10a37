"""Replays: a history CSV and a home spec run through the production engine.

`scripts/evaluate` builds on this. A replay loads the whole history into an
ObservationStore (unbounded, as a long replay needs) with exactly the conversion used for
live states, and walks it forward day by day: fit on the past only, predict what follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
import json
import os
from typing import Any
from zoneinfo import ZoneInfo

from .constants import HomeSpec
from .history_csv import HistoryRows, read_history_csv
from .observations import ObservationStore, entity_roles

REPLAY_MAX_POINTS = 10**9


@dataclass(slots=True)
class Replay:
    """A home's spec, its observations and the raw rows they came from."""

    spec: HomeSpec
    store: ObservationStore
    history: HistoryRows
    start: float
    end: float

    @property
    def timezone(self) -> str:
        """The home's IANA time zone."""
        return str(self.spec.get("timezone", "UTC"))

    def days(self, first_test_day: int = 7) -> Iterator[tuple[float, float]]:
        """(cutoff, next cutoff) pairs at local midnights, from first_test_day on.

        The cutoff is when a daily refit happens: fit on data before it, predict up to
        the next one.
        """
        from datetime import UTC, datetime, timedelta

        tz = ZoneInfo(self.timezone)
        day = datetime.fromtimestamp(self.start, UTC).astimezone(tz).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) + timedelta(days=first_test_day)
        while day.timestamp() < self.end:
            following = (day + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            yield day.timestamp(), min(following.timestamp(), self.end)
            day = following


def load_spec(path: str | os.PathLike[str]) -> HomeSpec:
    """Read a home spec JSON file."""
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    if not isinstance(spec, dict):
        raise ValueError("a home spec is a JSON object")
    return spec


def load_replay(history: str | os.PathLike[str], spec: Mapping[str, Any] | str | os.PathLike[str]) -> Replay:
    """Load a history CSV for the entities of a home spec."""
    spec_dict = dict(spec) if isinstance(spec, Mapping) else load_spec(spec)
    roles = entity_roles(spec_dict)
    tz = ZoneInfo(str(spec_dict.get("timezone", "UTC")))
    rows = read_history_csv(history, roles, default_tz=tz)
    store = ObservationStore(max_points=REPLAY_MAX_POINTS)
    store.merge_states(rows.rows, roles)
    span = store.time_span() or (0.0, 0.0)
    return Replay(spec_dict, store, rows, span[0], span[1])
