"""What the engine gives back: typed, immutable results of the home's models.

These are the only types that cross from `engine/` to the Home Assistant layer. They hold
facts (epoch seconds, probabilities, kWh, °C, entity ids); formatting them (ISO times,
rounding, words) is the Home Assistant layer's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import hashlib
import math
from typing import Any, Final, TypedDict

from .constants import HOME, KIND_SECURITY
from .facts import FACTS_FROM_JSON, AnomalyFacts, UntypedFacts, facts_from_json

# The band of an expected arrival or departure: from the 10th to the 90th percentile.
BAND_QUANTILES: Final = (0.1, 0.5, 0.9)
# The strongest contributions a prediction names.
MAX_CONTRIBUTIONS: Final = 3


@dataclass(frozen=True, slots=True)
class Band:
    """An expected time with a confidence band (epoch seconds)."""

    ts: float
    low: float
    high: float
    confidence: float = BAND_QUANTILES[2] - BAND_QUANTILES[0]


# Why a model is not ready, or what it wants the user to know: the keys of their texts
# under "exceptions" in the integration's translations (the Home Assistant layer words them).
REASON_HOME_HISTORY: Final = "reason_home_history"
REASON_FIT_FAILED: Final = "reason_fit_failed"
REASON_OCCUPANCY_NO_HISTORY: Final = "reason_occupancy_no_history"
REASON_OCCUPANCY_DAYS: Final = "reason_occupancy_days"
REASON_OCCUPANCY_NOT_VARIED: Final = "reason_occupancy_not_varied"
REASON_ENERGY_NO_SENSOR: Final = "reason_energy_no_sensor"
REASON_ENERGY_DAYS: Final = "reason_energy_days"
REASON_ENERGY_DEVICES_DAYS: Final = "reason_energy_devices_days"
REASON_CLIMATE_NO_SETPOINTS: Final = "reason_climate_no_setpoints"
REASON_CLIMATE_DAYS: Final = "reason_climate_days"
REASON_CLIMATE_OTHER_MODE: Final = "reason_climate_other_mode"
REASON_SECURITY_NO_SOURCES: Final = "reason_security_no_sources"
REASON_SECURITY_CALIBRATION: Final = "reason_security_calibration"
REASON_ROUTINE_NO_SENSORS: Final = "reason_routine_no_sensors"
REASON_LEARNING_DAYS: Final = "reason_learning_days"
REASON_KEYS: Final = (
    REASON_HOME_HISTORY,
    REASON_FIT_FAILED,
    REASON_OCCUPANCY_NO_HISTORY,
    REASON_OCCUPANCY_DAYS,
    REASON_OCCUPANCY_NOT_VARIED,
    REASON_ENERGY_NO_SENSOR,
    REASON_ENERGY_DAYS,
    REASON_ENERGY_DEVICES_DAYS,
    REASON_CLIMATE_NO_SETPOINTS,
    REASON_CLIMATE_DAYS,
    REASON_CLIMATE_OTHER_MODE,
    REASON_SECURITY_NO_SOURCES,
    REASON_SECURITY_CALIBRATION,
    REASON_ROUTINE_NO_SENSORS,
    REASON_LEARNING_DAYS,
)
# The placeholder that holds an entity id, which the caller names.
REASON_ENTITY: Final = "entity"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a model is not ready (or a ready model's note): a translation key and its placeholders.

    Numbers come formatted as the texts show them ("1.2"); an entity id is under
    `REASON_ENTITY`, for the caller to name.
    """

    key: str
    placeholders: Mapping[str, str] = field(default_factory=dict)


def days_had(days: float) -> str:
    """Days of history as a reason shows them: one decimal, rounded down.

    Rounded to nearest, 2.96 of the 3 days needed would read "has 3.0" for hours.
    """
    return f"{math.floor(days * 10) / 10:.1f}"


# What a contribution to an occupancy prediction is about.
CONTRIBUTION_ROUTINE: Final = "routine"  # how often the scope is in use at this time
CONTRIBUTION_ACTIVITY: Final = "activity"  # the scope's own sensors: in use now, or since when not
CONTRIBUTION_ELSEWHERE: Final = "elsewhere"  # activity in another area in the last hour
CONTRIBUTION_AWAY: Final = "away"  # nobody is home


@dataclass(frozen=True, slots=True)
class Contribution:
    """One thing that weighs in an occupancy prediction, and how much.

    weight: the log-odds it adds to the prediction (positive: towards occupied), against
    what the scope's usual moment would add. The facts say it in numbers:
    routine: `share` of the same slot occupied over the last `weeks` weeks of the same kind
    of day (`weekend` or not); activity: whether the scope's sensors are `active` now, and
    when they were `last_active` (epoch seconds; None when they never were on).
    """

    kind: str
    weight: float
    share: float | None = None
    weeks: int | None = None
    weekend: bool | None = None
    active: bool | None = None
    last_active: float | None = None


@dataclass(frozen=True, slots=True)
class ScopeForecast:
    """Occupancy outlook of one area or the home."""

    probability: float
    forecast: list[tuple[float, float]]
    next_occupied: float | None
    skill: float | None = None
    scored_slots: int = 0
    # P(occupied now) read from the area's environmental sensors, when it has any.
    virtual_probability: float | None = None
    # The chance of use within the forecast (next_occupied is None when below one half).
    chance_within_forecast: float = 0.0
    # What weighs most in `probability`, strongest first (at most MAX_CONTRIBUTIONS).
    contributions: tuple[Contribution, ...] = ()
    # (slot start, P(occupied)) of every slot of the forecast: what preheat aims at. The
    # hourly `forecast` groups them from the current slot on, not on the clock's hours.
    slots: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class OccupancyForecast:
    """Occupancy outlook of every area and of the home.

    Per scope: probability that the next slot is occupied, an hourly forecast (mean
    probability over the hour's slots) and the start of the slot by which the scope has
    been used with chance one half.
    For the home, the expected next arrival when empty or departure when occupied.
    """

    generated_at: float
    slot_minutes: int
    areas: dict[str, ScopeForecast] = field(default_factory=dict)
    home: ScopeForecast | None = None
    home_occupied: bool | None = None
    expected_arrival: Band | None = None
    expected_departure: Band | None = None


