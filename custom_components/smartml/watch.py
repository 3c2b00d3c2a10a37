"""Watched sensors: numeric sensors the user marks as security-relevant.

The collector already keeps their values as 5-minute means (the observation store's
buckets). On each coordinator refresh the means closed since the last refresh go to the
sensors' streaming detectors in the executor -- an update costs about 100 µs, so it never
runs in the state callback -- and what the detectors learned is kept with the learned
state, so a restart does not forget it. The periods excluded from learning go with them:
a period excluded after its values were learned has the sensor learn again from the
values kept. Values are kept in the normal unit of their kind (°C, W, kWh; see
observations.normal_unit), and each sensor remembers the unit it learned in: one whose unit
changes to one that cannot be converted learns afresh from its next value, and one
learned, by an earlier release, in a unit now converted learns again from its values
kept. Scores become security anomalies (`unusual_value`) through engine/sensor_watch.py,
which holds the alarm rules and the explanations.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, callback

from .const import (
    CONF_SECURITY_SENSORS,
    CONF_SENSITIVITY,
    DEFAULT_SENSITIVITY,
    MODEL_SENSOR_WATCH,
    ROLE_WATCHED_SENSOR,
)
from .engine.observations import normal_unit
from .engine.results import Anomaly

if TYPE_CHECKING:
    from .engine.sensor_watch import SavedWatch, SensorStatus, SensorWatch
    from .store import LearnedState

# A long history (first start, a detector state of an older version) is learned over
# several refreshes, so one executor job stays short.
MAX_VALUES_PER_REFRESH = 2000


class Batch(NamedTuple):
    """A sensor's values to feed, the spans excluded for it, whether it learns again first, their unit."""

    times: list[float]
    values: list[float]
    excluded: list[tuple[float, float]]
    relearn: bool
    unit: str | None  # "" for none, None when not known
    # Learning again, the values up to this time are left out (they are in another unit).
    skip_until: float = -math.inf


type Batches = dict[str, Batch]


def watched_roles(options: Mapping[str, Any], roles: Mapping[str, str]) -> dict[str, str]:
    """Roles with the watched sensors added; a sensor already learned in a role keeps it."""
    out = dict(roles)
    for entity_id in options.get(CONF_SECURITY_SENSORS) or []:
        out.setdefault(entity_id, ROLE_WATCHED_SENSOR)
    return out


