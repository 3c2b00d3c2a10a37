"""NAB task: the category filter, the split tuning mode and the detector's tunable constants."""

import json
from pathlib import Path
import shutil
from typing import Any

import numpy as np
import pytest

from custom_components.smartml.engine.streaming import (
    DEFAULT_LEARNING_POINTS,
    DEFAULT_SCALES,
    RECORD_DECAY,
    RECORD_RANK,
    RESOLUTION,
    StreamingDetector,
)
from evaluation import nab

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "nab_art_daily_jumpsup.csv"
WINDOW = [["2014-04-10 16:15:00.000000", "2014-04-12 01:45:00.000000"]]
# Three categories: the fixture, a rescaled copy (same window) and an unlabelled copy.
SERIES = {
    "artificialWithAnomaly/art_daily_jumpsup.csv": (1.0, 0.0, WINDOW),
    "realKnownCause/jumpsup_scaled.csv": (3.0, 5.0, WINDOW),
    "artificialNoAnomaly/jumpsup_unlabelled.csv": (0.5, -2.0, []),
}


def _write_corpus(root: Path, names: list[str]) -> tuple[Path, Path]:
    data = root / "data"
    for name in names:
        scale, offset, _ = SERIES[name]
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if scale == 1.0 and offset == 0.0:
            shutil.copy(FIXTURE, path)
            continue
        lines = FIXTURE.read_text(encoding="utf-8").splitlines()
        rows = [line.split(",") for line in lines[1:]]
        path.write_text(
            "\n".join([lines[0], *(f"{t},{float(v) * scale + offset!r}" for t, v in rows)]) + "\n", encoding="utf-8"
        )
    labels = root / "labels.json"
    labels.write_text(json.dumps({name: SERIES[name][2] for name in names}), encoding="utf-8")
    return data, labels


@pytest.fixture(name="corpus")
def _corpus(tmp_path: Path) -> tuple[Path, Path]:
    return _write_corpus(tmp_path, list(SERIES))


def _run(data: Path, labels: Path, *extra: str) -> dict[str, Any]:
    return nab.run(["--data", str(data), "--labels", str(labels), *extra])


def _constants(trial: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in trial.items() if k != "standard"}


def _fixture_scores(detector: StreamingDetector) -> np.ndarray:
    times, values = nab.read_series(FIXTURE)
    epoch = times.astype("int64").astype(float).tolist()
    return np.array([detector.update(t, v) for t, v in zip(epoch, values.tolist(), strict=True)])


def test_explicit_default_constants_score_like_the_default_detector() -> None:
    explicit = StreamingDetector(
        DEFAULT_SCALES,
        DEFAULT_LEARNING_POINTS,
        resolution=RESOLUTION,
        record_rank=RECORD_RANK,
        record_decay=RECORD_DECAY,
    )
    default = StreamingDetector()
    assert np.array_equal(_fixture_scores(explicit), _fixture_scores(default))
    assert explicit.as_dict() == default.as_dict()
    assert nab.Constants().detector(DEFAULT_LEARNING_POINTS).as_dict() == StreamingDetector().as_dict()


def test_other_constants_change_the_scores_and_keep_the_state_format() -> None:
    other = StreamingDetector(resolution=10.0, record_rank=2, record_decay=0.998)
    scores = _fixture_scores(other)
    assert not np.array_equal(scores, _fixture_scores(StreamingDetector()))
    state = other.as_dict()
    assert set(state) == set(StreamingDetector().as_dict())
    assert StreamingDetector.from_dict(json.loads(json.dumps(state))).as_dict() == state


@pytest.mark.parametrize("bad", [{"resolution": 0.0}, {"record_rank": 0}, {"record_decay": 1.5}])
def test_constants_out_of_range_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="required"):
        StreamingDetector(**bad)  # type: ignore[arg-type]


def test_family_filter_scores_like_a_corpus_of_those_series(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    data, labels = corpus
    filtered = _run(data, labels, "--families", "artificialWithAnomaly,artificialNoAnomaly")
    alone = _run(*_write_corpus(tmp_path / "alone", list(SERIES)[::2]))
    assert filtered["info"]["series"] == 2 and filtered["info"]["windows"] == 1
    assert filtered["info"]["families"] == ["artificialNoAnomaly", "artificialWithAnomaly"]
    assert filtered["results"] == alone["results"]
    assert filtered["info"]["thresholds"] == alone["info"]["thresholds"]
    assert "families" not in alone["info"] and "split" not in alone["info"]


def test_unknown_family_is_refused(corpus: tuple[Path, Path]) -> None:
    with pytest.raises(SystemExit):
        _run(*corpus, "--families", "realTweets")


def test_a_tuning_half_without_windows_is_refused(corpus: tuple[Path, Path]) -> None:
    with pytest.raises(SystemExit):
        _run(*corpus, "--tune-on", "artificialNoAnomaly")


def test_grid_names_constants_and_keeps_their_types() -> None:
    grid = nab.parse_grid("record_rank=2,3; resolution=10")
    combos = nab.grid_constants(grid)
    assert [(c.record_rank, c.resolution) for c in combos] == [(2, 10.0), (3, 10.0)]
    assert all(isinstance(c.record_rank, int) for c in combos)
    assert combos[0].value_memory == DEFAULT_SCALES[0][1]
    assert len(nab.grid_constants(nab.parse_grid(None))) == 54
    with pytest.raises(ValueError, match="not constant"):
        nab.parse_grid("window=3")


def test_tune_on_picks_the_best_tuning_score_and_reports_both_halves(corpus: tuple[Path, Path]) -> None:
    data, labels = corpus
    grid = "record_rank=2,3;record_decay=0.998,0.999"
    result = _run(data, labels, "--tune-on", "artificialWithAnomaly,artificialNoAnomaly", "--grid", grid)
    split = result["info"]["split"]
    assert split["tune_on"] == ["artificialNoAnomaly", "artificialWithAnomaly"]
    assert split["held_out"] == ["realKnownCause"]
    assert len(split["grid_standard"]) == 4
    scores = split["scores"]
    assert scores["tuning"]["windows"] == 1 and scores["held_out"]["windows"] == 1 and scores["full"]["windows"] == 2
    # The chosen constants are the best of the grid on the tuning half.
    best = max(trial["standard"] for trial in split["grid_standard"])
    assert scores["tuning"]["chosen"]["standard"] == best
    by_constants = {json.dumps(_constants(trial)): trial["standard"] for trial in split["grid_standard"]}
    assert by_constants[json.dumps(split["chosen"])] == best
    # The defaults' figures are those of the production detector on each part.
    assert by_constants[json.dumps(split["defaults"])] == scores["tuning"]["defaults"]["standard"]
    assert scores["full"]["defaults"] == {p: r["smartml"]["score"] for p, r in result["results"].items()}
    held = _run(data, labels, "--families", "realKnownCause")
    assert scores["held_out"]["defaults"] == {p: r["smartml"]["score"] for p, r in held["results"].items()}
    assert scores["held_out"]["defaults"] == split["families"]["realKnownCause"]["defaults"]
    # A category without windows has no score of its own.
    assert set(split["families"]) == {"artificialWithAnomaly", "realKnownCause"}
