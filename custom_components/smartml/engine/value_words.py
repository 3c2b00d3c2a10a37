"""A watched sensor's unusual value in words, from the facts of its `unusual_value` anomaly.

The engine writes the English text it keeps beside the facts (`sensor_watch.py`); the
integration writes the same text in the user's language (`explain.py`). Plain Python (no
numpy): the event loop uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .phrases import ENGLISH_PHRASES, Phrases

# The translation keys of these words (strings.json, under "exceptions").
VALUE_PHRASE_KEYS: Final = (
    "value_higher",
    "value_lower",
    "value_unusual_change",
    "value_unusual_change_after",
    "value_last_day",
    "value_last_days",
)


def format_value(value: float, unit: str | None) -> str:
    """A reading as people write it: 41.2 °C, 1850 ppm, 0.53 kW."""
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def explain(facts: Mapping[str, Any], say: Phrases = ENGLISH_PHRASES) -> str:
    """The unusual value in words, in the language of say."""
    unit = facts.get("unit")
    days = int(facts["days_of_history"])
    words = {
        "name": facts["name"],
        "value": format_value(facts["value"], unit),
        "time": facts["local_time"],
        "period": say("value_last_day") if days <= 1 else say("value_last_days", days=days),
    }
    lowest, highest, previous = facts.get("lowest"), facts.get("highest"), facts.get("previous")
    if highest is not None and facts["value"] > highest:
        return say("value_higher", **words, highest=format_value(highest, unit))
    if lowest is not None and facts["value"] < lowest:
        return say("value_lower", **words, lowest=format_value(lowest, unit))
    if previous is None:
        return say("value_unusual_change", **words)
    return say("value_unusual_change_after", **words, previous=format_value(previous, unit))
