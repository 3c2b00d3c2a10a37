"""Energy feedback: anomalies the user marked normal raise the detector that raised them.

Each entry keeps the anomaly's id, time, type and facts as they were stored; applying it
lifts that detector's threshold 10 % above what it saw (for a long run, at each hour of day
the run covered; above forecast, the excess over the forecast). Applied after every fit,
so a refit does not forget what the user said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NotRequired, TypedDict

from .constants import FEEDBACK_MARGIN, TYPE_ABOVE_FORECAST, TYPE_BASE_LOAD, TYPE_EMPTY_HOME, TYPE_STUCK_ON
from .energy_detectors import EnergyDetectors

# The newest entries kept.
MAX_FEEDBACK: Final = 50


class FeedbackJson(TypedDict):
    """Stored form of one entry (entries stored before ids were kept have neither id nor ts)."""

    type: str | None
    facts: dict[str, object]
    id: NotRequired[str]
    ts: NotRequired[float]


@dataclass(frozen=True, slots=True)
class EnergyFeedback:
    """One anomaly marked normal: its id and time (if known), type and facts (the stored JSON form)."""

    type: str | None
    facts: Mapping[str, object]
    id: str | None = None
    ts: float | None = None

    def as_json(self) -> FeedbackJson:
        """The stored form."""
        out: FeedbackJson = {"type": self.type, "facts": dict(self.facts)}
        if self.id is not None:
            out["id"] = self.id
        if self.ts is not None:
            out["ts"] = self.ts
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EnergyFeedback:
        """Read the stored form; facts that are not a mapping count as none."""
        type_, facts, id_, ts = data.get("type"), data.get("facts"), data.get("id"), data.get("ts")
        return cls(
            type=None if type_ is None else str(type_),
            facts=dict(facts) if isinstance(facts, Mapping) else {},
            id=id_ if isinstance(id_, str) else None,
            ts=float(ts) if isinstance(ts, int | float) else None,
        )

    def same_as(self, other: EnergyFeedback) -> bool:
        """Whether both are the same anomaly (by id; by what it said where an id is missing)."""
        if self.id is not None and other.id is not None:
            return self.id == other.id
        return (self.type, dict(self.facts)) == (other.type, dict(other.facts))


def apply_feedback(entries: Sequence[EnergyFeedback], detectors: EnergyDetectors) -> None:
    """Lift the detectors' thresholds above every floor marked normal."""
    for item in entries:
        facts = item.facts
        if item.type == TYPE_ABOVE_FORECAST:
            _lift_above_forecast(facts, detectors)
            continue
        seen = facts.get("floor_w")
        if not isinstance(seen, (int, float)):
            continue
        hour = facts.get("hour")
        if item.type == TYPE_STUCK_ON and isinstance(hour, int):
            limit = facts.get("threshold_w")
            limit_w = float(limit) if isinstance(limit, int | float) else float(seen)
            detectors.lift_stuck(item.ts, float(seen), limit_w, hour)
        elif item.type == TYPE_BASE_LOAD:
            detectors.base_threshold_ = max(detectors.base_threshold_, float(seen) * FEEDBACK_MARGIN)
        elif item.type == TYPE_EMPTY_HOME:
            detectors.empty_threshold_ = max(detectors.empty_threshold_, float(seen) * FEEDBACK_MARGIN)


def _lift_above_forecast(facts: Mapping[str, object], detectors: EnergyDetectors) -> None:
    """Lift the share of the forecast the last hours must exceed above the one marked normal."""
    used, p90, p50 = (facts.get(name) for name in ("used_kwh", "expected_p90_kwh", "expected_p50_kwh"))
    if isinstance(used, int | float) and isinstance(p90, int | float) and isinstance(p50, int | float) and p50 > 0:
        seen = (float(used) - float(p90)) / float(p50)
        detectors.above_fraction_ = max(detectors.above_fraction_, seen * FEEDBACK_MARGIN)
