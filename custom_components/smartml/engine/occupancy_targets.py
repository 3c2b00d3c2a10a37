"""Occupancy targets: which slots each area and the home were occupied in (numpy; executor only).

Targets are per time slot (15 min by default): an area is occupied in a slot when any of
its occupancy entities was on at some moment of it (and, where a presence entity says who
is home, only while the home is occupied). A `Timeline` is a slot grid with these targets
for its observed slots; the model extends its fit timeline with the slots observed since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS, HOME
from .observations import ROLE_OCCUPANCY, ROLE_PRESENCE, ObservationStore, entity_roles
from .slots import binary_changed, binary_occupied, counted, slot_grid, time_of_week

# An area first read this long after the timeline starts had its sensors added later (in
# Home Assistant's history every entity has its state from the start; a sensor's first
# change may still come hours in, the kitchen before breakfast).
ADDED_LATER_SECONDS: Final = DAY_SECONDS


def occupancy_targets(
    store: ObservationStore, spec: Mapping[str, Any], starts: NDArray[np.float64], slot_seconds: float
) -> dict[str, NDArray[np.bool_]]:
    """Occupied or not per slot for each configured area (with occupancy entities) and the home.

    Without a presence entity the home is occupied when any area was, or any home-level
    occupancy entity was on. With one, the presence says who is home: the home is occupied
    when a presence entity was home in the slot or an occupancy entity changed in it (a
    guest, a phone left behind), and an area is occupied only while the home is. A door
    left open or a sensor stuck on in an empty, still home is not a room in use. Slots
    before the presence's first reading are read as without one.
    """

    def any_on(entities: Sequence[str]) -> NDArray[np.bool_] | None:
        found = [store.channels[e] for e in entities if e in store.channels]
        if not found:
            return None
        out = np.zeros(len(starts), dtype=bool)
        for buf in found:
            out |= binary_occupied(buf, starts, slot_seconds)
        return out

    areas = {
        str(area): list((conf or {}).get(ROLE_OCCUPANCY) or []) for area, conf in (spec.get("areas") or {}).items()
    }
    home_wide = list(spec.get(ROLE_OCCUPANCY) or [])
    targets = {area: occupied for area, entities in areas.items() if (occupied := any_on(entities)) is not None}
    found = [*targets.values()] + [on for on in (any_on(home_wide),) if on is not None]
    by_sensors = np.logical_or.reduce(found) if found else None
    people = [e for e in spec.get(ROLE_PRESENCE) or [] if e in store.channels and store.channels[e].times]
    home = any_on(people)
    if home is None:
        if by_sensors is not None:
            targets[HOME] = by_sensors
        return targets
    for entity_id in [*home_wide, *(e for entities in areas.values() for e in entities)]:
        if entity_id in store.channels:
            home |= binary_changed(store.channels[entity_id], starts, slot_seconds)
    # Before the presence's first reading the sensors are all there is.
    known = starts + slot_seconds > min(store.channels[e].times[0] for e in people)
    if by_sensors is not None:
        home = np.where(known, home, by_sensors)
    targets = {area: np.where(known, occupied & home, occupied) for area, occupied in targets.items()}
    targets[HOME] = home
    return targets


def run_lengths(y: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Slots the current state has lasted at each slot (1 at a change)."""
    n = len(y)
    if not n:
        return np.zeros(0, dtype=np.int64)
    index = np.arange(n)
    change = np.r_[True, y[1:] != y[:-1]]
    last_change = np.maximum.accumulate(np.where(change, index, 0))
    return np.asarray(index - last_change + 1, dtype=np.int64)


def first_observation(store: ObservationStore) -> float | None:
    """Time of the first occupancy or presence observation, None when there is none."""
    firsts = [
        buf.times[0]
        for ch, buf in store.channels.items()
        if buf.times and store.roles.get(ch) in (ROLE_OCCUPANCY, ROLE_PRESENCE)
    ]
    return min(firsts) if firsts else None


