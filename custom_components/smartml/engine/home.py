"""HomeModels: every model of one home, fitted and queried together (worker thread only).

The integration's coordinator and the replays both go through this class, so what is
evaluated is what runs in the home. Model modules import numpy/scikit-learn, so they are
imported here lazily, inside the worker thread, never at integration import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .observations import ObservationStore

DAY_SECONDS = 86_400.0
# Less than this and there is nothing worth fitting yet.
MIN_DAYS_TO_FIT = 1.0


@dataclass(slots=True)
class FitReport:
    """Outcome of a fit: which models are ready and why the others are not."""

    days_covered: float = 0.0
    points: int = 0
    ready: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def any_ready(self) -> bool:
        """Whether at least one model can predict."""
        return any(self.ready.values())


def days_covered(store: ObservationStore, now: float) -> float:
    """Days from the first observation to now."""
    span = store.time_span()
    return 0.0 if span is None else max(0.0, (now - span[0]) / DAY_SECONDS)


class HomeModels:
    """Fits and queries the home's models from an observation snapshot."""

    def __init__(self, spec: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> None:
        """Spec is the home spec (timezone, areas, presence, power, energy, climate, security)."""
        self.spec = dict(spec)
        self.options = dict(options or {})
        self.report = FitReport()

    def fit(self, store: ObservationStore, now: float) -> FitReport:
        """Fit every model that has the data it needs."""
        import time

        started = time.perf_counter()
        report = FitReport(days_covered=days_covered(store, now), points=store.total_points)
        if report.days_covered < MIN_DAYS_TO_FIT:
            report.reasons["all"] = f"needs {MIN_DAYS_TO_FIT:g} day of history, has {report.days_covered:.1f}"
        report.seconds = time.perf_counter() - started
        self.report = report
        return report

    def predict(self, store: ObservationStore, now: float) -> dict[str, Any]:
        """Current predictions of every ready model, as plain data for the entities."""
        return {}
