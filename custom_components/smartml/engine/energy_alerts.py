"""Energy alerts: one anomaly per episode, and the periods already reported.

A detector that finds an anomaly fires once; it fires again only after it has been measured
quiet for REARM_SECONDS without a break (hours without readings break it) (re-arming), so a heater left on all night
is one alert, not thirty, and one switched off for an hour and on again is still the same.
Every reported period is remembered for a while (`flagged`): the detectors' calibration
leaves those periods out, so a fault that was reported does not make them blind to the
next one. An episode marked normal (`accept`) is not: its period is learned like any other,
so the same run tomorrow is within what the device does. All of it survives a restart in
the energy model's stored form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import hashlib
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS, DEVICE_LEARN_DAYS, HOUR_SECONDS, KIND_ENERGY
from .energy_series import FloatArray
from .facts import EnergyFacts
from .results import Anomaly

REARM_SECONDS: Final = 6 * HOUR_SECONDS
CALIBRATION_DAYS: Final = 28  # the past the anomaly thresholds are learned from
# Reported anomalies are remembered as long as anything learns from their days (the house
# detectors' calibration, a watched device's runs) and left out of it, so a fault that was
# reported and never answered does not make a detector blind to the next one.
FLAG_KEEP_SECONDS: Final = (max(CALIBRATION_DAYS, DEVICE_LEARN_DAYS) + 3) * DAY_SECONDS
# Shared by the house detectors and every watched device over those weeks.
MAX_FLAGGED: Final = 1000

# An alert's time may fall this long before the period it flagged (a check's slot rounding).
GRACE_SECONDS: Final = 15 * 60.0

# [anomaly type, start, end], as stored.
StoredPeriod = list[str | float]


@dataclass(slots=True)
class FlaggedPeriod:
    """A period [start, end] that one detector reported as anomalous."""

    type: str
    start: float
    end: float

    def as_list(self) -> StoredPeriod:
        """The stored form."""
        return [self.type, self.start, self.end]


def energy_anomaly(
    anomaly_type: str, entity_ids: Sequence[str], ts: float, score: float, facts: EnergyFacts, key: str = ""
) -> Anomaly:
    """An energy anomaly, in the same form as the security ones.

    The id is stable per type, time and key (a watched device: two may fire at once).
    """
    suffix = f":{key}" if key else ""
    digest = hashlib.sha256(f"{KIND_ENERGY}:{anomaly_type}:{ts:.0f}{suffix}".encode()).hexdigest()[:12]
    return Anomaly(
        id=digest,
        kind=KIND_ENERGY,
        type=anomaly_type,
        entity_ids=list(entity_ids),
        ts=ts,
        score=round(float(score), 3),
        facts=facts,
    )


@dataclass(slots=True)
class EnergyAlerts:
    """Which detectors have fired (and when), and the periods reported as anomalous."""

    # key (anomaly type, or type and device) -> when its episode was last seen anomalous;
    # it stays closed until re-armed.
    fired: dict[str, float] = field(default_factory=dict)
    flagged: list[FlaggedPeriod] = field(default_factory=list)
    # Keys whose open episode was marked normal: the rest of it is not flagged either.
    accepted: set[str] = field(default_factory=set)
    # key -> when its open episode began.
    opened: dict[str, float] = field(default_factory=dict)
    # key -> since when it has been measured quiet without a break (not kept over a restart:
    # the quiet is counted again).
    quiet_since: dict[str, float] = field(default_factory=dict)

    def fire(self, key: str, now: float) -> bool:
        """Whether this is a new episode (then it is one until re-armed)."""
        new = key not in self.fired
        if new:
            self.opened[key] = now
        self.fired[key] = now
        self.quiet_since.pop(key, None)
        return new

    def withdraw(self, key: str) -> None:
        """Undo the opening of an episode just fired and not told (another alert tells it)."""
        for held in (self.fired, self.opened, self.quiet_since):
            held.pop(key, None)
        self.accepted.discard(key)

    def rearm(self, key: str, now: float) -> None:
        """The detector is measured quiet: it may fire again once quiet for REARM_SECONDS."""
        if key not in self.fired:
            return
        if now - self.quiet_since.setdefault(key, now) >= REARM_SECONDS:
            self.withdraw(key)

    def unknown(self, key: str) -> None:
        """Nothing was measured (a meter unavailable): the quiet counted so far is broken."""
        self.quiet_since.pop(key, None)

    def accept(self, key: str, ts: float) -> None:
        """The episode alerted at `ts` was normal: learn from its period, and from the rest of it if still open."""
        self.flagged = [
            item for item in self.flagged if item.type != key or not item.start - GRACE_SECONDS <= ts <= item.end
        ]
        # Only the episode that alert belongs to: yesterday's answer does not cover today's run.
        if key in self.fired and self.opened.get(key, ts) <= ts + GRACE_SECONDS:
            self.accepted.add(key)

    def flag(self, anomaly_type: str, start: float, now: float) -> None:
        """Remember that [start, now] looked anomalous (extends the period still open)."""
        if anomaly_type in self.accepted:
            return
        for item in reversed(self.flagged):
            if item.type == anomaly_type:
                if item.end >= start:
                    item.start, item.end = min(item.start, start), max(item.end, now)
                    return
                break
        self.flagged.append(FlaggedPeriod(anomaly_type, start, now))
        oldest = now - FLAG_KEEP_SECONDS
        self.flagged = [f for f in self.flagged if f.end >= oldest][-MAX_FLAGGED:]

    def flagged_mask(self, starts: FloatArray, anomaly_type: str, after: float = 0.0) -> NDArray[np.bool_]:
        """Grid slots inside the reported periods of one anomaly type (extended by `after`)."""
        mask = np.zeros(len(starts), dtype=bool)
        for item in self.flagged:
            if item.type == anomaly_type:
                mask |= (starts >= item.start) & (starts < item.end + after)
        return mask

    def stored_fired(self) -> dict[str, float]:
        """The stored form of `fired`."""
        return dict(self.fired)

    def stored_opened(self) -> dict[str, float]:
        """The stored form of `opened`."""
        return dict(self.opened)

    def stored_accepted(self) -> list[str]:
        """The stored form of `accepted`."""
        return sorted(self.accepted)

    @staticmethod
    def read_accepted(data: object, fired: Mapping[str, float]) -> set[str]:
        """`accepted` from its stored form: only keys of open episodes."""
        return {str(key) for key in data if str(key) in fired} if isinstance(data, list) else set()

    def stored_flagged(self) -> list[StoredPeriod]:
        """The stored form of `flagged`."""
        return [item.as_list() for item in self.flagged]

    @staticmethod
    def read_fired(data: object) -> dict[str, float]:
        """`fired` from its stored form; malformed data raises TypeError, ValueError or AttributeError."""
        if not data:
            return {}
        if not isinstance(data, Mapping):
            raise AttributeError("alerts must be a mapping")
        return {str(k): float(v) for k, v in data.items()}

    @staticmethod
    def read_flagged(data: object) -> list[FlaggedPeriod]:
        """`flagged` from its stored form; malformed periods are dropped."""
        out: list[FlaggedPeriod] = []
        for item in data if isinstance(data, list) else []:
            try:
                out.append(FlaggedPeriod(str(item[0]), float(item[1]), float(item[2])))
            except (TypeError, ValueError, IndexError, KeyError):
                continue
        return out
