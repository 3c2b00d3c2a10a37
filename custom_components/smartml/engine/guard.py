"""Guard rails for applying a predicted setpoint (pure Python: runs in the event loop)."""

from __future__ import annotations

import math
from typing import Final

REASON_OK: Final = "ok"
REASON_HVAC_OFF: Final = "hvac_off"
REASON_MANUAL_OVERRIDE: Final = "manual_override"
REASON_INVALID: Final = "invalid_prediction"
REASON_PRESET: Final = "preset"
# Presets under which a thermostat follows its setpoint as usual; any other (away, eco,
# vacation, boost) is the household's choice, which a new setpoint would cancel.
FOLLOWING_PRESETS: Final = frozenset({"none", "home", "comfort"})


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
) -> tuple[float | None, str]:
    """The setpoint to apply (to the thermostat's step, clamped to its range) or None and why not.

    Never touches a thermostat that is off, on a preset of its own (away, eco), nor one
    changed by hand within the hold time.
    """
    if hvac_mode == "off":
        return None, REASON_HVAC_OFF
    if preset is not None and preset.lower() not in FOLLOWING_PRESETS:
        return None, REASON_PRESET
    if last_manual_change is not None and now - last_manual_change < manual_hold_minutes * 60:
        return None, REASON_MANUAL_OVERRIDE
    if not math.isfinite(predicted) or min_temp > max_temp or not step > 0:
        return None, REASON_INVALID
    # Rounded again so that steps such as 0.1 give 20.3, not 20.300000000000001.
    return min(max(round(round(predicted / step) * step, 6), min_temp), max_temp), REASON_OK
