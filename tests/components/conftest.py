"""Fixtures for tests that run a real Home Assistant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable
from datetime import time as dt_time, timedelta
import logging
import threading
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.const import (
    CONF_AREAS,
    CONF_CLIMATE,
    CONF_ENERGY,
    CONF_ENERGY_ANOMALIES,
    CONF_ENVIRONMENT,
    CONF_HISTORY_DAYS,
    CONF_NOTIFY,
    CONF_OCCUPANCY,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_POWER,
    CONF_PRESENCE,
    CONF_SECURITY,
    CONF_SENSITIVITY,
    DOMAIN,
)
from custom_components.smartml.engine.constants import TYPE_ENTRY_WITHOUT_ARRIVAL
from custom_components.smartml.engine.facts import EntryWithoutArrival
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.fitting import SmartMLFitCoordinator

KITCHEN_MOTION = "binary_sensor.kitchen_motion"
HALL_MOTION = "binary_sensor.hall_motion"
FRONT_DOOR = "binary_sensor.front_door"
PERSON = "person.alex"
POWER = "sensor.house_power"
ENERGY = "sensor.house_energy"
THERMOSTAT = "climate.living_room"


# How Home Assistant announces that it will stop loading an integration: its frame helper
# reports each deprecated use it detects in the integration's code, and a deprecated
# function or constant says it was used (naming the integration when it finds its frame).
DEPRECATION_REPORT = "Detected that custom integration 'smartml'"
DEPRECATED_USE = "The deprecated "


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a record its own arguments cannot format (a None for %d)
        return str(record.msg)


def deprecation_reports(records: Iterable[logging.LogRecord]) -> list[str]:
    """Home Assistant's reports of deprecated use by this integration among log records."""
    return [
        message
        for record in records
        if DEPRECATION_REPORT in (message := _message(record))
        or (message.startswith(DEPRECATED_USE) and record.name.startswith("homeassistant"))
    ]


@pytest.fixture(autouse=True)
def fail_on_deprecation_reports(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """A test fails when Home Assistant reports a deprecated use by SmartML during it."""
    yield
    if reports := deprecation_reports([*caplog.get_records("setup"), *caplog.get_records("call")]):
        pytest.fail(f"Home Assistant reported deprecated use by SmartML: {reports}")


@pytest.fixture(autouse=True)
def timers_due_now_run(request: pytest.FixtureRequest) -> None:
    """A timer due at the very instant time is frozen at runs, as it does on a real clock.

    Frozen time sets the loop's clock to the epoch seconds (about 1.8e9), where one float
    step is 2.4e-7 s, while asyncio looks for due timers only 1e-9 s ahead of now. A timer
    due exactly now was then never taken: the loop spun at full speed until the test moved
    time on, and the model thread, starved of the GIL, took minutes for a fit of seconds.
    """
    if "hass" in request.fixturenames:
        loop = request.getfixturevalue("hass").loop
        loop._clock_resolution = 1e-6  # asyncio keeps no public setting


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> Generator[None]:
    """Load this repository's integration in every test.

    The recorder must start before hass, so a test that asks for it gets it first.
    """
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")
    yield


def home_options(**overrides: Any) -> dict[str, Any]:
    """Entry options of a small home: kitchen area, a hall sensor without area, a person."""
    options: dict[str, Any] = {
        CONF_AREAS: {"kitchen": {CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: []}},
        CONF_OCCUPANCY: [HALL_MOTION],
        CONF_ENVIRONMENT: [],
        CONF_PRESENCE: [PERSON],
        CONF_POWER: [POWER],
        CONF_ENERGY: [ENERGY],
        CONF_CLIMATE: [THERMOSTAT],
        CONF_SECURITY: [FRONT_DOOR],
        CONF_OUTDOOR_TEMPERATURE: None,
        CONF_NOTIFY: None,
        CONF_HISTORY_DAYS: 28,
        CONF_SENSITIVITY: "medium",
        CONF_ENERGY_ANOMALIES: True,
    }
    options.update(overrides)
    return options


@pytest.fixture
def mock_entry() -> MockConfigEntry:
    """A SmartML entry for the small home (not yet added to hass)."""
    return MockConfigEntry(domain=DOMAIN, title="SmartML", unique_id=DOMAIN, data={}, options=home_options())


def set_home_states(hass: HomeAssistant, fahrenheit: bool = False) -> None:
    """Give the small home's entities a plausible current state (the thermostat's in °F if asked)."""
    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    hass.states.async_set(HALL_MOTION, "off", {"device_class": "motion"})
    hass.states.async_set(FRONT_DOOR, "off", {"device_class": "door"})
    hass.states.async_set(PERSON, "home")
    hass.states.async_set(POWER, "350", {"unit_of_measurement": "W", "device_class": "power"})
    hass.states.async_set(
        ENERGY, "1200.5", {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"}
    )
    setpoint, current = (68.9, 67.6) if fahrenheit else (20.5, 19.8)
    hass.states.async_set(
        THERMOSTAT, "heat", {"temperature": setpoint, "current_temperature": current, "hvac_action": "heating"}
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up an entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def force_history_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the direct read of the recorder's states table fail as after a schema change."""
    from custom_components.smartml import history

    def changed_schema(*_args: Any) -> int:
        raise AttributeError("type object 'States' has no attribute 'last_updated_ts'")

    monkeypatch.setattr(history, "_read_states_table", changed_schema)


def door_anomaly(anomaly_id: str = "a1", kind: str = "security", type_: str = TYPE_ENTRY_WITHOUT_ARRIVAL) -> Anomaly:
    """The front door opened while everyone was away: an anomaly as a model reports it."""
    facts = EntryWithoutArrival(
        entity_id=FRONT_DOOR,
        area=None,
        state="empty",
        day_type="weekday",
        at=dt_time(3, 10),
        start_hour=1,
        end_hour=5,
        times_seen=0,
        days_of_history=28.0,
        expected_per_hour=0.001,
        threshold=6.0,
        arrival_grace_minutes=30.0,
    )
    return Anomaly(
        id=anomaly_id,
        kind=kind,
        type=type_,
        entity_ids=[FRONT_DOOR],
        ts=time.time(),
        score=0.97,
        facts=facts,
    )


@pytest.fixture
def evening(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 16:40 local time, before people come home (the eco setpoint is due)."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=16, minutes=40))


class HeldFit:
    """The first fit held until released: a small machine with months of history takes a while."""

    def __init__(self) -> None:
        """Not started, not released."""
        self.started, self.release = threading.Event(), threading.Event()

    async def async_set_up(
        self, hass: HomeAssistant, entry: MockConfigEntry, meanwhile: Callable[[], Awaitable[None]]
    ) -> None:
        """Set the entry up; `meanwhile` runs while its first fit waits, then the fit goes on."""
        entry.add_to_hass(hass)
        setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
        assert await hass.async_add_executor_job(self.started.wait, 10)
        await meanwhile()
        self.release.set()
        await setup
        await hass.async_block_till_done()  # and a reload the meanwhile asked for


@pytest.fixture
def held_first_fit(monkeypatch: pytest.MonkeyPatch) -> HeldFit:
    """SmartML's first fit waits for `release`; later fits run at once."""
    held = HeldFit()
    fit = SmartMLFitCoordinator._fit

    def first_fit_held(self: SmartMLFitCoordinator, now: float, carried: Any) -> Any:
        if not held.started.is_set():
            held.started.set()
            held.release.wait(10)
        return fit(self, now, carried)

    monkeypatch.setattr(SmartMLFitCoordinator, "_fit", first_fit_held)
    return held
