"""A recorder database with N entities x D days of history, made once and cached in build/.

Home Assistant's recorder creates the schema and records each entity's current state
(so states_meta and state_attributes are the recorder's own rows); the history before
it is then inserted into the same tables in bulk, as the recorder would have written
it over the days, because recording weeks of events live would take hours. A cached
database is shifted forward in time before each use so that its history always ends now.
"""

from __future__ import annotations

import json
from pathlib import Path
import sqlite3
import sys
import time

from homeassistant.components.recorder.db_schema import StateAttributes
from homeassistant.helpers.json import json_bytes_sorted
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from .harness import running_hass
from .home import DAY, build_entities, current_state, history

BUILD = Path(__file__).resolve().parent.parent / "build" / "bench"


def _meta_path(db: Path) -> Path:
    return db.with_suffix(".json")


async def _record_current_states(db: Path, entities_count: int, now: float) -> None:
    config_dir = BUILD / f"gen-{entities_count}"
    config_dir.mkdir(parents=True, exist_ok=True)
    async with running_hass(str(config_dir), str(db)) as hass:
        for entity in build_entities(entities_count):
            state, attrs = current_state(entity, now)
            hass.states.async_set(entity.entity_id, state, attrs)
        await async_wait_recording_done(hass)


def _insert_history(db: Path, entities_count: int, days: int, end: float) -> int:
    con = sqlite3.connect(db)
    meta = dict(con.execute("SELECT entity_id, metadata_id FROM states_meta").fetchall())
    attr_ids: dict[bytes, int] = {}
    for known_id, shared in con.execute("SELECT attributes_id, shared_attrs FROM state_attributes"):
        attr_ids[shared.encode()] = known_id
    first_recorded = con.execute("SELECT MIN(last_updated_ts) FROM states").fetchone()[0] or end

    def attributes_id(attrs: dict[str, object]) -> int:
        shared = json_bytes_sorted(attrs)
        found = attr_ids.get(shared)
        if found is None:
            cur = con.execute(
                "INSERT INTO state_attributes (hash, shared_attrs) VALUES (?, ?)",
                (StateAttributes.hash_shared_attrs_bytes(shared), shared.decode()),
            )
            found = attr_ids[shared] = int(cur.lastrowid or 0)
        return found

    rows = 0
    start = end - days * DAY
    for seed, entity in enumerate(build_entities(entities_count)):
        batch = [
            (state, None, ts, ts, attributes_id(attrs), 0, meta[entity.entity_id])
            for ts, state, attrs in history(entity, start, min(end, first_recorded - 1), seed)
        ]
        con.executemany(
            "INSERT INTO states (state, last_changed_ts, last_reported_ts, last_updated_ts, attributes_id,"
            " origin_idx, metadata_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        rows += len(batch)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return rows


def _shift(db: Path, delta: float) -> None:
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE states SET last_updated_ts = last_updated_ts + ?, "
        "last_reported_ts = last_reported_ts + ?, last_changed_ts = last_changed_ts + ?",
        (delta, delta, delta),
    )
    con.commit()
    con.close()


async def ensure_db(entities_count: int, days: int = 28) -> tuple[Path, dict[str, float]]:
    """Path of a database whose history ends now, and what it holds."""
    BUILD.mkdir(parents=True, exist_ok=True)
    db = BUILD / f"recorder-{entities_count}x{days}d.db"
    meta_path = _meta_path(db)
    now = time.time()
    if db.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        _shift(db, now - meta["end"])
        meta["end"] = now
        meta_path.write_text(json.dumps(meta))
        return db, meta
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"  making recorder database {db.name} (once) ...", file=sys.stderr)  # noqa: T201
    await _record_current_states(db, entities_count, now)
    rows = _insert_history(db, entities_count, days, now)
    meta = {"end": now, "rows": rows, "seconds": round(time.perf_counter() - started, 1)}
    meta_path.write_text(json.dumps(meta))
    return db, meta
