"""Config entry diagnostics: what SmartML learned, never when the household lives how.

People attach diagnostics to public bug reports, so nothing here may tell when the
household is home, away or asleep: the chosen entities, shapes, counts and model health
only (the notify target is redacted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_NOTIFY
from .coordinator import Recovery, SmartMLConfigEntry
from .engine.exclusions import SOURCE_CALENDAR, ExcludedPeriod
from .engine.results import HomePrediction
from .engine.routine_live import RoutineLearned
from .engine.security_context import SecurityLearned

TO_REDACT = {CONF_NOTIFY}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: SmartMLConfigEntry) -> Mapping[str, object]:
    """Options, learning status and per-channel counts (no raw observations)."""
    coordinator = entry.runtime_data.coordinator
    observations = coordinator.state.observations
    data = coordinator.data
    return {
        "options": async_redact_data(dict(entry.options), TO_REDACT),
        "status": data.status,
        "status_reason": data.status_reason,
        "days_covered": data.days_covered,
        "learning": coordinator.learning,
        "observations": {
            channel: {"role": observations.roles.get(channel), "kind": buf.kind, "points": len(buf.times)}
            for channel, buf in observations.channels.items()
        },
        "skipped_states": dict(observations.skipped),
        "bootstrapped_entities": sorted(coordinator.state.bootstrapped),
        "feedback_count": len(coordinator.state.feedback),
        "excluded_periods": excluded_diagnostics(coordinator.state.observations.excluded),
        "watched_sensors": coordinator.watched.status(),
        "fit_seconds": data.fit_seconds,
        "recovery": recovery_diagnostics(data.recovery),
        "predictions": None if data.prediction is None else prediction_diagnostics(data.prediction),
        "security": security_diagnostics(coordinator.models.security_learned() if coordinator.models else None),
        "routine": routine_diagnostics(coordinator.models.routine_learned() if coordinator.models else None),
    }


def prediction_diagnostics(prediction: HomePrediction) -> dict[str, object]:
    """The latest prediction's shape and health, without the household's routine.

    Diagnostics end up in public bug reports: forecasts, arrival and departure times,
    preheat times and the words of anomalies would tell anyone when the home is empty.
    What is kept: which parts predicted, how many hours, and how well the models score.
    """
    occupancy = prediction.occupancy
    return {
        "occupancy": None
        if occupancy is None
        else {
            "slot_minutes": occupancy.slot_minutes,
            "scopes": {
                name: {"forecast_hours": len(scope.forecast), "skill": scope.skill, "scored_slots": scope.scored_slots}
                for name, scope in {**occupancy.areas, **({"home": occupancy.home} if occupancy.home else {})}.items()
            },
        },
        "energy": None if prediction.energy is None else {"forecast_hours": len(prediction.energy.forecast.ts)},
        "climate": {
            entity_id: {
                "forecast_hours": len(zone.forecast),
                "preheat_planned": zone.preheat_start is not None,
                "preheat_method": zone.preheat_method,
                "preheat_raises": zone.preheat_raises,
                "heating_rate": zone.heating_rate,
                "cooling_rate": zone.cooling_rate,
                "tau_hours": zone.tau_hours,
                "confidence": zone.confidence,
            }
            for entity_id, zone in prediction.climate.items()
        },
        # Only how many: their types (energy drawn while the home is empty) and the setpoint's
        # mode (eco while everyone is out) would tell whether the household is home now.
        "anomalies": len(prediction.anomalies),
    }


def security_diagnostics(learned: SecurityLearned | None) -> dict[str, object] | None:
    """What the security model learned, without when the household sleeps."""
    if learned is None:
        return None
    return {**asdict(learned), "night_hours": len(learned.night_hours)}


def excluded_diagnostics(periods: Sequence[ExcludedPeriod]) -> dict[str, object]:
    """How many periods are excluded from learning and how long they are, never when."""
    return {
        "count": len(periods),
        "hours": round(sum(period.end - period.start for period in periods) / 3600.0, 1),
        "from_calendar": sum(period.source == SOURCE_CALENDAR for period in periods),
    }


def routine_diagnostics(learned: RoutineLearned | None) -> dict[str, object] | None:
    """What the routine model learned, without when the household gets up or sleeps."""
    if learned is None:
        return None
    return {
        "threshold": learned.threshold,
        "calibration_days": learned.calibration_days,
        "calibration_days_needed": learned.calibration_days_needed,
        "empty_chance_after_door": learned.empty_chance_after_door,
        "night_hours": len(learned.night_hours),
        "areas_with_a_usual_first_activity": len(learned.usual_first_activity),
        "sensors_judged_for_silence": len(learned.longest_silence_s),
    }


def recovery_diagnostics(recovery: Recovery | None) -> dict[str, object] | None:
    """What the last start restored, without the time of day it was saved."""
    if recovery is None:
        return None
    return {
        "restored_observations": recovery.restored_observations,
        "from_recorder": recovery.from_recorder,
        "gap_minutes": recovery.gap_minutes,
    }
