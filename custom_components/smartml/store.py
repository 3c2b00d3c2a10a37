"""Persistence of what SmartML learned: versioned JSON through helpers.storage.Store.

Observations are saved per channel as two base64 strings of float64 arrays (times and
values; version 1.1 number lists still load), together with the learning
switch, the entities already bootstrapped from the recorder, user feedback and what the
models learn live (accuracy scores, reported periods, detector states). Fitted models are
not saved; they are re-fitted from these observations at startup. A file that cannot
be used is moved aside and a repair issue is raised; setup then starts from the
recorder history instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import os
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    ISSUE_STORE_CORRUPT,
    LOGGER,
    SAVE_DELAY,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
)
from .engine.constants import JsonObject
from .engine.observations import ObservationStore
from .engine.results import AnomalyJson


class StoredState(TypedDict):
    """The store file's data (version STORAGE_VERSION.STORAGE_MINOR_VERSION)."""

    observations: JsonObject
    learning: bool
    bootstrapped: dict[str, float]
    feedback: list[AnomalyJson]
    models: dict[str, JsonObject]
    settings: dict[str, list[str]]


@dataclass(slots=True)
class LearnedState:
    """Everything of an entry that survives a restart."""

    observations: ObservationStore = field(default_factory=ObservationStore)
    learning: bool = True
    # entity_id -> epoch seconds up to which recorder history has been merged.
    bootstrapped: dict[str, float] = field(default_factory=dict)
    feedback: list[AnomalyJson] = field(default_factory=list)
    # Per model, what it learned live (scores, detector states), as it wrote it.
    models: dict[str, JsonObject] = field(default_factory=dict)
    # User choices made on entities (e.g. thermostats on auto-apply).
    settings: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> StoredState:
        """JSON-ready form (thread-safe against concurrent appends, see ObservationStore)."""
        return {
            "observations": self.observations.as_dict(),
            "learning": self.learning,
            "bootstrapped": dict(self.bootstrapped),
            "feedback": list(self.feedback),
            "models": dict(self.models),
            "settings": dict(self.settings),
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnedState:
        """Rebuild; raises KeyError/TypeError/ValueError on malformed data."""
        if not isinstance(data, dict):
            raise TypeError("stored data is not an object")
        feedback = data.get("feedback", [])
        models = data.get("models", {})
        settings = data.get("settings", {})
        if not isinstance(feedback, list) or not isinstance(models, dict) or not isinstance(settings, dict):
            raise TypeError("feedback or models malformed")
        return cls(
            observations=ObservationStore.from_dict(data["observations"]),
            learning=bool(data.get("learning", True)),
            bootstrapped={str(k): float(v) for k, v in data.get("bootstrapped", {}).items()},
            feedback=feedback,
            models=models,
            settings=settings,
        )


class _VersionedStore(Store[StoredState]):
    """Store with the migration hook for future format changes."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: StoredState
    ) -> StoredState:
        if old_major_version > STORAGE_VERSION:
            raise NotImplementedError  # a newer SmartML wrote this; Store refuses to downgrade
        # Minor versions only ever add keys with defaults, which from_dict fills in.
        return old_data


class SmartMLStorage:
    """Loads and saves one entry's LearnedState."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of an entry (nothing is read yet)."""
        self.hass = hass
        self._store = _VersionedStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
            # Serialising months of observations must not stall the event loop.
            serialize_in_event_loop=False,
        )
        self._data_func: Callable[[], StoredState] | None = None

    @property
    def path(self) -> str:
        """Where the file lives."""
        return str(self._store.path)

    async def async_load(self) -> LearnedState | None:
        """The saved state, or None when there is none or it could not be used."""
        try:
            raw = await self._store.async_load()
        except (HomeAssistantError, OSError, NotImplementedError, ValueError) as err:
            # Unreadable file or an unknown format version; core moves JSON garbage aside itself.
            await self._async_set_aside(str(err))
            return None
        if raw is None:
            return None
        try:
            return await self.hass.async_add_executor_job(LearnedState.from_dict, raw)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            await self._async_set_aside(f"{type(err).__name__}: {err}")
            return None

    async def _async_set_aside(self, reason: str) -> None:
        stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%S")
        aside = f"{self.path}.corrupt-{stamp}"
        try:
            await self.hass.async_add_executor_job(os.replace, self.path, aside)
        except OSError:
            aside = ""
        LOGGER.warning("SmartML store %s could not be used (%s); rebuilding from history", self.path, reason)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_STORE_CORRUPT}_{stamp}",
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_STORE_CORRUPT,
            translation_placeholders={"path": self.path, "moved_to": aside or "-", "error": reason[:200]},
        )

    def attach(self, data_func: Callable[[], StoredState]) -> None:
        """Tell the store how to produce the data to save."""
        self._data_func = data_func

    def schedule_save(self) -> None:
        """Save within SAVE_DELAY seconds (and at shutdown); cheap to call often."""
        if self._data_func is not None:
            self._store.async_delay_save(self._data_func, SAVE_DELAY)

    async def async_save_now(self) -> None:
        """Save immediately (unload, reset)."""
        if self._data_func is not None:
            await self._store.async_save(await self.hass.async_add_executor_job(self._data_func))

    async def async_remove(self) -> None:
        """Delete the file (entry removed)."""
        await self._store.async_remove()
