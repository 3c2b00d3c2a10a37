"""What the climate model writes out: its parameters, and a summary of what it learned.

Nothing learned is persisted: the model is re-fitted from the observation store. The
summary (levels, change counts, thermal fit per zone) is plain JSON for diagnostics;
only the parameters are read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from .climate_zone import ClimateZone
from .constants import CLIMATE_HALF_LIFE_DAYS
from .thermal import ThermalSummary


class ZoneSummary(TypedDict):
    """One thermostat's fit as plain JSON."""

    days: float
    levels: dict[str, float]
    changes: dict[str, int]
    last_manual_change: float | None
    thermal: ThermalSummary | None


class ClimateSummary(TypedDict):
    """The climate model as plain JSON: its parameters and each zone's fit."""

    half_life_days: float
    fitted_at: float | None
    zones: dict[str, ZoneSummary]


def zone_summary(zone: ClimateZone) -> ZoneSummary:
    """A fitted zone as plain JSON (rounded)."""
    return {
        "days": round(zone.days, 2),
        "levels": dict(zone.routine.levels) if zone.routine else {},
        "changes": dict(zone.change_counts),
        "last_manual_change": zone.last_manual_change,
        "thermal": zone.thermal.as_dict() if zone.thermal else None,
    }


def saved_half_life(data: Mapping[str, object]) -> float:
    """The half-life a saved summary holds, the default when it holds none."""
    value = data.get("half_life_days", CLIMATE_HALF_LIFE_DAYS)
    return float(value) if isinstance(value, int | float | str) else CLIMATE_HALF_LIFE_DAYS