@dataclass(frozen=True, slots=True)
class EnergyForecast:
    """Hourly consumption quantiles (kWh) and the totals the entities show."""

    ts: list[float]
    p10: list[float]
    p50: list[float]
    p90: list[float]
    current_hour: float  # the clock hour in progress (P50)
    next_hour: float  # the 60 minutes after the current clock hour (P50)
    next_hour_p10: float
    next_hour_p90: float
    rest_of_today: float  # from now to local midnight (P50)
    used_today: float  # measured since local midnight
    today: float  # used_today + rest_of_today
    tomorrow: float  # the next local day (P50)


THERMAL_NO_FIT: Final = "thermal_no_fit"
THERMAL_WEAK_FIT: Final = "thermal_weak_fit"


@dataclass(frozen=True, slots=True)
class ClimatePrediction:
    """What SmartML predicts for one thermostat at `now`."""

    entity_id: str
    now: float
    setpoint_now: float
    mode: str | None
    forecast: list[tuple[float, float]]
    preheat_start: float | None
    preheat_target_time: float | None
    preheat_target_setpoint: float | None
    heating_rate: float | None
    cooling_rate: float | None
    tau_hours: float | None
    confidence: float | None
    occupied_probability: float | None
    # Why no thermal figures are given (None: the fit is trusted): THERMAL_NO_FIT or THERMAL_WEAK_FIT,
    # and the share of the temperature changes the fit explains (R², for the words around it).
    thermal_untrusted: str | None = None
    thermal_r2: float | None = None
    # How preheat times the heat-up (engine/heat_up: "approach", "median_rate" or "thermal"),
    # and from how many past raises the room reached; None: nothing to time it with yet.
    preheat_method: str | None = None
    preheat_raises: int = 0


def anomaly_id(kind: str, type_: str, key: str, ts: float) -> str:
    """A stable id of one situation: the same source and moment give the same id."""
    return hashlib.blake2s(f"{kind}|{type_}|{key}|{ts:.0f}".encode(), digest_size=6).hexdigest()


class AnomalyJson(TypedDict):
    """An anomaly's JSON form: the bus event's data and a stored feedback entry."""

    id: str
    kind: str
    type: str
    entity_ids: list[str]
    ts: float
    score: float
    explanation: str
    facts: dict[str, object]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One unusual situation: what, where, when, how surprising, and why (typed facts).

    Words are rendered from the facts at the edge (`explain.py`). `explanation` holds the
    text of anomaly types whose facts have no class yet (their facts are then a mapping).
    """

    id: str
    kind: str
    type: str
    entity_ids: list[str]
    ts: float
    score: float
    facts: AnomalyFacts | UntypedFacts
    explanation: str = ""

    def as_json(self) -> AnomalyJson:
        """Plain JSON form, as it has always been written (the bus event's data, the store)."""
        facts = self.facts
        return {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "entity_ids": list(self.entity_ids),
            "ts": self.ts,
            "score": self.score,
            "explanation": self.explanation,
            "facts": dict(facts) if isinstance(facts, Mapping) else facts.as_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Anomaly:
        """Rebuild from as_json output, or from an anomaly dict an earlier release stored."""
        type_ = str(data["type"])
        raw_facts: Mapping[str, object] = data.get("facts") or {}
        facts: AnomalyFacts | UntypedFacts = (
            facts_from_json(type_, raw_facts) if type_ in FACTS_FROM_JSON else dict(raw_facts)
        )
        return cls(
            id=str(data["id"]),
            kind=str(data.get("kind", KIND_SECURITY)),
            type=type_,
            entity_ids=[str(e) for e in data.get("entity_ids", [])],
            ts=float(data.get("ts", 0.0)),
            score=float(data.get("score", 0.0)),
            facts=facts,
            explanation=str(data.get("explanation", "")),
        )


@dataclass(frozen=True, slots=True)
class EnergyOutlook:
    """The energy model's answer at one time: the forecast and the learned power levels."""

    forecast: EnergyForecast
    baseline_w: float  # usual draw at this hour (and occupancy)
    standby_w: float  # what the home draws when nothing runs
    skill: float | None  # live accuracy against the naive forecast, None until scored
    scored_hours: int


@dataclass(frozen=True, slots=True)
class HomePrediction:
    """Everything the home's models say at one time; a part is None (or empty) until its model is ready."""

    now: float
    occupancy: OccupancyForecast | None = None
    energy: EnergyOutlook | None = None
    climate: Mapping[str, ClimatePrediction] = field(default_factory=dict)
    anomalies: tuple[Anomaly, ...] = ()
    # Whether anyone is home: by the presence entities when they know, else by the occupancy model.
    home_occupied: bool | None = None
    # Watched devices running far longer than they ever have (with or without a house forecast).
    left_on: tuple[str, ...] = ()

    def scope(self, scope: str) -> ScopeForecast | None:
        """The occupancy outlook of one area, or of the whole home (scope HOME)."""
        if self.occupancy is None:
            return None
        return self.occupancy.home if scope == HOME else self.occupancy.areas.get(scope)