class WatchedSensors:
    """Feeds the watched sensors' new values to their detectors, off the event loop."""

    def __init__(
        self,
        hass: HomeAssistant,
        state: LearnedState,
        options: Mapping[str, Any],
        name_of: Callable[[str], str],
        on_saved: Callable[[], None],
    ) -> None:
        """Watch the sensors of options.

        name_of gives an entity's friendly name; on_saved is called when the detectors'
        state in `state.models` changed (to schedule a save).
        """
        self.hass = hass
        self.state = state
        self.entity_ids: list[str] = list(dict.fromkeys(options.get(CONF_SECURITY_SENSORS) or []))
        self.sensitivity = str(options.get(CONF_SENSITIVITY, DEFAULT_SENSITIVITY))
        self._name_of = name_of
        self._on_saved = on_saved
        self.watch: SensorWatch | None = None
        self._busy = False
        # Bumped by reset, so that a job on the forgotten detectors is discarded.
        self._generation = 0
        if not self.entity_ids:
            state.models.pop(MODEL_SENSOR_WATCH, None)

    def _build(self, saved: Mapping[str, Any] | None) -> SensorWatch:
        """Executor: the detectors from their saved state (numpy is imported here)."""
        from .engine.sensor_watch import SENSITIVITY_THRESHOLDS, SensorWatch

        sensitivity = self.sensitivity if self.sensitivity in SENSITIVITY_THRESHOLDS else DEFAULT_SENSITIVITY
        watch = SensorWatch(sensitivity, self.hass.config.time_zone, saved=saved)
        watch.keep_only(self.entity_ids)
        return watch

    def _pending(self, watch: SensorWatch) -> Batches:
        """Closed 5-minute means not fed yet (event loop: a bisect and short slices).

        A sensor whose excluded periods changed over the values it learned is fed again
        from its first value kept. One whose unit changed to one its values cannot be
        converted from learns afresh from the next value.
        """
        batches: Batches = {}
        budget = MAX_VALUES_PER_REFRESH
        observations = self.state.observations
        for entity_id in self.entity_ids:
            buf = observations.channels.get(entity_id)
            if buf is None or budget <= 0:
                continue
            count = min(len(buf.times), len(buf.values))
            if not count:
                continue
            excluded = observations.excluded_spans([entity_id])
            unit, learned = self._unit_now(entity_id), self._unit_learned(watch, entity_id)
            if learned is None and unit is None:
                continue  # which unit its values are in is told by its state: wait for it
            if learned is not None and unit is not None and unit != learned:
                # Only the detector starts afresh: the entity's observations may serve other models.
                batches[entity_id] = Batch([], [], excluded, True, unit, float(buf.times[count - 1]))
                continue
            relearn = watch.must_relearn(entity_id, excluded, float(buf.times[0]))
            start = 0 if relearn else bisect_right(buf.times, watch.last_time(entity_id), 0, count)
            stop = min(count, start + budget)
            if start < stop:
                times, values = buf.times[start:stop].tolist(), buf.values[start:stop].tolist()
                batches[entity_id] = Batch(times, values, excluded, relearn, unit if unit is not None else learned)
                budget -= stop - start
        return batches

    def _shown_unit(self, entity_id: str) -> tuple[str, str | None] | None:
        """The sensor's role and the unit its state shows; None while it has no state to tell."""
        state = self.hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        return self.state.observations.roles.get(entity_id, ROLE_WATCHED_SENSOR), unit if isinstance(
            unit, str
        ) else None

    def _unit_now(self, entity_id: str) -> str | None:
        """The unit the store keeps the sensor's values in now ("" for none); None while it has no state to tell."""
        if (shown := self._shown_unit(entity_id)) is None:
            return None
        return normal_unit(*shown) or ""

    def _unit_learned(self, watch: SensorWatch, entity_id: str) -> str | None:
        """The unit of the values the sensor learned; None if it learned none.

        Learned before units were kept, they are in the unit the store kept then: a watched
        sensor's own unit, as its state tells it now; another role's normal unit.
        """
        if not math.isfinite(watch.last_time(entity_id)):
            return None
        if (unit := watch.unit(entity_id)) is not None:
            return unit
        if (shown := self._shown_unit(entity_id)) is None:
            return None
        role, raw = shown
        return (raw if role == ROLE_WATCHED_SENSOR else normal_unit(role, raw)) or ""

    @staticmethod
    def _feed(
        watch: SensorWatch, batches: Batches, names: Mapping[str, str], now: float
    ) -> tuple[list[Anomaly], SavedWatch]:
        """Executor: learn the new values; the anomalies they raise and the state to save."""
        anomalies: list[Anomaly] = []
        for entity_id, batch in batches.items():
            if batch.relearn:
                watch.relearn(entity_id, batch.skip_until, batch.excluded)
            if batch.unit is not None:
                watch.set_unit(entity_id, batch.unit)
            name, unit = names[entity_id], batch.unit or None
            anomalies.extend(watch.feed(entity_id, batch.times, batch.values, now, name, unit, batch.excluded))
        return anomalies, watch.as_dict()

    async def async_update(self, now: float) -> list[Anomaly]:
        """Learn what arrived since the last refresh; return the anomalies it raises."""
        if not self.entity_ids or self._busy:
            return []
        self._busy = True
        generation = self._generation
        try:
            if self.watch is None:
                watch = await self.hass.async_add_executor_job(self._build, self.state.models.get(MODEL_SENSOR_WATCH))
                if generation != self._generation:
                    return []
                self.watch = watch
            watch = self.watch
            batches = self._pending(watch)
            if not batches:
                return []
            names = {entity_id: self._name_of(entity_id) for entity_id in batches}
            anomalies, saved = await self.hass.async_add_executor_job(self._feed, watch, batches, names, now)
            if generation != self._generation:
                return []
            self.state.models[MODEL_SENSOR_WATCH] = saved
            self._on_saved()
            return anomalies
        finally:
            self._busy = False

    def _patch_saved(self, change: Callable[[dict[str, object]], None]) -> None:
        """Apply a change to the saved sensors at once (a copy: a save may be reading it)."""
        saved = self.state.models.get(MODEL_SENSOR_WATCH)
        saved_sensors = None if saved is None else saved.get("sensors")
        if saved is None or not isinstance(saved_sensors, Mapping):
            return
        sensors: dict[str, object] = dict(saved_sensors)
        change(sensors)
        self.state.models[MODEL_SENSOR_WATCH] = {**saved, "sensors": sensors}
        self._on_saved()

    @callback
    def add_feedback(self, anomaly: Anomaly) -> None:
        """An anomaly was normal: if it was an unusual value, raise that sensor's threshold."""
        watch = self.watch
        if watch is None or not watch.add_feedback(anomaly):
            return
        entity_id = anomaly.entity_ids[0]
        threshold = watch.threshold(entity_id)

        def raise_threshold(sensors: dict[str, object]) -> None:
            if isinstance(sensor := sensors.get(entity_id), Mapping):
                sensors[entity_id] = {**sensor, "threshold": threshold}

        self._patch_saved(raise_threshold)

    @callback
    def rename(self, old: str, new: str) -> None:
        """Follow an entity id change."""
        if self.watch is not None:
            self.watch.rename(old, new)
        self.entity_ids = [new if entity_id == old else entity_id for entity_id in self.entity_ids]

        def move(sensors: dict[str, object]) -> None:
            if old in sensors:
                sensors[new] = sensors.pop(old)

        self._patch_saved(move)

    @callback
    def reset(self) -> None:
        """Forget every detector (smartml.reset)."""
        self._generation += 1
        self.watch = None
        self.state.models.pop(MODEL_SENSOR_WATCH, None)

    def status(self) -> dict[str, SensorStatus]:
        """Per watched sensor: values learned, whether it can alarm, its threshold."""
        return self.watch.status() if self.watch is not None else {}
