"""Live skill: each forecast a model makes in the home, scored against a reference forecast.

A model records the first forecast it makes for a period (a slot, an hour) beside a
reference forecast for the same period (a time-of-week frequency, the same hour last
week), fills in what happened once it is observed, and reports its skill over the last
window: 1 - error(model) / error(reference), positive when the model beats the reference.

One `LiveScore` keeps any number of scopes (the occupancy model keeps one per area and
one for the home); a model of one series uses one scope, by default `SERIES`:

    score = LiveScore(error="absolute")               # MAE skill (energy)
    score.record(SERIES, hour_start, p50, last_week)  # first forecast of the hour
    score.resolve(SERIES, hour_starts, kwh)           # outcomes, once measured
    score.prune(now)                                  # forget what left the window
    score.forget(spans, HOUR)                         # and what was excluded afterwards
    skill, scored = score.skill(SERIES)               # None until MIN_SCORED are scored

    score = LiveScore()                               # Brier skill (occupancy)
    score.record("kitchen", slot_start, p, p_time_of_week)
    score.resolve("kitchen", slot_starts, occupied)   # booleans count as 1.0 / 0.0

Persistence reads both stored forms: `as_dict` writes {"window_days", "entries": {scope:
rows}}; `series_dict` writes one scope as {"window_days", "rows": rows}, the form a
single-series model stores; `from_dict` reads either (rows of the series form are filed
under `series_scope`). A row is [start, forecast, reference, outcome or null].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import math
from typing import Final, Literal, TypedDict

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .slots import counted

# The scope of a model that scores one series.
SERIES: Final = "series"
# The key of a model's stored live state that holds its score (occupancy, energy).
LIVE_SCORE: Final = "live"
DEFAULT_WINDOW_DAYS: Final = 7.0
# Fewer scored periods than this and the skill is too noisy to show.
MIN_SCORED: Final = 24
# Forecasts and outcomes are stored to this many decimals (the persisted file stays small).
DECIMALS: Final = 5

# "squared": Brier skill of probabilities; "absolute": MAE skill of amounts.
ScoreError = Literal["squared", "absolute"]

# [start, forecast, reference, outcome or None], as stored.
StoredRow = list[float | None]


class LiveScoreDict(TypedDict):
    """Stored form of every scope."""

    window_days: float
    entries: dict[str, list[StoredRow]]


class SeriesScoreDict(TypedDict):
    """Stored form of a single series."""

    window_days: float
    rows: list[StoredRow]


@dataclass(slots=True)
class LiveRow:
    """One forecast period: its start, the model's and the reference's forecast, the outcome."""

    start: float
    forecast: float
    reference: float
    outcome: float | None = None

    def as_list(self) -> StoredRow:
        """The stored form."""
        return [self.start, self.forecast, self.reference, self.outcome]


def _number(value: object) -> float:
    """A stored number; anything else raises TypeError or ValueError (the caller resets)."""
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError(f"not a number: {value!r}")


def _stored_rows(rows: object) -> list[LiveRow]:
    """Rows of a stored list; rows of the wrong shape are dropped."""
    if not isinstance(rows, Iterable):
        raise TypeError("rows must be a list")
    out: list[LiveRow] = []
    for row in rows:
        if isinstance(row, list) and len(row) == 4:
            outcome = None if row[3] is None else _number(row[3])
            out.append(LiveRow(_number(row[0]), _number(row[1]), _number(row[2]), outcome))
    return out


@dataclass(slots=True)
class LiveScore:
    """Live forecasts per scope against what happened, and their skill over the last window.

    `error` picks the skill: "squared" (Brier skill, for probabilities) or "absolute" (MAE
    skill, for amounts). When the reference was never wrong, a perfect Brier score has
    skill 0 (nothing to beat, nothing lost) while the MAE skill stays undefined.
    """

    error: ScoreError = "squared"
    window_days: float = DEFAULT_WINDOW_DAYS
    # scope -> rows, oldest first.
    entries: dict[str, list[LiveRow]] = field(default_factory=dict)

    def record(self, scope: str, start: float, forecast: float, reference: float) -> None:
        """Keep the first forecast made for a period; a forecast that is not a number is skipped."""
        if not math.isfinite(forecast) or not math.isfinite(reference):
            return
        rows = self.entries.setdefault(scope, [])
        if rows and rows[-1].start >= start:
            return
        rows.append(LiveRow(start, round(forecast, DECIMALS), round(reference, DECIMALS)))

    def resolve(
        self, scope: str, starts: NDArray[np.float64], outcomes: NDArray[np.float64] | NDArray[np.bool_]
    ) -> None:
        """Fill in the outcomes of recorded periods now observed (NaN: not observed yet)."""
        rows = self.entries.get(scope)
        if not rows or not len(starts):
            return
        lookup = {
            float(s): float(v) for s, v in zip(starts.tolist(), outcomes.tolist(), strict=True) if math.isfinite(v)
        }
        for row in rows:
            if row.outcome is None and row.start in lookup:
                row.outcome = round(lookup[row.start], DECIMALS)

    def prune(self, now: float) -> None:
        """Forget periods older than the window."""
        oldest = now - self.window_days * DAY_SECONDS
        for scope, rows in self.entries.items():
            self.entries[scope] = [row for row in rows if row.start >= oldest]

    def forget(self, spans: Sequence[tuple[float, float]], period: float) -> None:
        """Forget periods (of `period` seconds) excluded, by their middle as the models count them.

        A period excluded after it was scored leaves the skill as it leaves learning.
        """
        if not spans:
            return
        for scope, rows in self.entries.items():
            middles = np.array([row.start for row in rows], dtype=np.float64) + period / 2
            self.entries[scope] = [
                row for row, kept in zip(rows, counted(middles, spans).tolist(), strict=True) if kept
            ]

    def skill(self, scope: str) -> tuple[float | None, int]:
        """(skill, scored periods) of a scope; the skill is None until MIN_SCORED are scored."""
        scored = [row for row in self.entries.get(scope, []) if row.outcome is not None]
        if len(scored) < MIN_SCORED:
            return None, len(scored)
        data = np.array([(row.forecast, row.reference, row.outcome) for row in scored], dtype=np.float64)
        if self.error == "squared":
            model = float(np.mean((data[:, 0] - data[:, 2]) ** 2))
            reference = float(np.mean((data[:, 1] - data[:, 2]) ** 2))
        else:
            model = float(np.mean(np.abs(data[:, 0] - data[:, 2])))
            reference = float(np.mean(np.abs(data[:, 1] - data[:, 2])))
        if reference > 0.0:
            return 1.0 - model / reference, len(scored)
        perfect = self.error == "squared" and model <= 0.0
        return (0.0 if perfect else None), len(scored)

    def as_dict(self) -> LiveScoreDict:
        """Every scope, as plain JSON."""
        return {
            "window_days": self.window_days,
            "entries": {scope: [row.as_list() for row in rows] for scope, rows in self.entries.items()},
        }

    def series_dict(self, scope: str = SERIES) -> SeriesScoreDict:
        """One scope in the single-series form, as plain JSON."""
        return {"window_days": self.window_days, "rows": [row.as_list() for row in self.entries.get(scope, [])]}

    @classmethod
    def from_dict(cls, data: object, error: ScoreError = "squared", series_scope: str = SERIES) -> LiveScore:
        """Rebuild from `as_dict` or `series_dict` output; rows of the wrong shape are dropped.

        Malformed data (not a mapping, a number that is not one) raises TypeError or
        ValueError, so that the caller can start afresh.
        """
        if not isinstance(data, Mapping):
            raise TypeError("live score must be a mapping")
        score = cls(error=error, window_days=_number(data.get("window_days", DEFAULT_WINDOW_DAYS)))
        entries = data.get("entries") or {}
        if not isinstance(entries, Mapping):
            raise TypeError("entries must be a mapping")
        for scope, rows in entries.items():
            score.entries[str(scope)] = _stored_rows(rows)
        if "rows" in data:
            score.entries[series_scope] = _stored_rows(data.get("rows") or [])
        return score
