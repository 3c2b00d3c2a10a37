"""History: bootstrap from the recorder and import of history CSV exports.

Both paths read in a worker (the recorder's own executor for the database), convert
rows with the same code as live states and merge them into the observation store
without duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import math
import time
from typing import Any, Final

from homeassistant.components.recorder import history, statistics
from homeassistant.components.recorder.const import SupportedDialect
from homeassistant.components.recorder.db_schema import StateAttributes, States
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    COMPRESSED_STATE_ATTRIBUTES,
    COMPRESSED_STATE_LAST_UPDATED,
    COMPRESSED_STATE_STATE,
)
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance, session_scope
from homeassistant.util import dt as dt_util
from homeassistant.util.json import json_loads_object
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from .const import DOMAIN, ISSUE_RECORDER_EXCLUDES, ISSUE_RECORDER_KEEP_DAYS, LOGGER
from .engine.history_csv import CLOCK_MARGIN_SECONDS, HistoryCsvError, HistoryRow, HistoryRows, iter_history_csv
from .engine.home import days_covered
from .engine.memory import release_freed_memory
from .engine.observations import ObservationStore, PendingMerge, state_unit
from .engine.pacing import pace, paced
from .store import LearnedState

# History is read from the recorder's states table directly, an entity at a time, in
# batches of a few hundred rows: Home Assistant's history API builds a query and a dict per
# row, which made up three quarters of a bootstrap (28 days x 200 entities: 15 s of 20).
# Small batches die young, so they never reach the garbage collector's oldest generation,
# whose full collections pause every thread of Home Assistant.
RECORDER_ROWS_PER_READ = 300
# The history API is the fallback when the recorder's tables are not as its models say
# (a schema change in a future Home Assistant); it is read a few entities and an adaptive
# window at a time, for the same reason as the batches above.
RECORDER_ENTITIES_PER_READ = 5
# Recorder schema versions the direct read of the states table was tested on (Home
# Assistant 2026.2); on others the history API is used.
TESTED_SCHEMA_VERSIONS: Final = frozenset({53})
_UNKNOWN_SCHEMAS_LOGGED: set[object] = set()
# Failures of the direct read, logged once each: every read after fails the same way.
_FAST_READ_FAILURES_LOGGED: set[type[Exception]] = set()
RECORDER_FIRST_WINDOW = timedelta(hours=3)
RECORDER_MIN_WINDOW = timedelta(minutes=15)
RECORDER_MAX_WINDOW = timedelta(days=7)

type StateRow = tuple[str, float, Mapping[str, Any] | None]


@dataclass(slots=True)
class ImportResult:
    """What an import or bootstrap merged."""

    added: int = 0
    rows: int = 0
    bad_rows: int = 0
    ignored_rows: int = 0
    future_rows: int = 0
    entities: int = 0

    def as_dict(self) -> dict[str, int]:
        """Service response form."""
        return {
            "added": self.added,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "ignored_rows": self.ignored_rows,
            "future_rows": self.future_rows,
            "entities": self.entities,
        }


@paced()
def _read_recorder(
    hass: HomeAssistant,
    observations: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    start: datetime,
    end: datetime,
) -> tuple[PendingMerge, int]:
    """Runs in the recorder's executor: read states and merge them off the event loop.

    Rows are converted as they come (state at the start, then (start, end]): weeks of a
    large home never sit in memory as rows or State objects at once.
    """
    scratch = ObservationStore(max_points=observations.max_points)
    rows = None
    if _states_table_is_known(hass):
        try:
            rows = _read_states_table(hass, scratch, roles, entity_ids, start, end)
        except Exception as err:  # recorder internals may change in any way: the public API is the fallback
            if type(err) not in _FAST_READ_FAILURES_LOGGED:
                _FAST_READ_FAILURES_LOGGED.add(type(err))
                LOGGER.debug("Reading the recorder's states table failed (%r), using the history API", err)
            scratch = ObservationStore(max_points=observations.max_points)
    if rows is None:
        rows = _read_history_api(hass, scratch, roles, entity_ids, start, end)
    _release_read_cache(hass)
    return observations.prepare_merge_store(scratch), rows


def _states_table_is_known(hass: HomeAssistant) -> bool:
    """Whether the recorder's database has a schema the direct read was tested on.

    The states table is the recorder's private schema; a release that changes it would make
    the direct read wrong, not only fail. On any other schema the public history API reads
    the history (slower), and the log says so once.
    """
    version = getattr(get_instance(hass), "schema_version", None)
    if version in TESTED_SCHEMA_VERSIONS:
        return True
    if version not in _UNKNOWN_SCHEMAS_LOGGED:
        _UNKNOWN_SCHEMAS_LOGGED.add(version)
        LOGGER.info(
            "SmartML reads history through Home Assistant's history API: the recorder's schema %s "
            "is not one its faster direct read was tested on (%s)",
            version,
            ", ".join(str(v) for v in sorted(TESTED_SCHEMA_VERSIONS)),
        )
    return False


def _read_states_table(
    hass: HomeAssistant,
    scratch: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    start: datetime,
    end: datetime,
) -> int:
    """Read each entity's rows from the states table (the recorder's models name the columns)."""
    start_ts, end_ts = start.timestamp(), end.timestamp()
    columns = (
        select(States.state, States.last_updated_ts, StateAttributes.shared_attrs)
        .outerjoin(StateAttributes, States.attributes_id == StateAttributes.attributes_id)
        .where(States.state.is_not(None))
    )
    decoded: dict[str, Mapping[str, Any]] = {}
    rows = 0
    with session_scope(hass=hass, read_only=True) as session:
        metadata_ids = get_instance(hass).states_meta_manager.get_many(entity_ids, session, False)
    for entity_id, metadata_id in metadata_ids.items():
        role = roles.get(entity_id)
        if metadata_id is None or role is None:
            continue
        entity_rows = columns.where(States.metadata_id == metadata_id)
        unit = state_unit(role, hass.config.units.temperature_unit)
        with session_scope(hass=hass, read_only=True) as session:
            # The state in force when the window opens (its last row before), timed at the start.
            before = session.execute(
                entity_rows.where(States.last_updated_ts <= start_ts).order_by(States.last_updated_ts.desc()).limit(1)
            ).first()
            if before is not None:
                scratch.add_states(entity_id, role, [(before[0], start_ts, _attributes(before[2], decoded))], unit)
                rows += 1
            result = session.execute(
                entity_rows.where(States.last_updated_ts > start_ts, States.last_updated_ts <= end_ts)
                .order_by(States.last_updated_ts)
                .execution_options(yield_per=RECORDER_ROWS_PER_READ)
            )
            for batch in result.partitions():
                pace()
                scratch.add_states(entity_id, role, [(s, ts, _attributes(a, decoded)) for s, ts, a in batch], unit)
                rows += len(batch)
    return rows


def _attributes(source: str | None, decoded: dict[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Attributes of a row, each distinct JSON text decoded once; garbage counts as none."""
    if not source:
        return None
    attributes = decoded.get(source)
    if attributes is None:
        try:
            attributes = json_loads_object(source)
        except ValueError:
            attributes = {}
        decoded[source] = attributes
    return attributes