@dataclass(slots=True)
class Timeline:
    """A slot grid with the scopes' observed targets (slots before `known` are observed)."""

    starts: NDArray[np.float64]
    tow: NDArray[np.int64]
    known: int
    targets: dict[str, NDArray[np.bool_]]
    # Observed slots that count: False in periods the household excluded from learning.
    counted: NDArray[np.bool_]
    # Per area, the first slot its sensors were read in: a sensor added later says nothing
    # of the weeks before it (they are not "empty"). Scopes not named: from the first slot.
    observed_from: dict[str, int] = field(default_factory=dict)

    def kept(self, scope: str) -> NDArray[np.bool_]:
        """The observed slots that count for a scope: not excluded, and read by its sensors."""
        kept = self.counted.copy()
        kept[: self.observed_from.get(scope, 0)] = False
        return kept


def excluded_spans(store: ObservationStore, spec: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The excluded spans that concern occupancy (those of its sensors and presence)."""
    return store.excluded_spans(e for e, role in entity_roles(spec).items() if role in (ROLE_OCCUPANCY, ROLE_PRESENCE))


def slot_timeline(
    store: ObservationStore,
    spec: Mapping[str, Any],
    timezone: str,
    slot_minutes: int,
    start: float,
    known_until: float,
    extend_until: float,
) -> Timeline:
    """Slots from `start` to `extend_until`, with targets for those that end by `known_until`."""
    step = slot_minutes * 60.0
    starts = slot_grid(start, max(extend_until, known_until), slot_minutes)
    known = int(np.searchsorted(starts, known_until - step, side="right"))
    targets = occupancy_targets(store, spec, starts[:known], step)
    kept = counted(starts[:known] + step / 2, excluded_spans(store, spec))
    observed_from = {
        area: int(np.searchsorted(starts[:known], first - step, side="right"))
        for area, first in first_readings(store, spec).items()
        if area in targets and first > start + ADDED_LATER_SECONDS
    }
    return Timeline(starts, time_of_week(starts, timezone, slot_minutes), known, targets, kept, observed_from)


def first_readings(store: ObservationStore, spec: Mapping[str, Any]) -> dict[str, float]:
    """When each area's occupancy entities were first read."""
    out: dict[str, float] = {}
    for area, conf in (spec.get("areas") or {}).items():
        firsts = [
            store.channels[e].times[0]
            for e in (conf or {}).get(ROLE_OCCUPANCY) or []
            if e in store.channels and store.channels[e].times
        ]
        if firsts:
            out[str(area)] = float(min(firsts))
    return out


def extended_timeline(
    fitted: Timeline,
    store: ObservationStore,
    spec: Mapping[str, Any],
    timezone: str,
    slot_minutes: int,
    origin_ts: float,
    horizon_ts: float,
) -> Timeline:
    """The fit timeline with the slots observed since the fit appended, up to `horizon_ts`.

    The fit's scopes are kept (a scope that appeared since waits for the next fit).
    """
    step = slot_minutes * 60.0
    fit_end = fitted.starts[0] + fitted.known * step
    if origin_ts <= fit_end:
        fresh_known = 0
        fresh = slot_timeline(store, spec, timezone, slot_minutes, fit_end, fit_end, horizon_ts)
    else:
        fresh = slot_timeline(store, spec, timezone, slot_minutes, fit_end, origin_ts, horizon_ts)
        fresh_known = fresh.known
    targets = {}
    for scope, y in fitted.targets.items():
        tail = fresh.targets.get(scope, np.zeros(fresh_known, dtype=bool))[:fresh_known]
        targets[scope] = np.concatenate([y[: fitted.known], tail])
    return Timeline(
        np.concatenate([fitted.starts[: fitted.known], fresh.starts]),
        np.concatenate([fitted.tow[: fitted.known], fresh.tow]),
        fitted.known + fresh_known,
        targets,
        np.concatenate([fitted.counted[: fitted.known], fresh.counted[:fresh_known]]),
        fitted.observed_from,
    )
