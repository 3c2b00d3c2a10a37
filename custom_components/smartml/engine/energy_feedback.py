"""Energy feedback: anomalies the user marked normal raise the detector that raised them.

Each entry keeps the anomaly's type and facts as they were stored; applying it lifts that
detector's threshold 10 % above the floor it saw (for a long run, at that hour of day).
Applied after every fit, so a refit does not forget what the user said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypedDict

from .constants import TYPE_BASE_LOAD, TYPE_EMPTY_HOME, TYPE_STUCK_ON
from .energy_detectors import EnergyDetectors

# The newest entries kept.
MAX_FEEDBACK: Final = 50
# A threshold lifted by feedback sits this much above the floor that was marked normal.
FEEDBACK_MARGIN: Final = 1.1


class FeedbackJson(TypedDict):
    """Stored form of one entry."""

    type: str | None
    facts: dict[str, object]


@dataclass(frozen=True, slots=True)
class EnergyFeedback:
    """One anomaly marked normal: its type and facts (the stored JSON form)."""

    type: str | None
    facts: Mapping[str, object]

    def as_json(self) -> FeedbackJson:
        """The stored form."""
        return {"type": self.type, "facts": dict(self.facts)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EnergyFeedback:
        """Read the stored form; facts that are not a mapping count as none."""
        type_ = data.get("type")
        facts = data.get("facts")
        return cls(
            type=None if type_ is None else str(type_),
            facts=dict(facts) if isinstance(facts, Mapping) else {},
        )


def apply_feedback(entries: Sequence[EnergyFeedback], detectors: EnergyDetectors) -> None:
    """Lift the detectors' thresholds above every floor marked normal."""
    for item in entries:
        facts = item.facts
        seen = facts.get("floor_w")
        if not isinstance(seen, (int, float)):
            continue
        hour = facts.get("hour")
        if item.type == TYPE_STUCK_ON and isinstance(hour, int):
            h = hour % 24
            detectors.stuck_threshold_[h] = max(float(detectors.stuck_threshold_[h]), float(seen) * FEEDBACK_MARGIN)
        elif item.type == TYPE_BASE_LOAD:
            detectors.base_threshold_ = max(detectors.base_threshold_, float(seen) * FEEDBACK_MARGIN)
        elif item.type == TYPE_EMPTY_HOME:
            detectors.empty_threshold_ = max(detectors.empty_threshold_, float(seen) * FEEDBACK_MARGIN)
