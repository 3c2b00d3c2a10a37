"""Why the occupancy model says what it says: a prediction split into its contributions.

The classifier is linear in its features, so the log-odds of a prediction split exactly
into one part per feature: its weight times the feature's distance from its mean over the
scope's training rows (the scope's usual moment).
The parts are summed by what a person would name (the routine, the scope's own activity,
activity elsewhere, nobody home), and the strongest come back with the facts that say them
in numbers. Words are the Home Assistant layer's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .constants import HOME
from .observations import ROLE_OCCUPANCY, ROLE_PRESENCE, ObservationStore
from .occupancy_features import (
    COLUMN_AWAY,
    COLUMN_OTHER_AREAS,
    DECAY_SLOTS,
    FEATURE_GROUPS,
    GROUP_ACTIVITY,
    GROUP_AWAY,
    GROUP_ELSEWHERE,
    GROUP_ROUTINE,
    LOGIT_LIMIT,
    feature_rows,
)
from .occupancy_routine import Routines
from .results import (
    CONTRIBUTION_ACTIVITY,
    CONTRIBUTION_AWAY,
    CONTRIBUTION_ELSEWHERE,
    CONTRIBUTION_ROUTINE,
    MAX_CONTRIBUTIONS,
    Contribution,
)

# The routine's share is counted over this many weeks of the same kind of day.
ROUTINE_WEEKS: Final = 4
# Saturday and Sunday (Monday is day 0 of the week).
FIRST_WEEKEND_DAY: Final = 5

FloatArray = NDArray[np.float64]


def scope_entities(spec: Mapping[str, Any], scope: str) -> list[str]:
    """The entities whose being on means the scope is in use (the home: all of them and presence)."""
    areas: Mapping[str, Any] = spec.get("areas") or {}
    if scope != HOME:
        return [str(e) for e in (areas.get(scope) or {}).get(ROLE_OCCUPANCY) or []]
    entities = [str(e) for conf in areas.values() for e in (conf or {}).get(ROLE_OCCUPANCY) or []]
    return entities + [str(e) for role in (ROLE_PRESENCE, ROLE_OCCUPANCY) for e in spec.get(role) or []]


def last_on(store: ObservationStore, entities: Sequence[str], now: float, level_counts: bool = True) -> float | None:
    """When any of the entities was last on: `now` while one is, None when none ever was.

    level_counts False (nobody is home): a sensor left on is no one there, so its last
    change is the last sign of use.
    """
    latest: float | None = None
    for entity in entities:
        buf = store.channels.get(entity)
        if buf is None or not buf.times:
            continue
        times = np.frombuffer(buf.times, dtype=np.float64)
        known = int(np.searchsorted(times, now, side="right"))  # a replay's store holds the future too
        on = np.flatnonzero(np.frombuffer(buf.values, dtype=np.float64)[:known] > 0.5)
        if not len(on):
            continue
        index = int(on[-1])
        # On until the next transition; the last one known is still on, or was only turned on.
        still_on = now if level_counts else float(times[index])
        ended = float(times[index + 1]) if index < known - 1 else still_on
        latest = ended if latest is None else max(latest, ended)
    return latest


def routine_share(routines: Routines, scope: str, origin: int) -> tuple[float | None, int, bool]:
    """(occupied share, weeks, weekend) of the slot at `origin` over past same-kind days.

    The share counts the same time of day on the same kind of day (weekday or weekend)
    over the last ROUTINE_WEEKS weeks; None when no such slot was observed.
    """
    timeline = routines.timeline
    per_day = routines.per_day
    tow = int(timeline.tow[origin])
    weekend = tow // per_day >= FIRST_WEEKEND_DAY
    first = max(0, origin - ROUTINE_WEEKS * 7 * per_day)
    past = np.arange(first, min(origin, timeline.known))
    past_tow = timeline.tow[past]
    same = past[(past_tow % per_day == tow % per_day) & ((past_tow // per_day >= FIRST_WEEKEND_DAY) == weekend)]
    weeks = max(1, math.ceil((origin - first) / (7 * per_day)))
    if not len(same):
        return None, weeks, weekend
    return float(timeline.targets[scope][same].mean()), weeks, weekend


def contributions(
    routines: Routines,
    scope: str,
    origin: int,
    coef: FloatArray | None,
    mean: FloatArray | None,
    now: float,
    last_active: float | None,
    presence: bool = True,
) -> tuple[Contribution, ...]:
    """The strongest contributions to P(occupied) of the slot at `origin` (the next one).

    last_active: when the scope's sensors were last on (`now` while one is, None if never).
    presence: whether the home has presence entities; without them a quiet home (asleep,
    sitting still) is not known to be empty, so it is never said to be.
    """
    row = feature_rows(routines, scope, np.array([origin]), np.array([1]))[0]
    weights: dict[str, float] = {}
    if coef is not None and mean is not None:
        for group, part in zip(FEATURE_GROUPS, coef * (row - mean), strict=True):
            if group is not None:
                weights[group] = weights.get(group, 0.0) + float(part)
    else:
        # Without a classifier the last state fades into the routine (occupied_probability).
        fade = math.exp(-1.0 / DECAY_SLOTS[1])
        _, p_day, p_week = routines.probabilities(scope, np.array([origin]), np.array([1]))
        routine = float(np.clip(0.5 * (p_day[0] + p_week[0]), 1e-4, 1 - 1e-4))
        last = float(routines.timeline.targets[scope][origin - 1])
        weights[GROUP_ROUTINE] = (1.0 - fade) * math.log(routine / (1.0 - routine))
        weights[GROUP_ACTIVITY] = fade * LOGIT_LIMIT * (2.0 * last - 1.0)
    share, weeks, weekend = routine_share(routines, scope, origin)
    found = [
        Contribution(CONTRIBUTION_ROUTINE, weights.get(GROUP_ROUTINE, 0.0), share=share, weeks=weeks, weekend=weekend),
        Contribution(
            CONTRIBUTION_ACTIVITY,
            weights.get(GROUP_ACTIVITY, 0.0),
            active=last_active is not None and last_active >= now,
            last_active=last_active,
        ),
    ]
    # Context is named only when it holds: another area was used, nobody is home.
    if row[COLUMN_OTHER_AREAS] > 0 and GROUP_ELSEWHERE in weights and scope != HOME:
        found.append(Contribution(CONTRIBUTION_ELSEWHERE, weights[GROUP_ELSEWHERE]))
    if presence and row[COLUMN_AWAY] > 0 and GROUP_AWAY in weights:
        found.append(Contribution(CONTRIBUTION_AWAY, weights[GROUP_AWAY]))
    found.sort(key=lambda c: abs(c.weight), reverse=True)
    return tuple(found[:MAX_CONTRIBUTIONS])
