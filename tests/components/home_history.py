"""A recorded fortnight of a small home, written into the real recorder for model tests.

The household gets up at 06:30, leaves through the front door at 08:30 and comes back at
17:30; the kitchen is used at breakfast and dinner; the thermostat is set to 21 °C when
people are up and home and 17 °C otherwise, and the house draws more in the evening.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from .conftest import ENERGY, FRONT_DOOR, HALL_MOTION, KITCHEN_MOTION, PERSON, POWER, THERMOSTAT, set_home_states

STEP = timedelta(minutes=30)


def _comfort(moment: datetime) -> bool:
    minutes = moment.hour * 60 + moment.minute
    return 6 * 60 + 30 <= minutes < 8 * 60 + 30 or 17 * 60 + 30 <= minutes < 22 * 60 + 30


def _home(moment: datetime) -> bool:
    minutes = moment.hour * 60 + moment.minute
    return not 8 * 60 + 30 <= minutes < 17 * 60 + 30


def _watts(moment: datetime) -> float:
    if not _home(moment):
        return 180.0
    if 17 <= moment.hour < 22:
        return 1400.0 + 50 * (moment.day % 3)
    return 350.0


async def record_home(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    days: int = 10,
    unusual_day: int | None = None,
    heating_per_step: float = 0.9,
    hvac_action: bool = True,
    fahrenheit: bool = False,
    eco_setpoint: float = 17.0,
    hvac_mode: str = "heat",
) -> None:
    """Write `days` of the household into the recorder, ending now (time is frozen).

    unusual_day: on the day this many days before today, the front door opens at 03:00
    and the hall is busy all afternoon while the household is away.
    heating_per_step: how much the zone warms in a half hour of heating (0: a room its
    radiator does not reach, whose readings follow nothing the thermostat does).
    hvac_action: whether the thermostat reports it (many radiator valves do not).
    fahrenheit: the thermostat reports in °F, as in a home on the US customary unit system.
    eco_setpoint: the setpoint (°C) when people are away or asleep.
    hvac_mode: the thermostat's mode throughout.
    """

    def shown(celsius: float) -> float:
        return round(celsius * 9 / 5 + 32, 1) if fahrenheit else celsius

    now = dt_util.now()
    moment = dt_util.start_of_local_day(now) - timedelta(days=days)
    freezer.move_to(moment)
    set_home_states(hass, fahrenheit)
    meter, indoor = 1000.0, 18.0
    while moment < now - STEP:
        local = dt_util.as_local(moment)
        setpoint = 21.0 if _comfort(local) and _home(local) else eco_setpoint
        heating = indoor < setpoint - 0.2
        meter += _watts(local) / 1000 * STEP.total_seconds() / 3600
        freezer.move_to(moment)
        hass.states.async_set(POWER, f"{_watts(local):.0f}", {"unit_of_measurement": "W", "device_class": "power"})
        hass.states.async_set(
            ENERGY,
            f"{meter:.3f}",
            {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"},
        )
        hass.states.async_set(
            THERMOSTAT,
            hvac_mode,
            {
                "temperature": shown(setpoint),
                "current_temperature": shown(round(indoor, 1)),
                "min_temp": shown(7),
                "max_temp": shown(30),
            }
            | ({"hvac_action": "heating" if heating else "idle"} if hvac_action else {}),
        )
        # The zone warms 1.8 °C/h while heating and loses heat to 8 °C outside (tau 14 h).
        indoor += (heating_per_step if heating else 0.0) + (8.0 - indoor) / 28.0
        minutes = local.hour * 60 + local.minute
        unusual = (
            unusual_day is not None and local.date() == (dt_util.as_local(now) - timedelta(days=unusual_day)).date()
        )
        if unusual and (minutes == 3 * 60 or 12 * 60 <= minutes < 17 * 60):
            door = minutes == 3 * 60
            hass.states.async_set(
                FRONT_DOOR if door else HALL_MOTION, "on", {"device_class": "door" if door else "motion"}
            )
            freezer.tick(timedelta(minutes=2))
            hass.states.async_set(
                FRONT_DOOR if door else HALL_MOTION, "off", {"device_class": "door" if door else "motion"}
            )
        if minutes == 7 * 60:
            hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        elif minutes == 7 * 60 + 30:
            hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
        elif minutes == 8 * 60:
            hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
            hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
            freezer.tick(timedelta(minutes=1))
            hass.states.async_set(FRONT_DOOR, "off", {"device_class": "door"})
            hass.states.async_set(HALL_MOTION, "off", {"device_class": "motion"})
            freezer.tick(timedelta(minutes=29))
            hass.states.async_set(PERSON, "not_home")
        elif minutes == 17 * 60 + 30:
            hass.states.async_set(PERSON, "home")
            hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
            hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
            freezer.tick(timedelta(minutes=1))
            hass.states.async_set(FRONT_DOOR, "off", {"device_class": "door"})
            hass.states.async_set(HALL_MOTION, "off", {"device_class": "motion"})
        elif minutes == 18 * 60:
            hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        elif minutes == 19 * 60:
            hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
        moment += STEP
    freezer.move_to(now)
    await async_wait_recording_done(hass)
