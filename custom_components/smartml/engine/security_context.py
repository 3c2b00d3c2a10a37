"""The contexts the security model learns rates in, and what it knows of each source.

A context is the home's state (occupied, empty, or night: occupied in the hours the home
is quiet), the day type (weekday or weekend) and the local hour. A source is a security
entity (door, window, lock) or an area (any of its occupancy sensors). An event's surprise
is -ln P(activity starts in its hour-long context) at the source's Poisson rate there.

Plain Python (no numpy): the live checks use it in the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import Final

STATE_OCCUPIED: Final = "occupied"
STATE_EMPTY: Final = "empty"
STATE_NIGHT: Final = "night"
STATES: Final = (STATE_OCCUPIED, STATE_EMPTY, STATE_NIGHT)
DAY_TYPES: Final = ("weekday", "weekend")

# An area's activity starts when one of its sensors turns on after this long without any.
AREA_REFRACTORY_SECONDS: Final = 600.0
# Activity leads up to an arrival, and a leaving through the door goes on, when each start
# follows the last within this (going back in for the keys is still the leaving).
RUN_GAP_SECONDS: Final = 600.0
# Activity this close before an arrival / after a departure belongs to it.
TRANSITION_LOOK_SECONDS: Final = 3600.0
# A leaving of several trips through the door is over this long after the departure: later
# trips are comings and goings again. Van Kasteren 2010 house C's longest was 12 minutes.
LEAVING_MAX_SECONDS: Final = 1200.0


def alerting_states(is_door: bool) -> tuple[int, ...]:
    """Indices of the states in which a source's activity may alert.

    While everyone is away, any activity. With someone home, only a door, window or lock
    opening at an hour when it does not open, comings and goings included: movement inside
    is the household's.
    """
    return tuple(range(len(STATES))) if is_door else (STATES.index(STATE_EMPTY),)


@dataclass(slots=True)
class SecuritySource:
    """What the model knows about one security entity or area."""

    key: str
    label: str
    is_door: bool
    # rates[state][day_type][hour] (per hour) and the raw start counts behind them.
    rates: list[list[list[float]]]
    counts: list[list[list[float]]]
    events: int
    # Surprise above which its activity alerts (the home's, or lower: `source_thresholds`).
    threshold: float = math.inf


@dataclass(frozen=True, slots=True)
class SecurityLearned:
    """What the security model learned of the home, for reports."""

    threshold: float  # surprise above which activity alerts (inf before a fit)
    night_hours: tuple[int, ...]  # local hours in which the occupied home is quiet
    arrival_grace_s: float  # activity this long before an arrival is the arrival
    entry_grace_s: float  # a door opening while away waits this long for an arrival
    departure_grace_s: float  # activity this long after a departure is the leaving
    departure_wait_s: float  # activity while home waits this long for a departure (the home's own lag)
    open_limit_s: Mapping[str, float]  # per door: how long it may stay open
    sources: tuple[str, ...]  # the entities and areas watched, by key
    calibration_days: int = 0  # past days the threshold was calibrated on, each held out
    calibration_days_needed: int = 0  # held-out days the false-alarm target needs
    # Per source, by key: the threshold in force (the home's, or lower where its own days allow).
    source_thresholds: Mapping[str, float] = field(default_factory=dict)


def surprise_of_rate(rate_per_hour: float) -> float:
    """-ln P(at least one start in an hour) for a Poisson rate."""
    p = -math.expm1(-max(rate_per_hour, 1e-12))
    return -math.log(max(p, 1e-300))


def rate_of_surprise(surprise: float) -> float:
    """Inverse of surprise_of_rate."""
    return -math.log1p(-math.exp(-surprise))