def _read_history_api(
    hass: HomeAssistant,
    scratch: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    start: datetime,
    end: datetime,
) -> int:
    """Read through Home Assistant's history API, in its compact row format."""
    rows = 0
    for first in range(0, len(entity_ids), RECORDER_ENTITIES_PER_READ):
        group = entity_ids[first : first + RECORDER_ENTITIES_PER_READ]
        window_start = start
        window = RECORDER_FIRST_WINDOW
        while window_start < end:
            window_end = min(window_start + window, end)
            last_window = window_end >= end
            # The recorder's bounds are exclusive on both sides: read a second past the
            # window's end and keep (start, end] so that no row on a boundary is lost.
            states = history.get_significant_states(
                hass,
                window_start,
                window_end if last_window else window_end + timedelta(seconds=1),
                group,
                include_start_time_state=window_start == start,
                significant_changes_only=False,
                minimal_response=False,
                no_attributes=False,
                compressed_state_format=True,
            )
            limit = math.inf if last_window else window_end.timestamp()
            read = sum(len(entity_states) for entity_states in states.values())
            growth = min(max(RECORDER_ROWS_PER_READ / max(read, 1), 0.25), 4.0)
            window = min(max(window * growth, RECORDER_MIN_WINDOW), RECORDER_MAX_WINDOW)
            for entity_id, entity_states in states.items():
                pace()
                role = roles.get(entity_id)
                if role is None:
                    continue
                kept = [
                    (state, ts, attributes) for state, ts, attributes in map(_row_parts, entity_states) if ts <= limit
                ]
                scratch.add_states(entity_id, role, kept, state_unit(role, hass.config.units.temperature_unit))
                rows += len(kept)
            window_start = window_end
    return rows


