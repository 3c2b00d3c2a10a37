"""Persistence of what SmartML learned: versioned JSON through helpers.storage.Store.

Three files per entry, so that what a person did is on disk at once and the long history is
not rewritten every few minutes:
- `smartml.<entry id>`: the learning switch, user feedback, settings and what the models
  learn live (reported periods, detector states); small. Written at once
  after anything a person does, and otherwise at most SAVE_INTERVAL after any change
  (a throttle: a steady stream of changes does not postpone it, as a debounce would).
- `smartml.<entry id>.choices`: a copy of what the household chose (the learning switch,
  feedback, settings, excluded periods), written with the main file whenever a person does
  something and at unload, so that a broken main file does not undo those choices.
- `smartml.<entry id>.observations`: the observations, per channel two base64 strings of
  float64 arrays (times and values; version 1.1 number lists still load), with the
  entities already merged from the recorder and the time they were saved up to; and the
  models' live accuracy scores (a row per area and slot over a week). Written at
  most every OBSERVATIONS_SAVE_INTERVAL (12 hours); after an unclean stop the recorder fills the gap
  from that time on (see history.async_fill_gap).

Writes are atomic (a new file renamed over the old), serialised off the event loop, and
flushed at shutdown. Fitted models are not saved; they are re-fitted at startup. A file
that cannot be used is moved aside and a repair issue is raised; setup then starts from
the recorder history instead of failing. Files of earlier releases (one file with the
observations inside) load, and are split at the next save.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
import os
import time
from typing import Any, NotRequired, TypedDict

from homeassistant.const import UnitOfTemperature
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    ISSUE_STORE_CORRUPT,
    ISSUE_STORE_CORRUPT_CHOICES_LOST,
    ISSUE_STORE_CORRUPT_MAIN,
    LOGGER,
    OBSERVATIONS_SAVE_INTERVAL,
    SAVE_INTERVAL,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from .engine.constants import JsonObject
from .engine.exclusions import OWN_REASONS, SOURCE_CALENDAR, ExcludedPeriod
from .engine.live_score import LIVE_SCORE
from .engine.observations import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_SETPOINT,
    CHANNEL_SEP,
    ObservationStore,
)
from .engine.pacing import paced
from .engine.results import Anomaly, AnomalyJson
from .home_spec import renamed

OBSERVATIONS_KEY_SUFFIX = "observations"
CHOICES_KEY_SUFFIX = "choices"
# What data of the wrong shape raises, in core's Store (no version or data, a list, null) or in from_dict.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


class StoredChoices(TypedDict):
    """What the household chose: the choices file's data, and part of the main file's."""

    learning: bool
    feedback: list[AnomalyJson]
    settings: dict[str, Any]
    excluded: list[JsonObject]  # since 1.4
    calendar_excluded: NotRequired[list[JsonObject]]  # the days a calendar told at its last read
    saved_at: float


class StoredState(StoredChoices):
    """The main file's data (version STORAGE_VERSION.STORAGE_MINOR_VERSION).

    Files of version 1.2 and before held `observations` and `bootstrapped` too.
    """

    models: dict[str, JsonObject]
    anomalies: list[JsonObject]  # since 1.5


class StoredObservations(TypedDict):
    """The observations file's data."""

    observations: JsonObject
    bootstrapped: dict[str, float]
    saved_at: float  # the observations hold everything seen up to this time
    # The models' live accuracy scores (since 1.5 here; the main file held them before).
    scores: NotRequired[dict[str, JsonObject]]


