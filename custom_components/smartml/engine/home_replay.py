"""HomeReplay: the home's models as `scripts/evaluate` walks them forward through a history.

The same `HomeModels` the integration runs, fitted and asked the same way, with the batch
queries a walk-forward needs (one model refitted day after day, answers at many origins
at once). A benchmark figure is therefore a figure of the shipped code path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import MODEL_CLIMATE, MODEL_OCCUPANCY, MODEL_ROUTINE, MODEL_SECURITY
from .home import HomeModels, Readiness
from .observations import ObservationStore
from .results import Anomaly, Band, ClimatePrediction, Reason

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from .climate_zone import ClimateZone
    from .energy_series import HourlySeries


class HomeReplay(HomeModels):
    """HomeModels with the walk-forward queries of the evaluation."""

    # Replays: climate
    def refit_climate(self, store: ObservationStore, now: float) -> Readiness:
        """Fit the climate model alone at `now` (a walk-forward day); ready when any zone is."""
        ready, reason = self._fit_climate(store, now)
        self.report.ready[MODEL_CLIMATE] = ready
        return ready, reason

    def climate_ready(self, entity_id: str) -> tuple[bool, Reason | None]:
        """Whether the thermostat's setpoints can be predicted, and if not why."""
        ready: tuple[bool, Reason | None] = self.climate.enough_data(entity_id)
        return ready

    def climate_zone(self, entity_id: str) -> ClimateZone:
        """What the climate model learned of one thermostat: routine, thermal fit, change counts."""
        zone: ClimateZone = self.climate.zones_[entity_id]
        return zone

    def climate_setpoints(
        self, entity_id: str, times: NDArray[np.float64], p_home: NDArray[np.float64] | None
    ) -> NDArray[np.float64]:
        """The setpoint at each time, knowing whether anyone is home then (None: not known)."""
        setpoints: NDArray[np.float64] = self.climate.setpoints(entity_id, times, p_home)
        return setpoints

    def climate_day_ahead(
        self, entity_id: str, times: NDArray[np.float64], now: float, home_now: float | None
    ) -> NDArray[np.float64]:
        """The setpoint at each time as predicted at `now`, occupancy from the model's own outlook."""
        setpoints: NDArray[np.float64] = self.climate.forecast_setpoints(entity_id, times, now, home_now)[0]
        return setpoints

    def climate_predict_at(
        self,
        entity_id: str,
        now: float,
        *,
        indoor: float | None,
        outdoor: float | None,
        home_now: float | None,
        current_setpoint: float | None,
        hours: int = 24,
    ) -> ClimatePrediction:
        """The thermostat's prediction at `now` from the given live readings (preheat included)."""
        prediction: ClimatePrediction = self.climate.predict(
            entity_id,
            now,
            hours,
            indoor=indoor,
            outdoor=outdoor,
            home_now=home_now,
            current_setpoint=current_setpoint,
        )
        return prediction

    # Replays: energy
    def refit_energy(self, store: ObservationStore, now: float) -> bool:
        """Fit the energy model alone at `now` (a walk-forward day); whether its forecast could be fitted.

        The first call builds the model as `fit` does; later calls refit the same model, so
        its open alerts and reported periods carry over from one day to the next.
        """
        if self.energy is None:
            self._fit_energy(store, now)
        else:
            self.energy.fit(store, self.spec, now, hourly=self.hourly_energy)
        return bool(self.energy.model_ is not None)

    def energy_series(self, store: ObservationStore, end: float, since: float | None = None) -> HourlySeries:
        """The fitted energy model's hourly series of the complete hours in [since, end)."""
        series: HourlySeries = self.energy.series(store, end, self.hourly_energy, None, since=since)
        return series

    def energy_quantiles(
        self, series: HourlySeries, origins: NDArray[np.int64], horizons: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """(rows, 3) kWh P10/P50/P90 of a series' hours, each predicted `horizon` hours after its origin."""
        quantiles: NDArray[np.float64] = self.energy.quantiles(series, origins, horizons)
        return quantiles

    def energy_anomalies(self, store: ObservationStore, now: float, home_occupied: bool | None = None) -> list[Anomaly]:
        """New energy anomalies at `now`, as `predict` finds them."""
        found: list[Anomaly] = self.energy.check(store, now, home_occupied)
        return found

    # Replays: security
    def refit_security(self, store: ObservationStore, now: float) -> Readiness:
        """Fit the security model alone at `now` (a walk-forward day), as `fit` does; ready and why not."""
        ready, reason = self._fit_security(store, now)
        self.report.ready[MODEL_SECURITY] = ready
        return ready, reason

    # Replays: routine
    def refit_routine(self, store: ObservationStore, now: float) -> Readiness:
        """Fit the routine model alone at `now` (a walk-forward day), as `fit` does; ready and why not."""
        ready, reason = self._fit_routine(store, now)
        self.report.ready[MODEL_ROUTINE] = ready
        return ready, reason

    # Replays: occupancy
    def refit_occupancy(self, store: ObservationStore, now: float) -> Readiness:
        """Fit the occupancy model alone at `now` (a walk-forward day), as `fit` does; ready and why not."""
        ready, reason = self._fit_occupancy(store, now)
        self.report.ready[MODEL_OCCUPANCY] = ready
        return ready, reason

    def occupancy_probabilities(
        self, store: ObservationStore, origins: NDArray[np.float64], steps: NDArray[np.int64]
    ) -> dict[str, NDArray[np.float64]]:
        """P(occupied) per scope of slot origin+(step-1)*slot as known at each origin: (origins, steps) arrays."""
        probabilities: dict[str, NDArray[np.float64]] = self.occupancy.probabilities(store, origins, steps)
        return probabilities

    def spell_band(self, occupied: bool, origin: float, run_slots: float) -> Band | None:
        """When the home, occupied (or empty) for run_slots slots at `origin`, is expected to change."""
        band: Band | None = self.occupancy.spell_band(occupied, origin, run_slots)
        return band
