"""Median-boosted trees: what a linear correction cannot see, robust to outliers and unknowns."""

from __future__ import annotations

import numpy as np

from custom_components.smartml.engine.boosted_trees import MedianBoostedTrees


def test_trees_find_the_median_of_an_interaction_despite_outliers() -> None:
    """y is 1 where exactly one of a, b is high: no line fits it; a tenth of the rows are wild."""
    rng = np.random.default_rng(0)
    x = rng.random((3000, 3))
    truth = ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)).astype(np.float64)
    y = truth + rng.normal(0.0, 0.1, len(x))
    wild = rng.random(len(x)) < 0.1
    y[wild] += rng.choice([-50.0, 50.0], size=int(wild.sum()))
    trees = MedianBoostedTrees()
    trees.fit(x, y)
    probe = rng.random((1000, 3))
    expected = ((probe[:, 0] > 0.5) ^ (probe[:, 1] > 0.5)).astype(np.float64)
    # Away from the edges, where a bin of rows straddles the step.
    clear = (np.abs(probe[:, 0] - 0.5) > 0.05) & (np.abs(probe[:, 1] - 0.5) > 0.05)
    assert np.mean(np.abs(trees.predict(probe)[clear] - expected[clear])) < 0.1
    # Stumps add one feature at a time: an interaction is beyond them, whatever their number.
    stumps = MedianBoostedTrees(depth=1, rounds=300)
    stumps.fit(x, y)
    assert np.mean(np.abs(stumps.predict(probe)[clear] - expected[clear])) > 0.3


def test_unknown_values_have_a_branch_of_their_own() -> None:
    """Rows whose feature is unknown are told apart from every measured value, and never fail."""
    rng = np.random.default_rng(1)
    x = rng.random((2000, 2))
    unknown = rng.random(len(x)) < 0.3
    x[unknown, 0] = np.nan
    y = np.where(unknown, 5.0, x[:, 1])
    trees = MedianBoostedTrees()
    trees.fit(x, y)
    probe = np.array([[np.nan, 0.2], [0.3, 0.2], [0.9, 0.8]])
    got = trees.predict(probe)
    assert abs(got[0] - 5.0) < 0.3
    assert abs(got[1] - 0.2) < 0.2
    assert abs(got[2] - 0.8) < 0.2


def test_a_column_never_measured_is_never_split_on() -> None:
    """A covariate the home lacks (all unknown) changes nothing."""
    rng = np.random.default_rng(2)
    x = np.column_stack((rng.random(1500), np.full(1500, np.nan)))
    y = 3.0 * x[:, 0]
    trees = MedianBoostedTrees()
    trees.fit(x, y)
    assert not (trees.features_ == 1).any()
    got = trees.predict(np.array([[0.5, np.nan], [0.5, 7.0]]))
    assert got[0] == got[1]
    assert abs(got[0] - 1.5) < 0.2


def test_an_unknown_value_never_seen_in_training_is_read_as_a_middling_one() -> None:
    """A gap in a column that always had values is no evidence of a small value (nor a large one)."""
    rng = np.random.default_rng(3)
    x = rng.random((2000, 1))
    trees = MedianBoostedTrees()
    trees.fit(x, 10.0 * x[:, 0])
    got = trees.predict(np.array([[np.nan], [0.02], [0.98]]))
    assert 4.0 < got[0] < 6.0
    assert got[1] < 1.0 and got[2] > 9.0
