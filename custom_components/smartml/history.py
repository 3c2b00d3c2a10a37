"""History: bootstrap from the recorder and import of history CSV exports.

Both paths read in a worker (the recorder's own executor for the database), convert
rows with the same code as live states and merge them into the observation store
without duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from homeassistant.components.recorder import history, statistics
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .const import DOMAIN, ISSUE_RECORDER_EXCLUDES, ISSUE_RECORDER_KEEP_DAYS, LOGGER
from .engine.history_csv import HistoryCsvError, read_history_csv
from .engine.observations import ObservationStore, PendingMerge

type HistoryRow = tuple[str, str, float, Mapping[str, Any] | None]


@dataclass(slots=True)
class ImportResult:
    """What an import or bootstrap merged."""

    added: int = 0
    rows: int = 0
    bad_rows: int = 0
    ignored_rows: int = 0
    entities: int = 0

    def as_dict(self) -> dict[str, int]:
        """Service response form."""
        return {
            "added": self.added,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "ignored_rows": self.ignored_rows,
            "entities": self.entities,
        }


def _state_rows(states_by_entity: Mapping[str, Iterable[State | dict[str, Any]]]) -> list[HistoryRow]:
    rows: list[HistoryRow] = []
    for entity_id, states in states_by_entity.items():
        for state in states:
            if isinstance(state, State):
                rows.append((entity_id, state.state, state.last_updated_timestamp, state.attributes))
    return rows


def _read_recorder(
    hass: HomeAssistant,
    observations: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    start: datetime,
    end: datetime,
) -> tuple[PendingMerge, int]:
    """Runs in the recorder's executor: read states and merge them off the event loop."""
    states = history.get_significant_states(
        hass,
        start,
        end,
        entity_ids,
        include_start_time_state=True,
        significant_changes_only=False,
        minimal_response=False,
        no_attributes=False,
    )
    rows = _state_rows(states)
    return observations.prepare_merge(rows, roles), len(rows)


def recorder_available(hass: HomeAssistant) -> bool:
    """Whether the recorder is loaded and can be asked for history."""
    return "recorder" in hass.config.components


async def async_bootstrap(
    hass: HomeAssistant,
    observations: ObservationStore,
    roles: Mapping[str, str],
    entity_ids: list[str],
    history_days: int,
) -> ImportResult:
    """Merge the last history_days of the entities' recorder history."""
    result = ImportResult()
    if not entity_ids or not recorder_available(hass):
        return result
    instance = get_instance(hass)
    end = dt_util.utcnow()
    start = end - timedelta(days=history_days)
    pending, result.rows = await instance.async_add_executor_job(
        _read_recorder, hass, observations, roles, entity_ids, start, end
    )
    result.added = observations.commit_merge(pending)
    result.entities = len(pending.buffers)
    LOGGER.debug("Bootstrapped %s observations of %s entities from the recorder", result.added, result.entities)
    return result


@callback
def async_check_recorder(hass: HomeAssistant, entry_id: str, entity_ids: Iterable[str], history_days: int) -> None:
    """Raise (or clear) repair issues when the recorder cannot give the history asked for."""
    if not recorder_available(hass):
        return
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
    if instance.keep_days < history_days:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RECORDER_KEEP_DAYS,
            translation_placeholders={"keep_days": str(instance.keep_days), "history_days": str(history_days)},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)


def _read_hourly_energy(
    hass: HomeAssistant, energy_ids: list[str], power_ids: list[str], start: datetime, end: datetime
) -> tuple[list[float], list[float]]:
    """Runs in the recorder's executor: hourly kWh of the home from long-term statistics.

    Energy meters give their hourly change (resets handled by the recorder); without
    meters, power sensors' hourly means (W) count as kWh / 1000.
    """
    ids = energy_ids or power_ids
    stat_type: Literal["change", "mean"] = "change" if energy_ids else "mean"
    rows = statistics.statistics_during_period(
        hass, start, end, set(ids), "hour", {"energy": "kWh", "power": "W"}, {stat_type}
    )
    scale = 1.0 if energy_ids else 1e-3
    totals: dict[float, float] = {}
    for series in rows.values():
        for row in series:
            value = row.get(stat_type)
            if isinstance(value, (int, float)):
                totals[row["start"]] = totals.get(row["start"], 0.0) + value * scale
    hours = sorted(totals)
    return hours, [totals[hour] for hour in hours]


async def async_hourly_energy(
    hass: HomeAssistant, energy_ids: list[str], power_ids: list[str], days: int
) -> tuple[list[float], list[float]] | None:
    """Hourly consumption from the recorder's long-term statistics, or None if there are none."""
    if not (energy_ids or power_ids) or not recorder_available(hass):
        return None
    end = dt_util.utcnow()
    hours, kwh = await get_instance(hass).async_add_executor_job(
        _read_hourly_energy, hass, energy_ids, power_ids, end - timedelta(days=days), end
    )
    return (hours, kwh) if hours else None


def _read_csv(
    path: str, observations: ObservationStore, roles: Mapping[str, str], tz_name: str
) -> tuple[PendingMerge, ImportResult]:
    """Runs in the executor: parse the file and merge it off the event loop."""
    parsed = read_history_csv(path, roles, default_tz=dt_util.get_time_zone(tz_name))
    pending = observations.prepare_merge(parsed.rows, roles)
    return pending, ImportResult(
        rows=len(parsed.rows),
        bad_rows=parsed.bad_rows,
        ignored_rows=parsed.ignored_rows,
        entities=len(parsed.entities),
    )


async def async_import_csv(
    hass: HomeAssistant, observations: ObservationStore, roles: Mapping[str, str], path: str
) -> ImportResult:
    """Import a history CSV export; raises ServiceValidationError on a bad file or path."""
    if not hass.config.is_allowed_path(path):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="path_not_allowed", translation_placeholders={"path": path}
        )
    try:
        pending, result = await hass.async_add_executor_job(_read_csv, path, observations, roles, hass.config.time_zone)
    except HistoryCsvError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"csv_{err.reason}",
            translation_placeholders={"path": path},
        ) from err
    result.added = observations.commit_merge(pending)
    return result
