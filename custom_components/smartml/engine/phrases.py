"""The words of SmartML's alerts by translation key: the user's language, English where not translated.

Their one source is the integration's translations, under "exceptions" (where Home
Assistant keeps an integration's free text) in strings.json and translations/en.json: each
text a template with named placeholders. English is read here once, at import (Home
Assistant imports integrations in its executor), for the evaluation and as the fallback;
the integration passes the texts of the user's language.

Plain Python (no numpy, no Home Assistant): the event loop, the engine and the evaluation use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
from pathlib import Path
from typing import Final

_EN_JSON: Final = Path(__file__).parents[1] / "translations" / "en.json"


def _english() -> dict[str, str]:
    exceptions = json.loads(_EN_JSON.read_text(encoding="utf-8"))["exceptions"]
    return {key: str(entry["message"]) for key, entry in exceptions.items()}


ENGLISH: Final[Mapping[str, str]] = _english()


def english_phrases(keys: Iterable[str]) -> dict[str, str]:
    """The English texts of these translation keys; KeyError for one en.json lacks."""
    return {key: ENGLISH[key] for key in keys}


class Phrases:
    """Texts by translation key in one language, each filled in with its placeholders' values."""

    __slots__ = ("_translated",)

    def __init__(self, translated: Mapping[str, str] | None = None) -> None:
        """translated: templates by key in the user's language; English for the keys it lacks."""
        self._translated: Mapping[str, str] = translated or {}

    def __call__(self, key: str, /, **values: object) -> str:
        """The text of key with the values in its placeholders."""
        if translated := self._translated.get(key):
            try:
                return translated.format(**values)
            except (KeyError, IndexError, ValueError):
                pass  # a translation with a placeholder of its own: the English text rather than no alert
        return ENGLISH[key].format(**values)


# The texts in English only: what the engine and the evaluation write.
ENGLISH_PHRASES: Final = Phrases()
