"""Task `observations`: per-entity observation counts and slot coverage of a history."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from custom_components.smartml.engine.constants import DEFAULT_SLOT_MINUTES
from custom_components.smartml.engine.observations import CHANNEL_SEP
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.engine.slots import buffer_arrays, slot_grid


def run(argv: list[str]) -> dict[str, Any]:
    """Count observations per entity and the share of slots each one covers."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate --task observations")
    parser.add_argument("--history", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--slot-minutes", type=int, default=DEFAULT_SLOT_MINUTES)
    args = parser.parse_args(argv)
    replay = load_replay(args.history, args.home)
    step = args.slot_minutes * 60
    grid = slot_grid(replay.start, replay.end + 1, args.slot_minutes)
    results: dict[str, Any] = {}
    for channel, buf in sorted(replay.store.channels.items()):
        times, _ = buffer_arrays(buf)
        slots = np.unique(np.floor((times - grid[0]) / step)) if len(times) else np.array([])
        entity = channel.partition(CHANNEL_SEP)[0]
        entry = results.setdefault(entity, {"smartml": {"observations": 0, "coverage": 0.0}})
        entry["smartml"]["observations"] += len(times)
        entry["smartml"]["coverage"] = max(entry["smartml"]["coverage"], round(len(slots) / max(len(grid), 1), 4))
    return {
        "task": "observations",
        "results": results,
        "info": {
            "rows": len(replay.history.rows),
            "bad_rows": replay.history.bad_rows,
            "ignored_rows": replay.history.ignored_rows,
            "skipped_states": replay.store.skipped,
            "slots": len(grid),
            "slot_minutes": args.slot_minutes,
            "start": replay.start,
            "end": replay.end,
        },
    }
