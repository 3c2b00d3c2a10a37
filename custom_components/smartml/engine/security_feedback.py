"""Feedback on security anomalies ("it was me"), kept as plain JSON.

Feedback raises the rate of the reported context (the source, the home's state and the
hour, with its neighbours) so that the same situation does not alert again, or raises the
open-time limit of a door held open. Plain Python: it runs in the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Final, TypedDict, cast

from .constants import TYPE_OPEN_TOO_LONG
from .facts import ActivityFacts, OpenTooLong
from .results import Anomaly
from .security_context import rate_of_surprise

FEEDBACK_VERSION: Final = 1
# The reported context (and the neighbouring hours) gets a rate this many times the rate
# at the threshold, so it stays quiet.
FEEDBACK_RATE_FACTOR: Final = 4.0
# A door held open: the limit becomes at least this multiple of the reported time open.
FEEDBACK_OPEN_FACTOR: Final = 1.5


class FeedbackItem(TypedDict, total=False):
    """One anomaly marked normal, reduced to the situation it reported."""

    type: str
    ts: float
    entity_ids: list[str]
    source: str
    state: str
    hour: int
    entity_id: str
    open_minutes: float


class SavedFeedback(TypedDict):
    """The feedback as the model writes it for the store."""

    version: int
    items: list[FeedbackItem]


def feedback_item(anomaly: Anomaly) -> FeedbackItem | None:
    """The situation a security anomaly reported; None for another kind of anomaly."""
    item: FeedbackItem = {"type": anomaly.type, "ts": anomaly.ts, "entity_ids": list(anomaly.entity_ids)}
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts):
        item.update({"source": facts.source, "state": facts.state, "hour": facts.hour, "entity_id": facts.entity_id})
    elif isinstance(facts, OpenTooLong):
        item.update({"source": facts.source, "entity_id": facts.entity_id, "open_minutes": facts.open_minutes})
    else:
        return None
    return item


def saved_items(data: Mapping[str, object]) -> list[FeedbackItem]:
    """The items of saved feedback; anomaly dicts found among them are reduced to items."""
    items = data.get("items")
    out: list[FeedbackItem] = []
    for raw in items if isinstance(items, list) else []:
        if not isinstance(raw, Mapping):
            continue
        if "facts" in raw:  # an anomaly dict
            try:
                item = feedback_item(Anomaly.from_json(raw))
            except (KeyError, TypeError, ValueError):
                continue
            if item is not None:
                out.append(item)
        elif "type" in raw:
            out.append(cast(FeedbackItem, dict(raw)))
    return out


def feedback_rate(items: Iterable[FeedbackItem], key: str, state: str, hour: int, threshold: float) -> float:
    """The rate feedback gives a context: enough to stay below the threshold, or 0."""
    rate = 0.0
    for item in items:
        if item.get("source") == key and item.get("state") == state:
            distance = abs(int(item.get("hour", -99)) - hour) % 24
            if min(distance, 24 - distance) <= 1:
                rate = max(rate, FEEDBACK_RATE_FACTOR * rate_of_surprise(threshold))
    return rate


def raise_open_limit(item: FeedbackItem, open_limits: MutableMapping[str, float]) -> None:
    """A door held open was normal: its limit becomes at least a margin over that time."""
    if item.get("type") != TYPE_OPEN_TOO_LONG:
        return
    entity_id = str(item.get("entity_id", ""))
    minutes = float(item.get("open_minutes", 0.0))
    if entity_id in open_limits:
        open_limits[entity_id] = max(open_limits[entity_id], FEEDBACK_OPEN_FACTOR * minutes * 60.0)
