"""Days not to learn from, read from a calendar the household keeps (holidays, guests).

Each event of the chosen calendar becomes an excluded period of the whole home. The
calendar is read through its public `calendar.get_events` service at every fit, so events
added, moved or deleted later are followed.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .engine.exclusions import SOURCE_CALENDAR, ExcludedPeriod

CALENDAR_DOMAIN = "calendar"
SERVICE_GET_EVENTS = "get_events"
# Events this far ahead are read too, so that a holiday starting tonight counts from its start.
LOOK_AHEAD = timedelta(days=2)


async def async_calendar_periods(hass: HomeAssistant, calendar_id: str, since: float) -> list[ExcludedPeriod] | None:
    """The calendar's events from `since` until shortly ahead, as excluded periods.

    None (logged) when the calendar is missing or fails to answer, as when it is not up yet.
    """
    try:
        response = await hass.services.async_call(
            CALENDAR_DOMAIN,
            SERVICE_GET_EVENTS,
            {
                "entity_id": calendar_id,
                "start_date_time": dt_util.utc_from_timestamp(since),
                "end_date_time": dt_util.utcnow() + LOOK_AHEAD,
            },
            blocking=True,
            return_response=True,
        )
    except (HomeAssistantError, ValueError) as err:
        LOGGER.warning(
            "SmartML cannot read the calendar %s of days not to learn from (the days last read stay): %s",
            calendar_id,
            err,
        )
        return None
    answer: Any = (response or {}).get(calendar_id)
    events: Any = answer.get("events") if isinstance(answer, dict) else None
    if not isinstance(events, list):
        events = []
    periods: list[ExcludedPeriod] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        start, end = _moment(event.get("start")), _moment(event.get("end"))
        if start is not None and end is not None and start < end:
            periods.append(ExcludedPeriod(start, end, reason=str(event.get("summary") or ""), source=SOURCE_CALENDAR))
    return periods


def _moment(value: Any) -> float | None:
    """Epoch seconds of an event bound: a date-time, or a date (all-day events) at local midnight."""
    if not isinstance(value, str):
        return None
    moment = dt_util.parse_datetime(value)
    if moment is None:
        if (day := dt_util.parse_date(value)) is None:
            return None
        moment = datetime.combine(day, time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return moment.timestamp()
