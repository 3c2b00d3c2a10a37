"""Names and units shared by the engine and the integration: one definition of each.

Plain Python (no numpy), so the integration can import it in the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MINUTE_SECONDS: Final = 60.0
HOUR_SECONDS: Final = 3_600.0
DAY_SECONDS: Final = 86_400.0
WEEK_SECONDS: Final = 7 * DAY_SECONDS
# Watched devices learn their usual runs from this many days (long-term statistics reach
# further back than the observations Home Assistant keeps).
DEVICE_LEARN_DAYS: Final = 112
# Length of the time slots occupancy is learned in and coverage is counted in (minutes).
DEFAULT_SLOT_MINUTES: Final = 15

# A home spec (DESIGN.md): the same keys as a config entry's options, plus "timezone".
type HomeSpec = Mapping[str, Any]
# What an object writes for the store: a JSON object whose values only its reader inspects.
type JsonObject = Mapping[str, object]

# The whole-home scope of occupancy (beside the areas) and of the entities' devices.
HOME: Final = "home"

# The models of a home, as named in fit reports and the learned state.
MODEL_OCCUPANCY: Final = "occupancy"
MODEL_SECURITY: Final = "security"
MODEL_ENERGY: Final = "energy"
MODEL_CLIMATE: Final = "climate"
MODEL_ROUTINE: Final = "routine"


# How fast the climate model forgets old setpoint habits (days for a weight to halve).
CLIMATE_HALF_LIFE_DAYS: Final = 21.0

# How readily the security model alerts: it scales the target false-alarm rate.
SECURITY_SENSITIVITIES: Final = ("low", "medium", "high")
DEFAULT_SENSITIVITY: Final = "medium"

# Anomaly kinds (which binary sensor shows them) and types (what happened).
KIND_SECURITY: Final = "security"
KIND_ENERGY: Final = "energy"
KIND_ROUTINE: Final = "routine"
TYPE_ACTIVITY_WHEN_EMPTY: Final = "activity_when_empty"
TYPE_UNUSUAL_TIME: Final = "unusual_time"
TYPE_OPEN_TOO_LONG: Final = "open_too_long"
TYPE_ENTRY_WITHOUT_ARRIVAL: Final = "entry_without_arrival"
TYPE_UNUSUAL_VALUE: Final = "unusual_value"
TYPE_PRESENCE_DOUBT: Final = "presence_doubt"
TYPE_ABOVE_FORECAST: Final = "above_forecast"
TYPE_STUCK_ON: Final = "long_run"
TYPE_BASE_LOAD: Final = "base_load"
TYPE_EMPTY_HOME: Final = "empty_home_draw"
TYPE_DEVICE_LEFT_ON: Final = "device_left_on"
TYPE_DEVICE_STANDBY: Final = "device_standby"
# An energy limit lifted by feedback sits this much above what was marked normal.
FEEDBACK_MARGIN: Final = 1.1
SECURITY_TYPES: Final = (
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_UNUSUAL_TIME,
    TYPE_OPEN_TOO_LONG,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_UNUSUAL_VALUE,
    TYPE_PRESENCE_DOUBT,
)
ENERGY_TYPES: Final = (
    TYPE_ABOVE_FORECAST,
    TYPE_EMPTY_HOME,
    TYPE_BASE_LOAD,
    TYPE_STUCK_ON,
    TYPE_DEVICE_LEFT_ON,
    TYPE_DEVICE_STANDBY,
)
# The home silent far longer than usual while someone is in.
TYPE_ROUTINE_MISSING: Final = "routine_missing"
ROUTINE_TYPES: Final = (TYPE_ROUTINE_MISSING,)


def has_house_meter(spec: Mapping[str, Any]) -> bool:
    """Whether the home's own consumption is measured (a power sensor or an energy meter of the house)."""
    return bool(spec.get("power") or spec.get("energy"))


def models_for(spec: Mapping[str, Any]) -> frozenset[str]:
    """The models a home spec calls for (the one place that decides it).

    Occupancy needs areas, presence or occupancy entities; the security and routine models
    learn from the same binary sensors, or from the security entities alone; energy needs a power or
    energy sensor, of the house or of a watched device; climate a thermostat. Watched numeric
    sensors have detectors of their own and need no model.
    """
    occupancy = bool(spec.get("areas") or spec.get("presence") or spec.get("occupancy"))
    wanted = {
        MODEL_OCCUPANCY: occupancy,
        MODEL_SECURITY: occupancy or bool(spec.get("security")),
        MODEL_ENERGY: has_house_meter(spec) or bool(spec.get("devices")),
        MODEL_CLIMATE: bool(spec.get("climate")),
        MODEL_ROUTINE: occupancy or bool(spec.get("security")),
    }
    return frozenset(name for name, yes in wanted.items() if yes)


# A watched device's run is compared with the usual runs that started within this many hours
# of its start (`device_watch`; the explanation says so). Narrower, a circuit's ordinary runs
# set new records too often (UCI circuits, January-June: 1.5 false alarms per 14 days at 3 h,
# 1.1 at 4 h, 0.75 at 6 h).
RUN_WINDOW_HOURS: Final = 6
