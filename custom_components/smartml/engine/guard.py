"""Guard rails for applying a predicted setpoint (pure Python: runs in the event loop)."""

from __future__ import annotations

import math
from typing import Final

REASON_OK: Final = "ok"
REASON_HVAC_OFF: Final = "hvac_off"
REASON_HVAC_MODE: Final = "hvac_mode"
REASON_NO_TARGET: Final = "no_target"
REASON_MANUAL_OVERRIDE: Final = "manual_override"
REASON_INVALID: Final = "invalid_prediction"
REASON_PRESET: Final = "preset"
# Presets under which a thermostat follows its setpoint as usual; any other (away, eco,
# vacation, boost) is the household's choice, which a new setpoint would cancel.
FOLLOWING_PRESETS: Final = frozenset({"none", "home", "comfort"})
# The HVAC modes that take a target temperature: fan_only and dry have none to set.
SETPOINT_MODES: Final = frozenset({"heat", "cool", "heat_cool", "auto"})


def guarded_setpoint(
    predicted: float,
    *,
    min_temp: float,
    max_temp: float,
    hvac_mode: str,
    last_manual_change: float | None,
    now: float,
    manual_hold_minutes: float,
    step: float = 0.5,
    preset: str | None = None,
    shows_target: bool = True,
) -> tuple[float | None, str]:
    """The setpoint to apply (to the thermostat's step, clamped to its range) or None and why not.

    Never touches a thermostat that is off, in a mode without a target temperature (fan_only,
    dry), showing no target temperature (shows_target: neither one nor a range), on a preset
    of its own (away, eco), nor one changed by hand within the hold time.
    """
    if hvac_mode == "off":
        return None, REASON_HVAC_OFF
    if hvac_mode not in SETPOINT_MODES:
        return None, REASON_HVAC_MODE
    if not shows_target:
        return None, REASON_NO_TARGET
    if preset is not None and preset.lower() not in FOLLOWING_PRESETS:
        return None, REASON_PRESET
    if last_manual_change is not None and now - last_manual_change < manual_hold_minutes * 60:
        return None, REASON_MANUAL_OVERRIDE
    if not math.isfinite(predicted) or min_temp > max_temp or not step > 0:
        return None, REASON_INVALID
    # Rounded again so that steps such as 0.1 give 20.3, not 20.300000000000001.
    return min(max(round(round(predicted / step) * step, 6), min_temp), max_temp), REASON_OK