def _release_read_cache(hass: HomeAssistant) -> None:
    """Free the pages the bulk read left in the cache of the recorder's read connection.

    SQLite keeps up to the recorder's 16 MB of pages per connection; weeks of history read
    once are pages no query will ask for soon, and they would stay for the life of the
    connection. Only memory is at stake: a failure here must not cost the history read.
    """
    if get_instance(hass).dialect_name == SupportedDialect.SQLITE:
        try:
            with session_scope(hass=hass, read_only=True) as session:
                session.execute(text("PRAGMA shrink_memory"))
        except SQLAlchemyError as err:
            LOGGER.debug("Could not free the recorder read cache: %s", err)
    release_freed_memory()


def _row_parts(row: State | dict[str, Any]) -> StateRow:
    """(state, last updated, attributes) of a recorder row in the compact format."""
    if isinstance(row, State):  # not asked for; kept for safety
        return row.state, row.last_updated_timestamp, row.attributes
    return row[COMPRESSED_STATE_STATE], row[COMPRESSED_STATE_LAST_UPDATED], row.get(COMPRESSED_STATE_ATTRIBUTES)


def recorder_available(hass: HomeAssistant) -> bool:
    """Whether the recorder is loaded and can be asked for history."""
    return "recorder" in hass.config.components


def recorder_keep_days(hass: HomeAssistant) -> int | None:
    """How many days the recorder keeps (purge_keep_days), None without a recorder."""
    return get_instance(hass).keep_days if recorder_available(hass) else None


async def async_bootstrap(
    hass: HomeAssistant,
    observations: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    history_days: int,
) -> ImportResult:
    """Merge the last history_days of the entities' recorder history."""
    result = await _async_merge_recorder(
        hass, observations, roles, entity_ids, dt_util.utcnow() - timedelta(days=history_days)
    )
    LOGGER.debug("Bootstrapped %s observations of %s entities from the recorder", result.added, result.entities)
    return result


async def _async_merge_recorder(
    hass: HomeAssistant,
    observations: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    start: datetime,
) -> ImportResult:
    """Merge the entities' recorder history from start to now."""
    result = ImportResult()
    if not entity_ids or not recorder_available(hass):
        return result
    instance = get_instance(hass)
    pending, result.rows = await instance.async_add_executor_job(
        _read_recorder, hass, observations, roles, entity_ids, start, dt_util.utcnow()
    )
    result.added = observations.commit_merge(pending)
    result.entities = len(pending.buffers)
    return result


