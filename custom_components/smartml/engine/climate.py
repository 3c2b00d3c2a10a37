"""Climate: the household's setpoint routine, the zone's thermal response and preheat timing.

One `ClimateModel` serves every climate entity of a home; it keeps one fitted zone per
entity (`climate_zone`). From the ObservationStore channels of a thermostat, the home's
presence channels and, if configured, an outdoor temperature channel, it learns:

- the setpoint routine (`setpoint_routine`): per 15-minute slot of the week and occupancy
  state, forgetful histograms of the setpoints in force, predicted by their weighted
  median. Changes are classified (`setpoint_changes`) as schedule, occupancy or manual
  steps; manual ones count less, being unrepeatable.
- the thermal response (`thermal`): a first-order RC model fitted by least squares.
- when anyone is home (`climate_presence`): the learned rhythm of the presence channels,
  or the occupancy model's forecast given with `set_occupancy_outlook`.
- preheat (precool, `preheat`): the latest start so that the zone, from where it would
  otherwise be, reaches the setpoint predicted for the next predicted occupied step up in
  the time its heat-up estimator (`heat_up`: learned from the room's past raises, or its
  thermal fit where that did better on them) gives.

numpy only; runs in the executor. Nothing here must be persisted: the model is re-fitted
from the observation store; `as_dict` is a plain summary for diagnostics (`climate_state`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .climate_presence import (
    OccupancyOutlook,
    PresenceRoutine,
    forecast_outlook,
    hourly_occupancy,
    presence_series,
)
from .climate_state import ClimateSummary, saved_half_life, zone_summary
from .climate_zone import ClimateZone, fit_zone, same_family, value_at
from .constants import CLIMATE_HALF_LIFE_DAYS, DAY_SECONDS
from .observations import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_HVAC_MODE,
    ATTR_SETPOINT,
    CHANNEL_SEP,
    HVAC_MODE_COOL,
    HVAC_MODE_OFF,
    ROLE_CLIMATE,
    ROLE_OUTDOOR,
    ROLE_PRESENCE,
    ObservationStore,
)
from .preheat import PreheatPlan, plan_preheat
from .results import (
    REASON_CLIMATE_DAYS,
    REASON_CLIMATE_NO_SETPOINTS,
    REASON_CLIMATE_OTHER_MODE,
    REASON_ENTITY,
    THERMAL_NO_FIT,
    THERMAL_WEAK_FIT,
    ClimatePrediction,
    Reason,
    days_had,
)
from .setpoint_gate import presence_counts
from .setpoint_routine import SLOT_MINUTES, SLOT_SECONDS, local_day_slot

__all__ = ["ClimateModel", "hourly_occupancy"]

# Learn from at most this much history (older weights are negligible anyway).
MAX_HISTORY_DAYS: Final = 120.0
MIN_SETPOINT_DAYS: Final = 2.0


def _entities(value: object) -> list[str]:
    """The entity ids of a spec entry that lists them."""
    return [e for e in value if isinstance(e, str)] if isinstance(value, list | tuple) else []


class ClimateModel:
    """Setpoint routine, thermal response and preheat for every climate entity of a home."""

    def __init__(self, half_life_days: float = CLIMATE_HALF_LIFE_DAYS) -> None:
        """half_life_days: how fast old setpoint habits are forgotten."""
        self.half_life_days = half_life_days
        self.timezone = "UTC"
        self.zones_: dict[str, ClimateZone] = {}
        self.presence_: PresenceRoutine | None = None
        self.occupancy_hourly_: Callable[[float], float] | None = None
        self.fitted_at_: float | None = None
        # Per entity, the preheat shown last: (target time, start), see `_steady_plan`.
        self.shown_starts_: dict[str, tuple[float, float]] = {}
        self._presence_channels: list[str] = []
        self._outdoor_channel: str | None = None

    # -- persistence (parameters only; everything learned is re-fitted from the store) --
    def as_dict(self) -> ClimateSummary:
        """Parameters and a summary of what was learned (plain JSON)."""
        return {
            "half_life_days": self.half_life_days,
            "fitted_at": self.fitted_at_,
            "zones": {entity_id: zone_summary(zone) for entity_id, zone in self.zones_.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ClimateModel:
        """Model with the saved parameters (fit it before predicting)."""
        return cls(half_life_days=saved_half_life(data))

    # -- fitting --
    def fit(self, store: ObservationStore, spec: Mapping[str, object], now: float) -> None:
        """Fit every climate entity of the spec on observations before `now` (executor).

        Forgets any occupancy outlook given before (see `set_occupancy_outlook`).
        """
        self.timezone = str(spec.get("timezone", "UTC"))
        self.fitted_at_ = now
        self.occupancy_hourly_ = None
        presence = [e for e in _entities(spec.get(ROLE_PRESENCE)) if e in store.channels]
        if not presence:
            presence = [c for c, role in store.roles.items() if role == ROLE_PRESENCE]
        self._presence_channels = presence
        outdoor = spec.get(ROLE_OUTDOOR)
        if isinstance(outdoor, list):
            outdoor = outdoor[0] if outdoor else None
        self._outdoor_channel = outdoor if isinstance(outdoor, str) and outdoor in store.channels else None
        start = now - MAX_HISTORY_DAYS * DAY_SECONDS
        learned = PresenceRoutine.fit(store, presence, start, now, self.timezone, self.half_life_days)
        self.presence_, home_series = (None, None) if learned is None else learned
        self.zones_ = {
            entity_id: fit_zone(
                store,
                entity_id,
                start=start,
                now=now,
                tz_name=self.timezone,
                half_life_days=self.half_life_days,
                home_series=home_series,
                outdoor_channel=self._outdoor_channel,
                presence_relax_hours=None if self.presence_ is None else self.presence_.relax_hours,
            )
            for entity_id in _entities(spec.get(ROLE_CLIMATE))
        }
        self.refresh(store, now)

    def set_occupancy_outlook(self, forecast: Sequence[tuple[float, float]]) -> None:
        """Aim preheat at the occupancy model's forecast of the home: (slot or hour start, probability) pairs.

        Its probabilities then count fully (see `occupancy_forecast`) until the next fit;
        an empty forecast clears it.
        """
        if not forecast:
            self.occupancy_hourly_ = None
            return
        self.occupancy_hourly_ = hourly_occupancy([ts for ts, _ in forecast], [p for _, p in forecast])

    def refresh(self, store: ObservationStore, now: float) -> None:
        """Take the latest live readings (indoor, outdoor, setpoint, mode, presence); cheap, no refit."""
        outdoor = value_at(store.channels.get(self._outdoor_channel or ""), now)
        for entity_id, zone in self.zones_.items():
            zone.indoor = value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_CURRENT_TEMPERATURE), now)
            zone.setpoint = value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT), now)
            zone.hvac_mode = value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_MODE), now)
            zone.outdoor = outdoor
        if self.presence_ is not None:
            home = presence_series(store, self._presence_channels, np.array([now]))
            self.presence_.home_now = None if home is None or not np.isfinite(home[0]) else float(home[0])

    # -- prediction --
    def enough_data(self, entity_id: str) -> tuple[bool, Reason | None]:
        """Whether the entity's setpoint routine can be predicted, and if not why."""
        zone = self.zones_.get(entity_id)
        if zone is None or zone.routine is None:
            return False, Reason(REASON_CLIMATE_NO_SETPOINTS, {REASON_ENTITY: entity_id})
        if zone.days < MIN_SETPOINT_DAYS:
            days = {"needed": f"{MIN_SETPOINT_DAYS:g}", "days": days_had(zone.days)}
            return False, Reason(REASON_CLIMATE_DAYS, {REASON_ENTITY: entity_id, **days})
        learned, mode = zone.routine_mode, zone.hvac_mode
        running = mode is not None and mode != HVAC_MODE_OFF
        if running and learned is not None and not same_family(np.array([mode]), learned)[0]:
            # Switched since the fit (heating to cooling): the next fit learns the new mode.
            return False, Reason(REASON_CLIMATE_OTHER_MODE, {REASON_ENTITY: entity_id})
        return True, None

    def occupancy_forecast(
        self, times: NDArray[np.float64], now: float, home_now: float | None
    ) -> OccupancyOutlook | None:
        """(probability home, weight of the state mixture, probability home for preheat) at each time.

        With an occupancy outlook given, its probabilities count fully. Otherwise the
        current state is carried forward, fading into the learned rhythm (see
        `PresenceRoutine.outlook`). None without any occupancy knowledge.
        """
        if self.occupancy_hourly_ is not None:
            return forecast_outlook(self.occupancy_hourly_, times, now, home_now)
        if self.presence_ is None:
            return None
        return self.presence_.outlook(times, now, home_now, self.timezone)

    def setpoints(
        self,
        entity_id: str,
        times: NDArray[np.float64],
        p_home: NDArray[np.float64] | None,
        weight: NDArray[np.float64] | None = None,
        in_force: float | None = None,
    ) -> NDArray[np.float64]:
        """Predicted setpoint at each time for the given probabilities of being home (see SetpointRoutine.predict).

        Where who is home is not known (or counts less than the routine), the forecast is
        the one that has lately done best at that slot of the day (see `setpoint_gate`):
        the routine, the plain week median, or the setpoint in force (`in_force`, default
        the latest reading). While the gate has fallen back on a naive forecast (the whole
        day-ahead forecast has not beaten it lately), a forecast presence (`weight` given)
        does not replace it either: only presence known now does.
        """
        zone = self.zones_[entity_id]
        if zone.routine is None:
            return np.full(len(times), np.nan)
        weekday, slot = local_day_slot(np.asarray(times, dtype=np.float64), self.timezone)
        routine = zone.routine.predict(weekday, slot, p_home, weight)
        in_force = zone.setpoint if in_force is None else in_force
        if zone.gate is None or in_force is None:
            return routine
        gated = zone.gate.apply(weekday, slot, routine, in_force)
        if p_home is None:
            return gated
        if zone.gate.fallback is not None and weight is not None:
            return gated
        # Where who is home is known, the routine's setpoint for it is what the household sets.
        return np.where(presence_counts(weight, p_home), routine, gated)

    def forecast_setpoints(
        self,
        entity_id: str,
        times: NDArray[np.float64],
        now: float,
        home_now: float | None,
        in_force: float | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Setpoints predicted at `now` for each time, and the probability of being home then."""
        outlook = self.occupancy_forecast(times, now, home_now)
        if outlook is None:
            return self.setpoints(entity_id, times, None, in_force=in_force), None
        return self.setpoints(entity_id, times, outlook.p_state, outlook.weight, in_force), outlook.p_home

    def _steady_plan(self, entity_id: str, plan: PreheatPlan | None, now: float) -> PreheatPlan | None:
        """The preheat as shown: its start to the minute and, once due, the minute it fell due.

        A start that is due reads `now` at each refresh; holding the one shown before for the
        same step keeps the sensor, and the recorder, from following the clock.
        """
        if plan is None or plan.start is None:
            self.shown_starts_.pop(entity_id, None)
            return plan
        start = math.floor(plan.start / 60.0) * 60.0
        shown = self.shown_starts_.get(entity_id)
        if start <= now and shown is not None and shown[0] == plan.target_time:
            start = min(shown[1], start)
        self.shown_starts_[entity_id] = (plan.target_time, start)
        return replace(plan, start=start)

    def predict(
        self,
        entity_id: str,
        now: float,
        hours: int = 24,
        *,
        indoor: float | None = None,
        outdoor: float | None = None,
        home_now: float | None = None,
        current_setpoint: float | None = None,
    ) -> ClimatePrediction:
        """Setpoint now and hourly for `hours`, and the next preheat (or precool) start.

        Live readings default to those taken at fit/refresh; pass them to override.
        """
        zone = self.zones_[entity_id]
        if home_now is None and self.presence_ is not None:
            home_now = self.presence_.home_now
        indoor = zone.indoor if indoor is None else indoor
        outdoor = zone.outdoor if outdoor is None else outdoor
        current_setpoint = zone.setpoint if current_setpoint is None else current_setpoint
        # Now, then the slot boundaries ahead: a step up is aimed at the wall-clock time it
        # comes, not at a time that moves with each refresh.
        slot_starts = math.floor(now / SLOT_SECONDS) * SLOT_SECONDS + SLOT_SECONDS * np.arange(
            1, hours * 60 // SLOT_MINUTES + 1, dtype=np.float64
        )
        times = np.concatenate(([now], slot_starts))
        sp, p = self.forecast_setpoints(entity_id, times, now, home_now, current_setpoint)
        first_hour = math.floor(now / 3600.0) * 3600.0 + 3600.0
        hourly = first_hour + 3600.0 * np.arange(hours, dtype=np.float64)
        sp_hourly, _ = self.forecast_setpoints(entity_id, hourly, now, home_now, current_setpoint)
        forecast = [(float(t), round(float(v), 2)) for t, v in zip(hourly, sp_hourly, strict=True)]
        setpoint_now = round(float(sp[0]), 2)
        p_now = None if p is None else float(p[0])
        mode = zone.routine.mode_of(setpoint_now, p_now) if zone.routine else None
        thermal = zone.thermal
        plan = None
        untrusted = THERMAL_NO_FIT if thermal is None else None if thermal.trusted else THERMAL_WEAK_FIT
        r2 = None if thermal is None or not math.isfinite(thermal.r2) else round(thermal.r2, 3)
        if thermal is not None and not thermal.trusted:
            thermal = None  # not to be acted on: no preheat, no rates shown (see ThermalFit.trusted)
        if indoor is not None:
            cooling = zone.hvac_mode == HVAC_MODE_COOL
            plan = plan_preheat(
                zone.heat_up, thermal, times, sp, p, now, indoor, outdoor, current_setpoint, cooling=cooling
            )
        plan = self._steady_plan(entity_id, plan, now)
        rate = thermal.heating_rate if thermal else None
        return ClimatePrediction(
            entity_id=entity_id,
            now=now,
            setpoint_now=setpoint_now,
            mode=mode,
            forecast=forecast,
            preheat_start=None if plan is None else plan.start,
            preheat_target_time=None if plan is None else plan.target_time,
            preheat_target_setpoint=None if plan is None else plan.target_setpoint,
            heating_rate=None if rate is None else round(rate, 4),
            cooling_rate=None if thermal is None or thermal.cooling_rate is None else round(thermal.cooling_rate, 4),
            tau_hours=None if thermal is None else round(thermal.tau_hours, 3),
            confidence=None if thermal is None else round(thermal.confidence, 3),
            occupied_probability=p_now,
            thermal_untrusted=untrusted,
            thermal_r2=r2,
            preheat_method=None if zone.heat_up is None else zone.heat_up.method,
            preheat_raises=0 if zone.heat_up is None else len(zone.heat_up.history),
        )
