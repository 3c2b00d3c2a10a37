"""Occupancy predictions in words: the `reason` attribute, from the engine's contributions.

The engine says what weighs in a prediction as typed contributions (`engine/results.py`);
this module says them in the home's language, with phrases from the integration's
translations (`entity.sensor.occupancy_probability.state_attributes.reason.state`). Times
are clock times ("last activity at 14:32"), not ages, so that the reason changes when the
prediction's grounds change, not every minute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
import time
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .engine.results import (
    CONTRIBUTION_ACTIVITY,
    CONTRIBUTION_AWAY,
    CONTRIBUTION_ELSEWHERE,
    CONTRIBUTION_ROUTINE,
    Contribution,
    ScopeForecast,
)

REASON_ATTRIBUTE: Final = "reason"
_PHRASES_PREFIX: Final = f"component.{DOMAIN}.entity.sensor.occupancy_probability.state_attributes.reason.state."
# Beyond this, a clock time alone would not say which day.
_DAY_MINUTES: Final = 24 * 60
_SEPARATOR: Final = ", "

# A phrase key and its placeholders -> the text.
type Phrases = Mapping[str, str]
# An epoch time -> the local clock time to show ("14:32").
type ClockOf = Callable[[float], str]


async def async_reason_phrases(hass: HomeAssistant) -> dict[str, str]:
    """The reason phrases in the home's language (English where a phrase is not translated)."""
    strings = await async_get_translations(hass, hass.config.language, "entity", [DOMAIN])
    return {key.removeprefix(_PHRASES_PREFIX): text for key, text in strings.items() if key.startswith(_PHRASES_PREFIX)}


def _routine(contribution: Contribution, phrases: Phrases) -> str:
    usual = contribution.share >= 0.5 if contribution.share is not None else contribution.weight > 0
    key = "routine_usually" if usual else "routine_rarely"
    if contribution.share is None:
        return phrases[f"{key}_plain"]
    weeks = contribution.weeks or 1
    period = phrases["period_week"] if weeks == 1 else phrases["period_weeks"].format(weeks=weeks)
    return phrases[key].format(
        days=phrases["days_weekend" if contribution.weekend else "days_weekday"],
        share=round(100 * contribution.share),
        period=period,
    )


def _activity(contribution: Contribution, phrases: Phrases, now: float, clock: ClockOf) -> str:
    last = contribution.last_active
    if contribution.active:
        return phrases["activity_now"]
    if last is None:
        return phrases["activity_never"]
    minutes = (now - last) / 60.0
    if minutes >= 2 * _DAY_MINUTES:
        return phrases["idle_days"].format(days=int(minutes // _DAY_MINUTES))
    if minutes >= _DAY_MINUTES:
        return phrases["idle_day"]
    # Recent activity that raises the odds, or a quiet spell that lowers them.
    return phrases["activity_at" if contribution.weight > 0 else "idle_since"].format(time=clock(last))


def reason(contributions: Sequence[Contribution], phrases: Phrases, now: float, clock: ClockOf) -> str | None:
    """The contributions in words, strongest first; None when there are none."""
    words: list[str] = []
    for contribution in contributions:
        if contribution.kind == CONTRIBUTION_ROUTINE:
            words.append(_routine(contribution, phrases))
        elif contribution.kind == CONTRIBUTION_ACTIVITY:
            words.append(_activity(contribution, phrases, now, clock))
        elif contribution.kind in (CONTRIBUTION_ELSEWHERE, CONTRIBUTION_AWAY):
            words.append(phrases[contribution.kind])
    return _SEPARATOR.join(words) or None


def local_clock(ts: float) -> str:
    """An epoch time as the home's local clock time, "14:32"."""
    return dt_util.as_local(datetime.fromtimestamp(ts, UTC)).strftime("%H:%M")


def forecast_reason(forecast: ScopeForecast, phrases: Phrases) -> str | None:
    """Why an area (or the home) is predicted as it is, in the home's words, as of now."""
    return reason(forecast.contributions, phrases, time.time(), local_clock)