async def async_fill_gap(hass: HomeAssistant, state: LearnedState, roles: Mapping[str, str]) -> ImportResult:
    """Merge what the recorder holds since the saved observations end (after a restart).

    The observations file is written only every few hours; what came after, up to a crash
    or a clean stop, is still in the recorder (for its purge window), and is read back
    here. A recorder that is not there, or fails, leaves the gap.
    """
    since = state.observed_until
    entity_ids = sorted(e for e in roles if e in state.bootstrapped)
    if since is None or not entity_ids:
        return ImportResult()
    try:
        result = await _async_merge_recorder(
            hass, state.observations, roles, entity_ids, dt_util.utc_from_timestamp(since)
        )
    except (SQLAlchemyError, HomeAssistantError, OSError) as err:
        LOGGER.warning("SmartML could not read the recorder history since its last save: %s", err)
        return ImportResult()
    LOGGER.debug("Filled %s observations of %s entities since the last save", result.added, result.entities)
    return result


@callback
def async_check_recorder(
    hass: HomeAssistant, entry_id: str, state: LearnedState, roles: Iterable[str], history_days: int
) -> None:
    """Raise (or clear) repair issues when the recorder cannot give the history asked for.

    The recorder's shorter horizon matters only until SmartML holds the days in its own
    observations: while an entity is still to be read from it, or fewer days are held.
    """
    if not recorder_available(hass):
        return
    entity_ids = list(roles)
    instance = get_instance(hass)
    entity_filter = instance.entity_filter
    excluded = sorted(e for e in entity_ids if entity_filter is not None and not entity_filter(e))
    issue_id = f"{ISSUE_RECORDER_EXCLUDES}_{entry_id}"
    if excluded:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RECORDER_EXCLUDES,
            translation_placeholders={"entities": ", ".join(excluded)},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    issue_id = f"{ISSUE_RECORDER_KEEP_DAYS}_{entry_id}"
    held = days_covered(state.observations, time.time())
    to_read = any(e not in state.bootstrapped for e in entity_ids)
    if instance.keep_days < history_days and (to_read or held < history_days):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RECORDER_KEEP_DAYS,
            translation_placeholders={
                "keep_days": str(instance.keep_days),
                "history_days": str(history_days),
                "held_days": str(math.floor(held)),
            },
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)


def _read_hourly_watts(
    hass: HomeAssistant, ids: list[str], start: datetime, end: datetime
) -> dict[str, tuple[list[float], list[float]]]:
    """Runs in the recorder's executor: each sensor's mean power (W) per hour from long-term statistics.

    A meter's hourly change (kWh, resets handled by the recorder) is its mean power over
    the hour; a power sensor gives its hourly mean. Sensors without statistics are left out.
    """
    rows = statistics.statistics_during_period(
        hass, start, end, set(ids), "hour", {"energy": "kWh", "power": "W"}, {"change", "mean"}
    )
    found: dict[str, tuple[list[float], list[float]]] = {}
    for statistic_id, series in rows.items():
        hours: list[float] = []
        watts: list[float] = []
        for row in series:
            change, mean = row.get("change"), row.get("mean")
            if isinstance(change, (int, float)):
                watts.append(change * 1000.0)
            elif isinstance(mean, (int, float)):
                watts.append(mean)
            else:
                continue
            hours.append(row["start"])
        if hours:
            found[statistic_id] = (hours, watts)
    return found


async def async_hourly_watts(
    hass: HomeAssistant, ids: list[str], days: int
) -> dict[str, tuple[list[float], list[float]]]:
    """(hour starts, mean W) of each sensor with long-term statistics over the last `days`.

    A recorder that fails gives none: the models then learn from the observations alone.
    """
    if not ids or not recorder_available(hass):
        return {}
    end = dt_util.utcnow()
    try:
        return await get_instance(hass).async_add_executor_job(
            _read_hourly_watts, hass, ids, end - timedelta(days=days), end
        )
    except (SQLAlchemyError, HomeAssistantError, OSError) as err:
        LOGGER.warning("SmartML could not read the recorder's long-term statistics, learning from states: %s", err)
        return {}


