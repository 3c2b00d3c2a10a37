"""Settings of the occupancy model and their defaults.

Plain Python (no numpy), so that the façade can offer them as keyword arguments and the
evaluation can read the defaults without importing the model.
"""

from __future__ import annotations

from typing import Final, Literal

# How fast a routine forgets: a slot's evidence halves every this many days, so a changed
# routine shows within days.
DEFAULT_HALF_LIFE_DAYS: Final = 10.0
# Less history than this and predictions are not shown.
MIN_DAYS: Final = 3.0

# "logistic": the pooled classifier over routine and context features; "routine": the
# last state fading into the routine (no classifier).
Classifier = Literal["logistic", "routine"]
CLASSIFIERS: Final[tuple[Classifier, ...]] = ("logistic", "routine")
DEFAULT_CLASSIFIER: Final[Classifier] = "logistic"
