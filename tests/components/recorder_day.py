"""A day of SmartML's minute refreshes in a real recorder, and what its rows take there.

The size is that of the rows as SQLite stores them: each row of SmartML's entities in
`states`, the `state_attributes` rows those point to, and their entries in the indexes of
both tables (SQLite's record format, with each cell's pointer and lengths). Free space
left in pages is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import get_instance
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import session_scope
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from custom_components.smartml.coordinator import SmartMLCoordinator

DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the recorder holds of some entities."""

    rows: int  # in `states`
    bytes: int  # states rows, their attributes rows and the index entries of both
    forecast: bool  # whether any of their attributes hold a forecast
    rows_by_entity: dict[str, int]

    def __sub__(self, before: Recorded) -> Recorded:
        rows_by_entity = {
            entity_id: rows - before.rows_by_entity.get(entity_id, 0) for entity_id, rows in self.rows_by_entity.items()
        }
        return Recorded(self.rows - before.rows, self.bytes - before.bytes, self.forecast, rows_by_entity)

    def most_written(self, count: int = 5) -> str:
        """The entities with most rows, as "entity rows, ..."."""
        ranked = sorted(self.rows_by_entity.items(), key=lambda item: (-item[1], item[0]))[:count]
        return ", ".join(f"{entity_id} {rows}" for entity_id, rows in ranked)


async def async_minute_refreshes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: SmartMLCoordinator,
    household: Callable[[int, datetime], None],
    minutes: int = DAY_MINUTES,
) -> None:
    """Refresh every minute for `minutes`; `household(minute, now)` runs first, so predictions move."""
    for minute in range(minutes):
        freezer.tick(timedelta(minutes=1))
        household(minute, dt_util.utcnow())
        await coordinator.async_refresh()
    await async_wait_recording_done(hass)


async def async_recorded(hass: HomeAssistant, entity_ids: Sequence[str]) -> Recorded:
    """Rows and bytes the recorder holds of these entities now."""
    return await get_instance(hass).async_add_executor_job(_recorded, hass, list(entity_ids))


def _recorded(hass: HomeAssistant, entity_ids: list[str]) -> Recorded:
    with session_scope(hass=hass, read_only=True) as session:
        ids = bindparam("ids", expanding=True)
        states = session.execute(
            text(
                "SELECT s.*, m.entity_id AS meta_entity_id FROM states s "
                "JOIN states_meta m ON s.metadata_id = m.metadata_id WHERE m.entity_id IN :ids"
            ).bindparams(ids),
            {"ids": entity_ids},
        ).mappings()
        state_rows = [dict(row) for row in states]
        attributes_ids = sorted({row["attributes_id"] for row in state_rows if row["attributes_id"] is not None})
        attributes = session.execute(
            text("SELECT * FROM state_attributes WHERE attributes_id IN :ids").bindparams(ids),
            {"ids": attributes_ids},
        ).mappings()
        attribute_rows = [dict(row) for row in attributes]
        size = _table_bytes(session, "states", "state_id", state_rows)
        size += _table_bytes(session, "state_attributes", "attributes_id", attribute_rows)
    forecast = any('"forecast"' in (row["shared_attrs"] or "") for row in attribute_rows)
    rows_by_entity: dict[str, int] = {}
    for row in state_rows:
        entity_id = str(row["meta_entity_id"])
        rows_by_entity[entity_id] = rows_by_entity.get(entity_id, 0) + 1
    return Recorded(len(state_rows), size, forecast, rows_by_entity)


def _table_bytes(session: Session, table: str, rowid: str, rows: list[dict[str, object]]) -> int:
    """Bytes of these rows in the table's b-tree and in each of its indexes."""
    columns = [info[1] for info in session.execute(text(f"PRAGMA table_info({table})"))]
    indexes = [
        [info[2] for info in session.execute(text(f"PRAGMA index_info({index[1]})"))]
        for index in session.execute(text(f"PRAGMA index_list({table})"))
    ]
    total = 0
    for row in rows:
        # The integer primary key is the row id, kept out of the record.
        payload = _record_bytes([None if column == rowid else row[column] for column in columns])
        total += 2 + _varint_bytes(payload) + _varint_bytes(int(str(row[rowid]))) + payload
        for index in indexes:
            entry = _record_bytes([*(row[column] for column in index), row[rowid]])
            total += 2 + _varint_bytes(entry) + entry
    return total


def _record_bytes(values: Sequence[object]) -> int:
    """Size of SQLite's record of these values: a header of serial types, then the values."""
    body = 0
    header = 0
    for value in values:
        if value is None or (value in (0, 1) and isinstance(value, int)):
            size, serial = 0, 0
        elif isinstance(value, int):
            size = next(n for n in (1, 2, 3, 4, 6, 8) if -(2 ** (8 * n - 1)) <= value < 2 ** (8 * n - 1))
            serial = 0
        elif isinstance(value, float):
            size, serial = 8, 7
        else:
            data = value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
            size = len(data)
            serial = 13 + 2 * size
        body += size
        header += _varint_bytes(serial)
    header += _varint_bytes(header + 1)
    return header + body


def _varint_bytes(value: int) -> int:
    """Bytes of SQLite's variable-length integer."""
    size = 1
    while value >= 1 << (7 * size) and size < 9:
        size += 1
    return size
