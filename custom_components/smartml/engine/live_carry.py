"""What a live watch hands over to the watch of the next fit.

A fit copies the observations and learns from those before its time; while it runs, the
watch of the previous fit goes on seeing the home live. Each watch starts from the latest
reading of each entity in its copy and notes when it read it; at the swap it takes over an
entity's state from the previous watch only where that watch read the entity later (a
watch can miss readings: it hears nothing before its model is ready, nor what is filled in
at a restart). Plain Python: it runs in the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping


def read_later(own_seen: Mapping[str, float], previous_seen: Mapping[str, float]) -> list[str]:
    """Entities whose latest reading the previous watch had after this watch's."""
    return [entity_id for entity_id, ts in previous_seen.items() if ts > own_seen.get(entity_id, float("-inf"))]


def take_over(own: MutableMapping[str, float], previous: Mapping[str, float], entities: Iterable[str]) -> None:
    """For each entity, the previous watch's entry (or its absence) replaces this watch's."""
    for entity_id in entities:
        if entity_id in previous:
            own[entity_id] = previous[entity_id]
        else:
            own.pop(entity_id, None)
