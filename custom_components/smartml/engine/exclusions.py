"""Periods the household said not to learn from: a holiday, a week with guests, a broken sensor.

A period without entities concerns the whole home; one with entities concerns the
models that read any of them. Models drop the slots of the periods that concern them
from what they learn, their anomaly rates and their accuracy scores, so an excluded day
leaves the model as it would be had that day never happened. Pure Python (event loop
and worker alike); the slot masks are built with numpy in `slots.counted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from .constants import JsonObject

# Where a period came from: a service call (kept in the store) or a calendar's event
# (read again at each fit).
SOURCE_SERVICE: Final = "service"
SOURCE_CALENDAR: Final = "calendar"
# The reason of the period smartml.forget_data leaves behind.
REASON_FORGOTTEN: Final = "forgotten readings"
REASON_PAUSED: Final = "learning paused"
# The periods SmartML adds itself, which smartml.remove_excluded_period leaves: forgotten
# readings (their recorder copy must not be read back) and paused learning (nothing was
# collected then: the silence is no household's).
OWN_REASONS: Final = frozenset({REASON_FORGOTTEN, REASON_PAUSED})


@dataclass(frozen=True, slots=True)
class ExcludedPeriod:
    """One period not to learn from, [start, end) in epoch seconds."""

    start: float
    end: float
    # Entities whose readings do not count then; empty: the whole home.
    entities: tuple[str, ...] = ()
    reason: str = ""
    source: str = SOURCE_SERVICE

    def concerns(self, entities: Iterable[str]) -> bool:
        """Whether the period concerns a model reading these entities."""
        return not self.entities or not set(self.entities).isdisjoint(entities)

    def renamed(self, old: str, new: str) -> ExcludedPeriod:
        """The same period after an entity id change."""
        return replace(self, entities=tuple(new if entity_id == old else entity_id for entity_id in self.entities))

    def as_json(self) -> JsonObject:
        """Stored form."""
        return {"start": self.start, "end": self.end, "entities": list(self.entities), "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExcludedPeriod:
        """Rebuild from as_json; raises KeyError/TypeError/ValueError on a malformed entry."""
        start, end = float(data["start"]), float(data["end"])
        if not start < end:
            raise ValueError("an excluded period must end after it starts")
        return cls(start, end, tuple(str(e) for e in data.get("entities") or ()), str(data.get("reason") or ""))


def merged_spans(periods: Iterable[ExcludedPeriod], entities: Iterable[str] | None = None) -> list[tuple[float, float]]:
    """The sorted, non-overlapping spans of the periods that concern these entities (None: all)."""
    wanted = None if entities is None else set(entities)
    spans = sorted((p.start, p.end) for p in periods if wanted is None or p.concerns(wanted))
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
