"""Setting thermostats to their predicted setpoints: on request and, where chosen, automatically.

Guard rails (the thermostat's own limits, its mode, a hold after someone changed it by
hand) are in engine/guard.py; this module knows the thermostats' states and who changed
them last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import time
from typing import Any

from homeassistant.const import UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.unit_conversion import TemperatureConverter

from .const import (
    DEFAULT_MANUAL_HOLD_MINUTES,
    DEFAULT_MAX_SETPOINT,
    DEFAULT_MIN_SETPOINT,
    DOMAIN,
    LOGGER,
    SETPOINT_TOLERANCE,
)
from .engine.guard import guarded_setpoint
from .engine.observations import (
    ATTR_SETPOINT,
    ATTR_TARGET_TEMP_HIGH,
    ATTR_TARGET_TEMP_LOW,
    CHANNEL_SEP,
    ObservationStore,
    reported_setpoint,
    target_range,
)
from .engine.results import ClimatePrediction

SETTING_AUTO_APPLY = "auto_apply"
# A thermostat that refused a setpoint (offline, or a mode it cannot take it in) is asked
# again after this long, not at every refresh.
REFUSED_RETRY_SECONDS = 15 * 60


class SetpointControl:
    """Applies predicted setpoints and notices manual changes of the thermostats."""

    def __init__(
        self,
        hass: HomeAssistant,
        observations: ObservationStore,
        settings: dict[str, list[str]],
        on_changed: Callable[[], None],
    ) -> None:
        """Control the thermostats; on_changed saves the settings."""
        self.hass = hass
        self._observations = observations
        self._settings = settings
        self._on_changed = on_changed
        # When SmartML last set each thermostat, and when someone else last changed it.
        self.applied: dict[str, tuple[float, float]] = {}
        self.manual_changes: dict[str, float] = {}
        # Thermostats whose last auto-applied setpoint was refused, and when.
        self.refused: dict[str, float] = {}

    @property
    def auto_apply(self) -> list[str]:
        """Thermostats SmartML keeps at the predicted setpoint (persisted)."""
        return self._settings.setdefault(SETTING_AUTO_APPLY, [])

    def set_auto_apply(self, climate_id: str, enabled: bool) -> None:
        """Turn auto-apply on or off for a thermostat."""
        zones = self.auto_apply
        if enabled and climate_id not in zones:
            zones.append(climate_id)
        elif not enabled and climate_id in zones:
            zones.remove(climate_id)
        self.refused.pop(climate_id, None)
        self._on_changed()

    def note_setpoint_change(self, entity_id: str, ts: float) -> None:
        """A thermostat's setpoint changed at ts: by SmartML, or by hand (which starts a hold)."""
        channel = self._observations.channels.get(f"{entity_id}{CHANNEL_SEP}{ATTR_SETPOINT}")
        if channel is None or not channel.values or channel.times[-1] != ts:
            return
        applied = self.applied.get(entity_id)
        if applied is None or abs(applied[0] - channel.values[-1]) > SETPOINT_TOLERANCE:
            self.manual_changes[entity_id] = ts

    async def async_apply(
        self,
        climate_id: str,
        zone: ClimatePrediction | None,
        manual_hold_minutes: float = DEFAULT_MANUAL_HOLD_MINUTES,
        *,
        raise_on_refusal: bool = True,
    ) -> float | None:
        """Set a thermostat to its predicted setpoint (zone) within the guard rails.

        Predictions are in °C; the thermostat is set in the home's unit, as Home Assistant
        shows it. Returns what was set, in that unit.
        """
        state = self.hass.states.get(climate_id)
        unit = self.hass.config.units.temperature_unit
        reason: str | None = None
        setpoint: float | None = None
        limits = (0.0, 0.0)
        if zone is None:
            reason = "no_prediction"
        elif state is None or state.state in ("unknown", "unavailable"):
            reason = "climate_unavailable"
        else:
            limits = (
                float(state.attributes.get("min_temp", _from_celsius(DEFAULT_MIN_SETPOINT, unit))),
                float(state.attributes.get("max_temp", _from_celsius(DEFAULT_MAX_SETPOINT, unit))),
            )
            setpoint, reason = guarded_setpoint(
                _from_celsius(float(zone.setpoint_now), unit),
                min_temp=limits[0],
                max_temp=limits[1],
                hvac_mode=state.state,
                last_manual_change=self.manual_changes.get(climate_id),
                now=time.time(),
                manual_hold_minutes=manual_hold_minutes,
            )
        if setpoint is None or state is None:
            if raise_on_refusal:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=f"setpoint_{reason}",
                    translation_placeholders={"entity_id": climate_id},
                )
            return None
        # Kept in °C, as the observed setpoints it is compared with.
        self.applied[climate_id] = (_to_celsius(setpoint, unit), time.time())
        target = _target(state.attributes, setpoint, limits)
        try:
            await self.hass.services.async_call(
                "climate", "set_temperature", {"entity_id": climate_id, **target}, blocking=True
            )
        except HomeAssistantError as err:
            self.applied.pop(climate_id, None)
            # The thermostat's own words, under SmartML's: the class says whose fault it is.
            refusal = ServiceValidationError if isinstance(err, ServiceValidationError) else HomeAssistantError
            raise refusal(
                translation_domain=DOMAIN,
                translation_key="setpoint_refused",
                translation_placeholders={"entity_id": climate_id, "error": str(err) or type(err).__name__},
            ) from err
        return setpoint

    async def async_auto_apply(self, zones: Mapping[str, ClimatePrediction]) -> None:
        """Apply these predicted setpoints to the thermostats whose auto-apply switch is on.

        A thermostat that refuses is told once in the log and asked again later; the
        others, and the rest of SmartML, carry on.
        """
        now = time.time()
        for climate_id in self.auto_apply:
            zone = zones.get(climate_id)
            state = self.hass.states.get(climate_id)
            if zone is None or state is None:
                continue
            current = reported_setpoint(state.attributes)
            if (
                isinstance(current, (int, float))
                and abs(_to_celsius(current, self.hass.config.units.temperature_unit) - zone.setpoint_now)
                < SETPOINT_TOLERANCE
            ):
                continue
            refused_at = self.refused.get(climate_id)
            if refused_at is not None and now - refused_at < REFUSED_RETRY_SECONDS:
                continue
            try:
                await self.async_apply(climate_id, zone, raise_on_refusal=False)
            except Exception as err:  # whatever its integration raises, the other thermostats go on
                if refused_at is None:
                    LOGGER.warning(
                        "%s (SmartML asks again every %d minutes while auto-apply is on)",
                        err if isinstance(err, HomeAssistantError) else f"{climate_id}: {err!r}",
                        REFUSED_RETRY_SECONDS // 60,
                    )
                self.refused[climate_id] = now
                continue
            if self.refused.pop(climate_id, None) is not None:
                LOGGER.info("%s takes the predicted setpoint again", climate_id)


def _from_celsius(value: float, unit: str) -> float:
    return TemperatureConverter.convert(value, UnitOfTemperature.CELSIUS, unit)


def _to_celsius(value: float, unit: str) -> float:
    return TemperatureConverter.convert(value, unit, UnitOfTemperature.CELSIUS)


def _target(attributes: Mapping[str, Any], setpoint: float, limits: tuple[float, float]) -> dict[str, float]:
    """The set_temperature data that brings a thermostat to setpoint, within its limits (min, max).

    A thermostat holding a target range (heat_cool on many) keeps its range's width, moved so
    that its middle (what SmartML learned from) is the setpoint, within its limits.
    """
    span = target_range(attributes)
    if span is None:
        return {ATTR_SETPOINT: setpoint}
    half = max(span[1] - span[0], 0.0) / 2.0
    low, high = limits
    middle = min(max(setpoint, low + half), high - half) if high - low >= 2 * half else setpoint
    return {ATTR_TARGET_TEMP_LOW: middle - half, ATTR_TARGET_TEMP_HIGH: middle + half}
