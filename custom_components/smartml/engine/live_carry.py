"""What a live watch hands over to the watch of the next fit.

A fit reads the observations up to its time; while it runs, the watch of the previous fit
goes on seeing the home live. At the swap the new watch takes over what the previous one
saw since. Plain Python: it runs in the event loop.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


def carried_since(
    own: Mapping[str, float],
    previous: Mapping[str, float],
    previously_tracked: Collection[str],
    tracked: Collection[str],
) -> dict[str, float]:
    """Entities on now, since when: the previous watch's for those it tracked, this fit's for the rest."""
    kept = {entity_id: since for entity_id, since in own.items() if entity_id not in previously_tracked}
    return kept | {entity_id: since for entity_id, since in previous.items() if entity_id in tracked}