@dataclass(slots=True)
class LearnedState:
    """Everything of an entry that survives a restart."""

    observations: ObservationStore = field(default_factory=ObservationStore)
    learning: bool = True
    # entity_id -> epoch seconds up to which recorder history has been merged.
    bootstrapped: dict[str, float] = field(default_factory=dict)
    feedback: list[AnomalyJson] = field(default_factory=list)
    # Per model, what it learned live (detector states, reported periods), as it wrote it.
    models: dict[str, JsonObject] = field(default_factory=dict)
    # Per model, its live accuracy score (its state's LIVE_SCORE), a row per area and slot
    # over a week. Saved with the observations, not every few minutes with the main file: a
    # lost half day of a week's score is harmless, megabytes rewritten every ten minutes wear
    # out a home's SD card.
    scores: dict[str, JsonObject] = field(default_factory=dict)
    # User choices made on entities (thermostats on auto-apply, when each was last set by hand).
    settings: dict[str, Any] = field(default_factory=dict)
    # Periods the household said not to learn from (smartml.exclude_period, forget_data).
    excluded: list[ExcludedPeriod] = field(default_factory=list)
    # What was told (anomalies and incidents), so that it outlives a restart.
    anomalies: list[JsonObject] = field(default_factory=list)
    # Those a calendar says, read again at each fit; the last read is kept for a calendar not up yet.
    calendar_excluded: list[ExcludedPeriod] = field(default_factory=list)
    # Up to when the loaded observations were saved (None: nothing was loaded).
    observed_until: float | None = None

    def choices_dict(self) -> StoredChoices:
        """The choices file's JSON-ready form."""
        return {
            "learning": self.learning,
            "feedback": list(self.feedback),
            "settings": dict(self.settings),
            "excluded": [period.as_json() for period in self.excluded],
            "calendar_excluded": [period.as_json() for period in self.calendar_excluded],
            "saved_at": time.time(),
        }

    def state_dict(self) -> StoredState:
        """The main file's JSON-ready form."""
        return StoredState(**self.choices_dict(), models=dict(self.models), anomalies=list(self.anomalies))

    def observations_dict(self) -> StoredObservations:
        """The observations file's JSON-ready form (thread-safe against concurrent appends).

        Built in the executor, paced so that the event loop is not kept waiting.
        """
        saved_at = time.time()
        with paced():
            observations = self.observations.as_dict()
        return {
            "observations": observations,
            "bootstrapped": dict(self.bootstrapped),
            "saved_at": saved_at,
            "scores": dict(self.scores),
        }

    def forget(self) -> None:
        """Forget everything learned (smartml.reset); the learning switch and settings stay."""
        observations = self.observations
        observations.channels.clear()
        observations.roles.clear()
        observations.skipped.clear()
        self.bootstrapped.clear()
        self.feedback.clear()
        self.models.clear()
        self.scores.clear()
        self.observed_until = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], observations: Mapping[str, Any] | None = None) -> LearnedState:
        """Rebuild from the main file's data and the observations file's, if any.

        Raises KeyError/TypeError/ValueError on malformed data. A main file of an earlier
        release carries the observations itself.
        """
        if not isinstance(data, dict) or (observations is not None and not isinstance(observations, dict)):
            raise TypeError("stored data is not an object")
        feedback = data.get("feedback", [])
        models = data.get("models", {})
        settings = data.get("settings", {})
        if not isinstance(feedback, list) or not isinstance(models, dict) or not isinstance(settings, dict):
            raise TypeError("feedback or models malformed")
        excluded = [ExcludedPeriod.from_json(item) for item in data.get("excluded", [])]
        told = data.get("calendar_excluded") or []
        calendar_excluded = [replace(ExcludedPeriod.from_json(item), source=SOURCE_CALENDAR) for item in told]
        # What was told only shows on sensors: unreadable, it is dropped, not the whole file.
        anomalies = data.get("anomalies", [])
        if not isinstance(anomalies, list):
            anomalies = []
        held = observations if observations is not None else data
        stored = held.get("observations")
        saved_at = held.get("saved_at")
        scores = held.get("scores")
        if not isinstance(scores, dict):
            scores = {}
        # An earlier release kept the scores with the rest of the models' live states.
        models = {name: _without_score(state, scores, name) for name, state in models.items()}
        return cls(
            observations=ObservationStore() if stored is None else ObservationStore.from_dict(stored),
            learning=bool(data.get("learning", True)),
            bootstrapped={str(k): float(v) for k, v in held.get("bootstrapped", {}).items()},
            feedback=[item for item in feedback if _readable_anomaly(item)],
            models=models,
            scores=scores,
            settings=settings,
            excluded=excluded,
            anomalies=anomalies,
            calendar_excluded=calendar_excluded,
            observed_until=float(saved_at) if saved_at is not None else None,
        )

    def keep_live(self, states: Mapping[str, JsonObject]) -> None:
        """Keep what the models learned live: each one's accuracy score apart from the rest."""
        for name, state in states.items():
            self.models[name] = _without_score(state, self.scores, name)

    def live_states(self) -> dict[str, JsonObject]:
        """What the models learned live, scores and the rest together, as a fit restores it."""
        names = {*self.models, *self.scores}
        return {name: {**self.models.get(name, {}), **self.scores.get(name, {})} for name in names}

    def rename_entity(self, old: str, new: str) -> None:
        """Follow an entity id change in every part: what was learned, said and chosen about it.

        Each part is replaced, not changed in place: a save may be reading it.
        """
        self.observations.rename_entity(old, new)
        if old in self.bootstrapped:
            self.bootstrapped[new] = self.bootstrapped.pop(old)
        # The same dicts stay (the thermostats' control holds the settings).
        for part in (self.settings, self.models, self.scores):
            for key, value in list(part.items()):
                part[key] = renamed(value, old, new)
        self.feedback = renamed(self.feedback, old, new)
        self.anomalies = renamed(self.anomalies, old, new)
        self.excluded = [period.renamed(old, new) for period in self.excluded]
        self.update_excluded()

    def __post_init__(self) -> None:
        """The observations carry the excluded periods to every fit."""
        self.update_excluded()

    def update_excluded(self) -> None:
        """Hand the current excluded periods (own and calendar's) to the observations."""
        self.observations.excluded = (*self.excluded, *self.calendar_excluded)

    def prune_excluded(self, cutoff: float) -> None:
        """Forget excluded periods that ended before cutoff (nothing that old is kept)."""
        self._keep_excluded(lambda period: period.end > cutoff)

    def remove_excluded(self, start: float, end: float) -> int:
        """Remove the household's excluded periods that overlap [start, end]; returns how many.

        Those SmartML added itself stay (forgotten readings, paused learning).
        """
        return self._keep_excluded(
            lambda period: period.reason in OWN_REASONS or period.end <= start or period.start >= end
        )

    def _keep_excluded(self, keep: Callable[[ExcludedPeriod], bool]) -> int:
        """Keep the excluded periods that pass; returns how many were dropped."""
        kept = [period for period in self.excluded if keep(period)]
        dropped = len(self.excluded) - len(kept)
        self.excluded[:] = kept
        self.update_excluded()
        return dropped


