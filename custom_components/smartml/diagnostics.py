"""Config entry diagnostics: what SmartML learned, without the home's private details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_NOTIFY
from .coordinator import SmartMLConfigEntry
from .engine.results import HomePrediction
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
        "watched_sensors": coordinator.watched.status(),
        "fit_seconds": data.fit_seconds,
        "restored": None if data.recovery is None else data.recovery.as_dict(),
        "predictions": None if data.prediction is None else prediction_diagnostics(data.prediction),
        "security": security_diagnostics(coordinator.models.security_learned() if coordinator.models else None),
    }


def security_diagnostics(learned: SecurityLearned | None) -> dict[str, object] | None:
    """What the security model learned: threshold, calibration, night hours, graces, open limits."""
    return None if learned is None else asdict(learned)


def prediction_diagnostics(prediction: HomePrediction) -> dict[str, object]:
    """The latest prediction as plain data (its dataclasses, field by field)."""
    return {
        "now": prediction.now,
        "home_occupied": prediction.home_occupied,
        "occupancy": None if prediction.occupancy is None else asdict(prediction.occupancy),
        "energy": None if prediction.energy is None else asdict(prediction.energy),
        "climate": {entity_id: asdict(zone) for entity_id, zone in prediction.climate.items()},
        "anomalies": [anomaly.as_json() for anomaly in prediction.anomalies],
    }
