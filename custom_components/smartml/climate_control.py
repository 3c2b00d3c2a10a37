"""Setting thermostats to their predicted setpoints: on request and, where chosen, automatically.

Guard rails (the thermostat's own limits, its mode, a hold after someone changed it by
hand) are in engine/guard.py; this module knows the thermostats' states and who changed
them last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
import math
import time
from typing import Any, cast

from homeassistant.const import UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.unit_conversion import TemperatureConverter, TemperatureDeltaConverter

from .const import (
    DEFAULT_MANUAL_HOLD_MINUTES,
    DEFAULT_MAX_SETPOINT,
    DEFAULT_MIN_SETPOINT,
    DOMAIN,
    ISSUE_SETPOINT_REFUSED,
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
# When each thermostat was last changed by hand: kept with the settings, so that a restart or
# a reload does not end the hold and set the thermostat back at once.
SETTING_MANUAL_CHANGES = "manual_changes"
# Setpoints closer than this are the same number (unit conversions leave float crumbs).
SETPOINT_EPSILON = 1e-6
# A thermostat that refused a setpoint (offline, or a mode it cannot take it in) is asked
# again after this long, not at every refresh.
REFUSED_RETRY_SECONDS = 15 * 60
# One refusing this long gets a repair issue: the log is not where people look.
REFUSED_ISSUE_SECONDS = 60 * 60
# A thermostat's first setpoint report this soon after SmartML set it is its answer: one
# that rounds to steps of its own may show a step off what it was sent.
ANSWER_SECONDS = 10 * 60
ATTR_TARGET_TEMP_STEP = "target_temp_step"
# A thermostat that has not answered in this long has refused: a hung integration must not
# hold back every SmartML entity's update.
SET_TIMEOUT_SECONDS = 30
REASON_UNAVAILABLE = "climate_unavailable"


@dataclass(frozen=True, slots=True)
class Applied:
    """What SmartML last set a thermostat to (°C), and whether the thermostat has answered."""

    setpoint: float
    step: float  # the thermostat's step, as a difference in °C
    at: float
    answered: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying a prediction would set a thermostat to, in the home's unit, or why not."""

    setpoint: float | None
    reason: str
    unit: str
    step: float = 0.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # The set_temperature data that brings the thermostat there.
    target: Mapping[str, float] = field(default_factory=dict)


