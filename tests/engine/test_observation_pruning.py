"""Pruning old observations keeps what the models need of them."""

from __future__ import annotations

from custom_components.smartml.engine.observations import ObservationStore

MOTION = {"device_class": "motion"}
WATTS = {"unit_of_measurement": "W"}


def test_pruning_keeps_the_state_before_the_cutoff_and_only_newer_readings() -> None:
    store = ObservationStore()
    for minute, state in enumerate(["on", "off", "on", "off", "on"]):
        store.add_state("binary_sensor.motion", "occupancy", state, 600.0 * minute, MOTION)
    store.add_states("sensor.power", "power", [(str(100 + i), 60.0 * i, WATTS) for i in range(120)])
    power = store.channels["sensor.power"]
    kept_power = [(t, v) for t, v in zip(power.times, power.values, strict=True) if t >= 1500.0]

    store.prune_before(1500.0)

    # A state channel keeps the state it was in at the cutoff (on, since 1200 s).
    motion = store.channels["binary_sensor.motion"]
    assert list(motion.times) == [1200.0, 1800.0, 2400.0]
    assert list(motion.values) == [1.0, 0.0, 1.0]
    # A reading channel keeps only what is at or after the cutoff.
    assert list(zip(power.times, power.values, strict=True)) == kept_power

    store.prune_before(10_000.0)
    assert list(motion.times) == [2400.0]
    assert not power.times
