"""Reading Home Assistant history CSV exports (`entity_id,state,last_changed[,attributes]`).

Used by the `smartml.import_history` service and by replays. Files come from users, so
the reader bounds what it takes (bytes, rows, field size), never raises on a bad row
(it counts it), and raises HistoryCsvError with a reason key on a bad file. A row dated
after `not_after` (a typo, or naive UTC times read as local) is counted, not kept: it
would become the entity's last reading and every live state before it would be refused
as out of order.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
import csv
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
import json
import math
import os
import stat
from typing import Any, Final

HEADER: Final = ("entity_id", "state", "last_changed")
ATTRIBUTES_COLUMN: Final = "attributes"
# An import holds each kept row until it is merged, about three times the file's size.
MAX_BYTES: Final = 100 * 1024 * 1024
MAX_FIELD: Final = 64 * 1024
# How far ahead of now a row may be (clocks differ a little between machines).
CLOCK_MARGIN_SECONDS: Final = 60.0

ERROR_NOT_FOUND: Final = "file_not_found"
ERROR_HEADER: Final = "bad_header"
ERROR_ENCODING: Final = "bad_encoding"
ERROR_NOT_CSV: Final = "not_csv"
ERROR_TOO_LARGE: Final = "file_too_large"


class HistoryCsvError(ValueError):
    """The file as a whole cannot be read; `reason` is one of the ERROR_* keys."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# (entity_id, state, epoch seconds, attributes)
HistoryRow = tuple[str, str, float, Mapping[str, Any] | None]


@dataclass(slots=True)
class HistoryRows:
    """Rows of a history CSV kept for the wanted entities, and counts of those left out."""

    rows: list[HistoryRow] = field(default_factory=list)
    bad_rows: int = 0
    ignored_rows: int = 0
    future_rows: int = 0

    @property
    def entities(self) -> set[str]:
        """Entities that had at least one row."""
        return {row[0] for row in self.rows}


def parse_timestamp(raw: str, default_tz: tzinfo | None = None) -> float:
    """Epoch seconds of an ISO 8601 timestamp; naive ones need default_tz."""
    moment = datetime.fromisoformat(raw.strip())
    if moment.tzinfo is None:
        if default_tz is None:
            raise ValueError("timestamp without offset")
        moment = moment.replace(tzinfo=default_tz)
    ts = moment.timestamp()
    if not math.isfinite(ts):
        raise ValueError("timestamp out of range")
    return ts


def _parse_attributes(raw: str) -> Mapping[str, Any] | None:
    if not raw.strip():
        return None
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("attributes are not a JSON object")
    return value


def _rows(handle: Any) -> Iterator[list[str]]:
    # csv.field_size_limit is process-wide (shared with every integration), so the
    # field bound is checked here instead of by changing it.
    try:
        for row in csv.reader(handle):
            if any(len(column) > MAX_FIELD for column in row):
                raise HistoryCsvError(ERROR_NOT_CSV, f"field over {MAX_FIELD} characters")
            yield row
    except UnicodeDecodeError as err:
        raise HistoryCsvError(ERROR_ENCODING, str(err)) from None
    except csv.Error as err:  # NUL bytes, fields over the csv module's limit, broken quoting
        raise HistoryCsvError(ERROR_NOT_CSV, str(err)) from None


def read_history_csv(
    path: str | os.PathLike[str],
    wanted: Container[str] | None = None,
    default_tz: tzinfo | None = None,
    max_bytes: int = MAX_BYTES,
    not_after: float = math.inf,
) -> HistoryRows:
    """Read the rows of the wanted entities (all if None) from a history CSV, none after not_after."""
    result = HistoryRows()
    result.rows.extend(iter_history_csv(path, result, wanted, default_tz, max_bytes, not_after))
    return result


def iter_history_csv(
    path: str | os.PathLike[str],
    counts: HistoryRows,
    wanted: Container[str] | None = None,
    default_tz: tzinfo | None = None,
    max_bytes: int = MAX_BYTES,
    not_after: float = math.inf,
) -> Iterator[HistoryRow]:
    """The rows read_history_csv keeps, one by one (no list of the whole file).

    The rows left out are counted in `counts`. A bad file raises at the first row asked for.
    """
    try:
        info = os.stat(path)
    except OSError as err:
        raise HistoryCsvError(ERROR_NOT_FOUND, str(err)) from None
    if not stat.S_ISREG(info.st_mode):
        # A pipe or device would block the worker or never end; a directory is no file.
        raise HistoryCsvError(ERROR_NOT_FOUND, "not a regular file")
    if info.st_size > max_bytes:
        raise HistoryCsvError(ERROR_TOO_LARGE, f"{info.st_size} bytes")
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as err:
        raise HistoryCsvError(ERROR_NOT_FOUND, str(err)) from None
    with handle:
        rows = _rows(handle)
        header = [column.strip().lower() for column in next(rows, [])]
        if tuple(header[:3]) != HEADER:
            raise HistoryCsvError(ERROR_HEADER, ",".join(header[:4]))
        attr_index = header.index(ATTRIBUTES_COLUMN) if ATTRIBUTES_COLUMN in header else None
        for row in rows:
            if len(row) < 3:
                counts.bad_rows += 1
                continue
            entity_id = row[0].strip()
            if wanted is not None and entity_id not in wanted:
                counts.ignored_rows += 1
                continue
            try:
                ts = parse_timestamp(row[2], default_tz)
                attributes = (
                    _parse_attributes(row[attr_index]) if attr_index is not None and attr_index < len(row) else None
                )
            # RecursionError: attributes nested deeper than the JSON parser goes.
            except (ValueError, OverflowError, RecursionError):
                counts.bad_rows += 1
                continue
            if ts > not_after:
                counts.future_rows += 1
                continue
            yield entity_id, row[1].strip(), ts, attributes