def _without_score(state: JsonObject, scores: dict[str, JsonObject], name: str) -> JsonObject:
    """A model's live state without its accuracy score, which goes into scores."""
    if not isinstance(state, dict) or LIVE_SCORE not in state:
        return state
    scores[name] = {LIVE_SCORE: state[LIVE_SCORE]}
    return {key: value for key, value in state.items() if key != LIVE_SCORE}


class _VersionedStore(Store[StoredState]):
    """Store with the migration hook for future format changes."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: StoredState
    ) -> StoredState:
        if old_major_version > STORAGE_VERSION:
            raise NotImplementedError  # a newer SmartML wrote this; Store refuses to downgrade
        if old_minor_version < CELSIUS_THERMOSTATS_MINOR and (
            self.hass.config.units.temperature_unit == UnitOfTemperature.FAHRENHEIT
        ):
            _forget_fahrenheit_thermostats(old_data)
        # Otherwise minor versions only ever add keys with defaults, which from_dict fills in.
        return old_data


# From this minor version on, thermostat temperatures are kept in °C in every home.
CELSIUS_THERMOSTATS_MINOR = 6


def _forget_fahrenheit_thermostats(data: Any) -> None:
    """Drop thermostat temperatures an earlier release kept in °F, to be read again in °C.

    They carried no unit, so they were kept as the thermostat showed them. The thermostats
    are no longer marked as read from the recorder, which gives back what it still holds.
    """
    if not isinstance(data, dict) or not isinstance(held := data.get("observations"), dict):
        return
    channels = held.get("channels")
    if not isinstance(channels, dict):
        return
    in_their_unit = (f"{CHANNEL_SEP}{ATTR_SETPOINT}", f"{CHANNEL_SEP}{ATTR_CURRENT_TEMPERATURE}")
    thermostats = {
        name.partition(CHANNEL_SEP)[0]
        for name in channels
        if name.startswith("climate.") and name.endswith(in_their_unit)
    }
    # All of a thermostat's channels go: the recorder gives its modes back with its temperatures.
    for name in [name for name in channels if name.partition(CHANNEL_SEP)[0] in thermostats]:
        del channels[name]
    bootstrapped = data.get("bootstrapped")
    if isinstance(bootstrapped, dict):
        for entity_id in thermostats:
            bootstrapped.pop(entity_id, None)


def _without_observations(data: Any) -> Any:
    """A main file's data without the observations an earlier release kept in it."""
    if not isinstance(data, dict):
        return data
    return {key: value for key, value in data.items() if key not in ("observations", "bootstrapped")}