class SetpointControl:
    """Applies predicted setpoints and notices manual changes of the thermostats."""

    def __init__(
        self,
        hass: HomeAssistant,
        observations: ObservationStore,
        settings: dict[str, Any],
        on_changed: Callable[[], None],
        hearing: Callable[[], bool],
    ) -> None:
        """Control the thermostats; on_changed saves the settings.

        hearing: whether each setpoint change is heard (stored and passed to
        note_setpoint_change); learning paused, it is not.
        """
        self.hass = hass
        self._observations = observations
        self._settings = settings
        self._on_changed = on_changed
        self._hearing = hearing
        # What SmartML last set each thermostat to, and when someone else last changed it.
        self.applied: dict[str, Applied] = {}
        # Thermostats whose last auto-applied setpoint was refused: since when, and the last try.
        self.refused: dict[str, tuple[float, float]] = {}
        # Changes by hand noticed while not heard: when, and the setpoint then (°C).
        self._noticed: dict[str, tuple[float, float]] = {}

    @property
    def manual_changes(self) -> dict[str, float]:
        """When each thermostat was last changed by hand (persisted)."""
        changes = self._settings.get(SETTING_MANUAL_CHANGES)
        if not isinstance(changes, dict):
            changes = self._settings[SETTING_MANUAL_CHANGES] = {}
        return cast(dict[str, float], changes)

    @property
    def auto_apply(self) -> list[str]:
        """Thermostats SmartML keeps at the predicted setpoint (persisted)."""
        zones = self._settings.get(SETTING_AUTO_APPLY)
        if not isinstance(zones, list):
            zones = self._settings[SETTING_AUTO_APPLY] = []
        return cast(list[str], zones)

    def set_auto_apply(self, climate_id: str, enabled: bool) -> None:
        """Turn auto-apply on or off for a thermostat."""
        zones = self.auto_apply
        if enabled and climate_id not in zones:
            zones.append(climate_id)
        elif not enabled and climate_id in zones:
            zones.remove(climate_id)
        self._forget_refusal(climate_id)
        self._on_changed()

    def _forget_refusal(self, climate_id: str) -> bool:
        """Forget a refusal and its repair issue (the thermostat took a setpoint, or is left alone).

        Returns whether there was one.
        """
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_SETPOINT_REFUSED}_{climate_id}")
        return self.refused.pop(climate_id, None) is not None

    def note_setpoint_change(self, entity_id: str, ts: float) -> None:
        """A thermostat's setpoint changed at ts: by SmartML, or by hand (which starts a hold).

        The thermostat's answer to what SmartML set is SmartML's even a step off (the device
        rounded it); later reports are SmartML's only where they still show what it set.
        """
        channel = self._observations.channels.get(f"{entity_id}{CHANNEL_SEP}{ATTR_SETPOINT}")
        if channel is None or not channel.values or channel.times[-1] != ts:
            return
        applied = self.applied.get(entity_id)
        if applied is not None:
            off = abs(applied.setpoint - channel.values[-1])
            answer = not applied.answered and ts - applied.at <= ANSWER_SECONDS
            self.applied[entity_id] = replace(applied, answered=True)
            # Later reports show what SmartML set only as the thermostat rounds it: a nudge of
            # a fine-stepped thermostat by hand is someone's.
            shown = min(SETPOINT_TOLERANCE, applied.step / 2 + SETPOINT_EPSILON)
            if off <= shown or (answer and off <= applied.step + SETPOINT_EPSILON):
                return
        self.manual_changes[entity_id] = ts
        self._on_changed()

    def note_unheard_change(self, climate_id: str) -> None:
        """Notice a change by hand made while setpoint changes were not heard (learning paused).

        A thermostat showing another setpoint than it was last seen at, or than SmartML set
        since, was changed by hand: at the latest when its state last changed, which starts
        the hold (a later change of another attribute only makes the hold longer).
        """
        state = self.hass.states.get(climate_id)
        shown = None if state is None else _shown_setpoint(state.attributes)
        if state is None or shown is None:
            return
        shown = _to_celsius(shown, self.hass.config.units.temperature_unit)
        # The last setpoint known: observed, noticed here, or set by SmartML.
        channel = self._observations.channels.get(f"{climate_id}{CHANNEL_SEP}{ATTR_SETPOINT}")
        seen_at, seen, tolerance = -math.inf, None, SETPOINT_EPSILON
        if channel is not None and channel.values:
            seen_at, seen = channel.times[-1], channel.values[-1]
        noticed = self._noticed.get(climate_id)
        if noticed is not None and noticed[0] >= seen_at:
            seen_at, seen = noticed
        applied = self.applied.get(climate_id)
        if applied is not None and applied.at >= seen_at:
            # The thermostat's answer may be a step off what SmartML sent (it rounds its own way).
            seen, tolerance = applied.setpoint, applied.step + SETPOINT_EPSILON
        if seen is None or abs(shown - seen) <= tolerance:
            return
        changed_at = state.last_updated_timestamp
        self._noticed[climate_id] = (changed_at, shown)
        self.manual_changes[climate_id] = changed_at
        self._on_changed()

    def _plan(self, climate_id: str, zone: ClimatePrediction | None, manual_hold_minutes: float) -> Plan:
        """What the prediction (°C) would set the thermostat to, within the guard rails."""
        state = self.hass.states.get(climate_id)
        unit = self.hass.config.units.temperature_unit
        if zone is None:
            return Plan(None, "no_prediction", unit)
        if state is None or state.state in ("unknown", "unavailable"):
            return Plan(None, REASON_UNAVAILABLE, unit)
        attributes = state.attributes
        limits = (
            _reported(attributes, "min_temp", from_celsius(DEFAULT_MIN_SETPOINT, unit)),
            _reported(attributes, "max_temp", from_celsius(DEFAULT_MAX_SETPOINT, unit)),
        )
        step = _step(attributes, unit)
        setpoint, reason = guarded_setpoint(
            from_celsius(float(zone.setpoint_now), unit),
            min_temp=limits[0],
            max_temp=limits[1],
            hvac_mode=state.state,
            last_manual_change=self.manual_changes.get(climate_id),
            now=time.time(),
            manual_hold_minutes=manual_hold_minutes,
            step=step,
            preset=attributes.get("preset_mode"),
            shows_target=_shown_setpoint(attributes) is not None,
        )
        if setpoint is None:
            return Plan(None, reason, unit, step, attributes)
        target = _target(attributes, setpoint, limits)
        if ATTR_SETPOINT not in target:
            # A range thermostat is planned at the middle it will really be given (within its limits).
            setpoint = (target[ATTR_TARGET_TEMP_LOW] + target[ATTR_TARGET_TEMP_HIGH]) / 2.0
        return Plan(setpoint, reason, unit, step, attributes, target)

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
        shows it, to its step. Returns what was set, in that unit.
        """
        if not self._hearing():
            self.note_unheard_change(climate_id)
        plan = self._plan(climate_id, zone, manual_hold_minutes)
        if plan.setpoint is None:
            if raise_on_refusal:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=f"setpoint_{plan.reason}",
                    translation_placeholders={"entity_id": climate_id},
                )
            return None
        await self._async_set(climate_id, plan, plan.setpoint)
        self._forget_refusal(climate_id)
        return plan.setpoint

    async def _async_set(self, climate_id: str, plan: Plan, setpoint: float) -> None:
        """Send the plan's setpoint (given apart, known not None); raises a translated error when refused."""
        # Kept in °C, as the observed setpoints it is compared with.
        self.applied[climate_id] = Applied(
            _to_celsius(setpoint, plan.unit),
            TemperatureDeltaConverter.convert(plan.step, plan.unit, UnitOfTemperature.CELSIUS),
            time.time(),
        )
        try:
            async with asyncio.timeout(SET_TIMEOUT_SECONDS):
                await self.hass.services.async_call(
                    "climate", "set_temperature", {"entity_id": climate_id, **plan.target}, blocking=True
                )
        except (HomeAssistantError, TimeoutError) as err:
            self.applied.pop(climate_id, None)
            # The thermostat's own words, under SmartML's: the class says whose fault it is.
            refusal = ServiceValidationError if isinstance(err, ServiceValidationError) else HomeAssistantError
            said = f"no answer in {SET_TIMEOUT_SECONDS} s" if isinstance(err, TimeoutError) else str(err)
            raise refusal(
                translation_domain=DOMAIN,
                translation_key="setpoint_refused",
                translation_placeholders={"entity_id": climate_id, "error": said or type(err).__name__},
            ) from err

    def _holds(self, climate_id: str, plan: Plan, setpoint: float) -> bool:
        """Whether the thermostat is at the setpoint already, to its step.

        Within half a step it shows that setpoint; within a whole one where SmartML sent
        this very setpoint and the thermostat rounded it its own way.
        """
        current = _shown_setpoint(plan.attributes)
        if current is None:
            return False
        off = abs(current - setpoint)
        if off < plan.step / 2:
            return True
        applied = self.applied.get(climate_id)
        sent = applied is not None and abs(applied.setpoint - _to_celsius(setpoint, plan.unit)) < SETPOINT_EPSILON
        return sent and off <= plan.step + SETPOINT_EPSILON

    async def async_auto_apply(self, zones: Mapping[str, ClimatePrediction]) -> None:
        """Apply these predicted setpoints to the thermostats whose auto-apply switch is on.

        A thermostat that refuses is told once in the log and asked again later; the
        others, and the rest of SmartML, carry on.
        """
        now = time.time()
        for climate_id in self.auto_apply:
            zone = zones.get(climate_id)
            if zone is None:
                continue
            plan = self._plan(climate_id, zone, DEFAULT_MANUAL_HOLD_MINUTES)
            if plan.setpoint is None or self._holds(climate_id, plan, plan.setpoint):
                # At the setpoint already, or left alone (off, changed by hand): nothing refuses
                # any more. Unavailable, it is still the thermostat that does not answer.
                if plan.reason != REASON_UNAVAILABLE and climate_id in self.refused:
                    self._forget_refusal(climate_id)
                continue
            refusal = self.refused.get(climate_id)
            if refusal is not None and now - refusal[1] < REFUSED_RETRY_SECONDS:
                continue
            try:
                await self._async_set(climate_id, plan, plan.setpoint)
            except Exception as err:  # whatever its integration raises, the other thermostats go on
                self._note_refusal(climate_id, err, now)
                continue
            if self.refused and self._forget_refusal(climate_id):
                LOGGER.info("%s takes the predicted setpoint again", climate_id)

    def forget_refusals(self) -> None:
        """Forget every refusal and its repair issue (the entry unloads: nothing is asked any more)."""
        for climate_id in list(self.refused):
            self._forget_refusal(climate_id)

    def _note_refusal(self, climate_id: str, err: Exception, now: float) -> None:
        """Told once in the log; a repair issue if it goes on."""
        said = err if isinstance(err, HomeAssistantError) else f"{climate_id}: {err!r}"
        refusal = self.refused.get(climate_id)
        if refusal is None:
            LOGGER.warning(
                "%s (SmartML asks again every %d minutes while auto-apply is on)", said, REFUSED_RETRY_SECONDS // 60
            )
        since = now if refusal is None else refusal[0]
        self.refused[climate_id] = (since, now)
        if now - since >= REFUSED_ISSUE_SECONDS:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"{ISSUE_SETPOINT_REFUSED}_{climate_id}",
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_SETPOINT_REFUSED,
                translation_placeholders={"error": str(said)},
            )


def _reported(attributes: Mapping[str, Any], key: str, default: float) -> float:
    """A number the thermostat reports, else the default (a device may report None or nothing)."""
    value = attributes.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _shown_setpoint(attributes: Mapping[str, Any]) -> float | None:
    """The setpoint the thermostat shows (its target temperature, else its range's middle), if any."""
    shown = reported_setpoint(attributes)
    if isinstance(shown, (int, float)) and not isinstance(shown, bool) and math.isfinite(shown):
        return float(shown)
    return None


def _step(attributes: Mapping[str, Any], unit: str) -> float:
    """The thermostat's setpoint step in the home's unit: its own, else 1 °F or 0.5 °C."""
    step = _reported(attributes, ATTR_TARGET_TEMP_STEP, math.nan)
    if step > 0:
        return step
    return 1.0 if unit == UnitOfTemperature.FAHRENHEIT else 0.5


def from_celsius(value: float, unit: str) -> float:
    """A temperature in °C in the home's unit, as Home Assistant shows it."""
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