async def async_hourly_energy(
    hass: HomeAssistant, energy_ids: list[str], power_ids: list[str], days: int
) -> tuple[list[float], list[float]] | None:
    """The home's hourly consumption (kWh) from long-term statistics, or None if there are none.

    Its energy meters are summed; without meters, its power sensors.
    """
    totals: dict[float, float] = {}
    for hours, watts in (await async_hourly_watts(hass, energy_ids or power_ids, days)).values():
        for hour, value in zip(hours, watts, strict=True):
            totals[hour] = totals.get(hour, 0.0) + value / 1000.0
    hours = sorted(totals)
    return (hours, [totals[hour] for hour in hours]) if hours else None


@paced()
def _read_csv(
    path: str,
    observations: ObservationStore,
    roles: Mapping[str, str],
    tz_name: str,
    temperature_unit: str,
    units: Mapping[str, str],
) -> tuple[PendingMerge, ImportResult]:
    """Runs in the executor: parse the file and merge it off the event loop.

    An export comes from this home: its thermostats' temperatures are in the home's unit,
    and a row without a unit (Home Assistant's own export has none) is in the entity's
    unit now (`units`): a kW sensor's 0.45 is 450 W, not 0.45 W. Rows stream from the file
    into the merge, so that only one copy of them is held.
    """
    counts = HistoryRows()
    result = ImportResult()
    entities: set[str] = set()
    # One attributes mapping per entity, not one per row.
    unit_attributes = {entity_id: {ATTR_UNIT_OF_MEASUREMENT: unit} for entity_id, unit in units.items()}

    def rows() -> Iterator[HistoryRow]:
        rows_read = iter_history_csv(
            path, counts, roles, dt_util.get_time_zone(tz_name), not_after=time.time() + CLOCK_MARGIN_SECONDS
        )
        for entity_id, state, ts, attrs in rows_read:
            result.rows += 1
            entities.add(entity_id)
            yield entity_id, state, ts, attrs or unit_attributes.get(entity_id, attrs)

    pending = observations.prepare_merge(rows(), roles, temperature_unit)
    result.bad_rows, result.ignored_rows, result.future_rows = counts.bad_rows, counts.ignored_rows, counts.future_rows
    result.entities = len(entities)
    return pending, result


async def async_import_csv(
    hass: HomeAssistant, observations: ObservationStore, roles: Mapping[str, str], path: str
) -> ImportResult:
    """Import a history CSV export; raises ServiceValidationError on a bad file or path."""
    # The check touches the disk (it resolves symlinks), so it runs in the executor.
    if not await hass.async_add_executor_job(hass.config.is_allowed_path, path):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="path_not_allowed", translation_placeholders={"path": path}
        )
    try:
        units = {
            entity_id: unit
            for entity_id in roles
            if (state := hass.states.get(entity_id)) is not None
            and isinstance(unit := state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), str)
        }
        pending, result = await hass.async_add_executor_job(
            _read_csv, path, observations, roles, hass.config.time_zone, hass.config.units.temperature_unit, units
        )
    except HistoryCsvError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"csv_{err.reason}",
            translation_placeholders={"path": path},
        ) from err
    result.added = observations.commit_merge(pending)
    return result


async def async_bootstrap_missing(
    hass: HomeAssistant, entry_id: str, state: LearnedState, roles: Mapping[str, str], history_days: int
) -> ImportResult:
    """Merge the recorder history of the entities not bootstrapped yet into state.

    A recorder that is not there yet, or fails, leaves them for the next start: SmartML then
    learns from live states rather than not starting at all.
    """
    async_check_recorder(hass, entry_id, state, roles, history_days)
    missing = sorted(e for e in roles if e not in state.bootstrapped)
    if not missing or not recorder_available(hass):
        return ImportResult()
    try:
        result = await async_bootstrap(hass, state.observations, roles, missing, history_days)
    except (SQLAlchemyError, HomeAssistantError, OSError) as err:
        LOGGER.warning("SmartML could not read the recorder history, learning from live states: %s", err)
        return ImportResult()
    now = time.time()
    for entity_id in missing:
        state.bootstrapped[entity_id] = now
    return result