def _readable_anomaly(item: object) -> bool:
    """Whether a stored anomaly can be read back (one broken item must not stop every fit)."""
    if not isinstance(item, dict):
        return False
    try:
        Anomaly.from_json(item)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


class _Throttled:
    """One store written at most every `interval` seconds while its data changes."""

    def __init__(self, store: _VersionedStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self.data_func: Callable[[], Any] | None = None
        # When the file was last written: the next write is due an interval after it, so
        # that restarts more frequent than the interval do not keep pushing it out.
        self.written_at = 0.0
        self._pending = False
        # From the start of the last write on: a change then (the home goes on while the
        # entry unloads) must not leave a write behind it.
        self._closing = False

    def _data(self) -> Any:
        # Called when the write starts (in the executor): a change after this schedules anew.
        self._pending = False
        self.written_at = time.time()
        assert self.data_func is not None
        return self.data_func()

    @callback
    def schedule(self) -> None:
        """Write within the interval (and at shutdown); later calls do not postpone it."""
        if self.data_func is not None and not self._pending and not self._closing:
            self._pending = True
            due = max(0.0, self.written_at + self.interval - time.time())
            self.store.async_delay_save(self._data, due)

    async def async_save_now(self) -> None:
        """Write now (a pending write is replaced by this one)."""
        if self.data_func is not None:
            data = await self.store.hass.async_add_executor_job(self._data)
            if self.data_func is not None:  # not closed meanwhile: the final write stays the last
                await self.store.async_save(data)
            if self._pending:
                # A change while the data was read scheduled a write that this one cancelled;
                # it is not in what was written: schedule it again.
                self._pending = False
                self.schedule()

    async def async_close(self) -> None:
        """Write a last time; later changes write nothing (entry unloaded or removed)."""
        self._closing = True
        await self.async_save_now()
        self.data_func = None


class SmartMLStorage:
    """Loads and saves one entry's LearnedState."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the stores of an entry (nothing is read yet)."""
        self.hass = hass
        self._main = self._store(f"{DOMAIN}.{entry_id}")
        self._choices = self._store(f"{DOMAIN}.{entry_id}.{CHOICES_KEY_SUFFIX}")
        self._observations = self._store(f"{DOMAIN}.{entry_id}.{OBSERVATIONS_KEY_SUFFIX}")
        self.loaded_legacy = False
        # The main file loaded has no copy of its choices beside it (written by an earlier release).
        self.copy_missing = False
        self._main_writes = _Throttled(self._main, SAVE_INTERVAL)
        # Written only with the main file's immediate writes (see async_save_choices).
        self._choice_writes = _Throttled(self._choices, SAVE_INTERVAL)
        self._observation_writes = _Throttled(self._observations, OBSERVATIONS_SAVE_INTERVAL)

    def _store(self, key: str) -> _VersionedStore:
        return _VersionedStore(
            self.hass,
            STORAGE_VERSION,
            key,
            minor_version=STORAGE_MINOR_VERSION,
            # A kill during a write must leave the previous file, never half of a new one.
            atomic_writes=True,
            # Serialising months of observations must not stall the event loop.
            serialize_in_event_loop=False,
        )

    @property
    def path(self) -> str:
        """Where the main file lives."""
        return str(self._main.path)

    @property
    def observations_path(self) -> str:
        """Where the observations file lives."""
        return str(self._observations.path)

    @property
    def choices_path(self) -> str:
        """Where the copy of the household's choices lives."""
        return str(self._choices.path)

    async def async_load(self) -> LearnedState | None:
        """The saved state, or None when there is none or none of it could be used.

        Each file is checked on its own: broken observations (their own file, or inside a
        file of an earlier release) cost the history (the recorder refills what it still
        holds), never the switch or the feedback; a broken main file costs what the models
        learned live and what was told, not the choices, which come from their copy.
        """
        main, main_error = await self._async_read(self._main)
        observations, observations_error = await self._async_read(self._observations)
        # A file of an earlier release holds the observations: split it at once.
        self.loaded_legacy = isinstance(main, dict) and "observations" in main and observations is None
        state: LearnedState | None = None
        if main is not None:
            state, main_error = await self._async_parse(_without_observations(main), None)
        if state is None:
            state = await self._async_load_choices()
        else:
            # An earlier release wrote no copy of the choices: it is written at once (see copy_missing).
            self.copy_missing = (await self._async_read(self._choices))[0] is None
        if main_error is not None:
            lost = ISSUE_STORE_CORRUPT_CHOICES_LOST if state is None else ISSUE_STORE_CORRUPT_MAIN
            await self._async_set_aside(self._main, main_error, lost)
        # The observations of an earlier release's file are read on their own: broken, they
        # cost the history, not the choices beside them (the file is set aside all the same).
        if self.loaded_legacy:
            held_by, held, held_error = self._main, None if main_error else main, None
        else:
            held_by, held, held_error = self._observations, observations, observations_error
        observed = None
        if held is not None:
            observed, held_error = await self._async_parse({}, held)
        if held_error is not None:
            await self._async_set_aside(held_by, held_error, ISSUE_STORE_CORRUPT)
        if observed is not None:
            state = state or LearnedState()
            state.observations = observed.observations
            state.bootstrapped = observed.bootstrapped
            state.observed_until = observed.observed_until
            # The scores are written with the observations; a main file of an earlier release held them.
            state.scores = {**state.scores, **observed.scores}
        return state

    async def _async_load_choices(self) -> LearnedState | None:
        """The household's choices from their copy (the main file is missing or broken)."""
        choices, error = await self._async_read(self._choices)
        state = None
        if choices is not None:
            state, error = await self._async_parse(choices, None)
        if error is not None:
            # Nothing to set aside for the user: the copy is written again with the next choice.
            LOGGER.warning("SmartML could not read the copy of its choices %s (%s)", self.choices_path, error)
        return state

    async def _async_parse(self, main: Any, observations: Any | None) -> tuple[LearnedState | None, str | None]:
        """The state in the data, or why it cannot be used."""
        try:
            return await self.hass.async_add_executor_job(LearnedState.from_dict, main, observations), None
        except _MALFORMED as err:
            return None, f"{type(err).__name__}: {err}"

    async def _async_read(self, store: _VersionedStore) -> tuple[Any, str | None]:
        """A file's data (None when there is none), or why it cannot be read."""
        try:
            return await store.async_load(), None
        except (HomeAssistantError, OSError, NotImplementedError, *_MALFORMED) as err:
            # Unreadable file, an unknown format version, or valid JSON that is not a store file
            # (no version or data, a list, null); core moves JSON garbage aside itself.
            return None, f"{type(err).__name__}: {err}"

    async def _async_set_aside(self, store: _VersionedStore, reason: str, translation_key: str) -> None:
        stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%S")
        path = str(store.path)
        aside = f"{path}.corrupt-{stamp}"
        try:
            await self.hass.async_add_executor_job(os.replace, path, aside)
        except OSError:
            aside = ""
        LOGGER.warning("SmartML store %s could not be used (%s); rebuilding from history", path, reason)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_STORE_CORRUPT}_{store.key}_{stamp}",  # both files may be set aside in one second
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=translation_key,
            translation_placeholders={"path": path, "moved_to": aside or "-", "error": reason[:200]},
        )

    def attach(self, state: LearnedState) -> None:
        """Tell the stores what to save."""
        self._main_writes.data_func = state.state_dict
        self._main_writes.written_at = time.time()  # just loaded: nothing new to write yet
        self._choice_writes.data_func = state.choices_dict
        self._observation_writes.data_func = state.observations_dict
        self._observation_writes.written_at = state.observed_until or time.time()

    @callback
    def schedule_save(self) -> None:
        """Something changed: both files are written within their intervals; cheap to call often."""
        self._main_writes.schedule()
        self._observation_writes.schedule()

    async def async_save_choices(self) -> None:
        """A person did something (feedback, the learning switch, a setting): write it now, and its copy."""
        await self._main_writes.async_save_now()
        await self._choice_writes.async_save_now()

    async def async_save_observations(self) -> None:
        """Write the observations file now."""
        await self._observation_writes.async_save_now()

    async def async_save_now(self) -> None:
        """Write every file now (unload, reset, an import)."""
        await self.async_save_choices()
        await self.async_save_observations()

    async def async_close(self) -> None:
        """Write every file a last time; nothing is written after (unload).

        What is still running then (a prediction finishing) can neither overwrite the files
        of the entry loaded next nor bring back those of an entry removed.
        """
        await self._main_writes.async_close()
        await self._choice_writes.async_close()
        await self._observation_writes.async_close()

    async def async_remove(self) -> None:
        """Delete the files (entry removed)."""
        await self._main.async_remove()
        await self._choices.async_remove()
        await self._observations.async_remove()
