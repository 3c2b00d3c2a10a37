"""Why models are not ready, in words: the learning status's `reason`, from the engine's typed reasons.

Plain Python with no Home Assistant import, so that the evaluation and the benchmarks say
them as the integration does. The texts are under "exceptions" in the translations, where
Home Assistant keeps an integration's free text: the integration passes them in the user's
language, and English fills in any that are not translated. Each reason is said with the
model's name in words ("Occupancy: needs 3 days of history, has 1.2").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from .engine.home import ALL_MODELS, MODELS
from .engine.phrases import english_phrases
from .engine.results import REASON_ENTITY, REASON_KEYS, Reason

# An entity id -> the name to show.
type NameOf = Callable[[str], str]

# The name of each model (and of all of them together) in the texts.
MODEL_NAME_KEYS: Final = {model: f"reason_model_{model}" for model in (ALL_MODELS, *MODELS)}
# "{model}: {reason}", so that a language can order them its own way.
OF_MODEL_KEY: Final = "reason_of_model"
REASON_PHRASE_KEYS: Final = (*REASON_KEYS, *MODEL_NAME_KEYS.values(), OF_MODEL_KEY)
ENGLISH_REASON_PHRASES: Final[Mapping[str, str]] = english_phrases(REASON_PHRASE_KEYS)


def _phrase(key: str, phrases: Mapping[str, str]) -> str:
    return phrases.get(key) or ENGLISH_REASON_PHRASES[key]


def _format(key: str, phrases: Mapping[str, str], **values: str) -> str:
    """The phrase with its placeholders filled; English where a translation's placeholders are wrong."""
    try:
        return _phrase(key, phrases).format(**values)
    except (KeyError, IndexError, ValueError):
        return ENGLISH_REASON_PHRASES[key].format(**values)


def say_reason(reason: Reason, phrases: Mapping[str, str] | None = None, name_of: NameOf = str) -> str:
    """One reason in words (English unless phrases of another language are given)."""
    values = dict(reason.placeholders)
    if (entity_id := values.get(REASON_ENTITY)) is not None:
        values[REASON_ENTITY] = name_of(entity_id)
    return _format(reason.key, phrases or {}, **values)


def say_reasons(reasons: Iterable[Reason]) -> str:
    """Reasons in English, for the evaluation's and the benchmarks' output."""
    return "; ".join(say_reason(reason) for reason in reasons)


def say_fit_report(
    notes: Mapping[str, Reason],
    reasons: Mapping[str, tuple[Reason, ...]],
    phrases: Mapping[str, str] | None = None,
    name_of: NameOf = str,
) -> list[str]:
    """Each model's reasons (or, when it has none, its note), by model, each with the model's name."""
    phrases = phrases or {}
    by_model = {**{model: (note,) for model, note in notes.items()}, **reasons}
    return [
        _format(
            OF_MODEL_KEY,
            phrases,
            model=_phrase(MODEL_NAME_KEYS[model], phrases) if model in MODEL_NAME_KEYS else model,
            reason=say_reason(reason, phrases, name_of),
        )
        for model, said in sorted(by_model.items())
        for reason in said
    ]
