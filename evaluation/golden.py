"""Golden figures: every documented `scripts/evaluate` run, saved and checked.

    .venv/bin/python -m evaluation.golden --data ../shared/data check   # compare with tests/golden/
    .venv/bin/python -m evaluation.golden --data ../shared/data write   # save the current figures

A change to the code that is meant to keep behaviour (a refactor) must leave every figure
as it was. Timings are not figures: keys naming seconds or microseconds are left out.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
from pathlib import Path
import sys
import tempfile
from typing import Any

from . import __main__ as evaluate
from .convert import CONVERTERS

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden"
REPO_DATA = Path(__file__).resolve().parent.parent / "data"
TIMING_WORDS = ("seconds", "microseconds")
# Relative tolerance for floats: the same code on the same machine prints the same bits, but
# BLAS threading may reorder a sum; anything beyond this is a changed result.
REL_TOLERANCE = 1e-9

# name -> (converter and data folder, the flags that take its history and home, evaluate
# arguments). {data} is --data, {build} the shared scratch folder; "@repo/" data is in data/.
DEFAULT_FLAGS = ("--history", "--home")
RUNS: dict[str, tuple[tuple[str, str] | None, tuple[str, str], list[str]]] = {
    "observations_ordonez_a": (("ordonez", "ordonez_adl"), DEFAULT_FLAGS, ["--task", "observations"]),
    "occupancy_ordonez_a": (("ordonez", "ordonez_adl"), DEFAULT_FLAGS, ["--task", "occupancy"]),
    "occupancy_kasteren": (("kasteren", "kasteren2008"), DEFAULT_FLAGS, ["--task", "occupancy"]),
    "occupancy_routine_ordonez_a": (
        ("ordonez", "ordonez_adl"),
        DEFAULT_FLAGS,
        ["--task", "occupancy", "--classifier", "routine"],
    ),
    "security_ordonez_a": (
        ("ordonez", "ordonez_adl"),
        DEFAULT_FLAGS,
        ["--task", "security", "--inject", "20", "--seed", "7"],
    ),
    "routine_ordonez_a": (
        ("ordonez", "ordonez_adl"),
        DEFAULT_FLAGS,
        ["--task", "routine", "--inject", "20", "--seed", "7"],
    ),
    "energy_appliances": (
        ("appliances", "appliances_energy"),
        DEFAULT_FLAGS,
        ["--task", "energy", "--inject", "12", "--seed", "1"],
    ),
    "energy_uci_household": (
        ("uci_household", "@repo/uci_household_power"),
        DEFAULT_FLAGS,
        ["--task", "energy", "--inject", "12", "--seed", "1"],
    ),
    "climate_sim_seed0": (
        ("ordonez", "ordonez_adl"),
        ("--ordonez-history", "--ordonez-home"),
        ["--task", "climate", "--seed", "0", "--write-history", "{build}/climate_sim"],
    ),
    "climate_sim_replay": (
        None,
        DEFAULT_FLAGS,
        [
            "--task",
            "climate",
            "--history",
            "{build}/climate_sim/history.csv",
            "--home",
            "{build}/climate_sim/home.json",
        ],
    ),
    "climate_open_smart_home": (
        ("open_smart_home", "open_smart_home"),
        DEFAULT_FLAGS,
        ["--task", "climate"],
    ),
    "nab": (
        None,
        DEFAULT_FLAGS,
        ["--task", "nab", "--data", "{data}/nab/data", "--labels", "{data}/nab/labels/combined_windows.json"],
    ),
    "virtual_occupancy": (
        None,
        DEFAULT_FLAGS,
        [
            "--task",
            "virtual_occupancy",
            "--train",
            "{data}/uci_occupancy/datatraining.txt",
            "--test",
            "{data}/uci_occupancy/datatest.txt",
        ],
    ),
}


def strip_timings(value: Any) -> Any:
    """The result without timing keys (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if not any(word in k for word in TIMING_WORDS)}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where two results differ, as readable paths."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual or key not in expected:
                out.append(f"{path}/{key}: only in {'golden' if key in expected else 'new'}")
            else:
                out.extend(differences(expected[key], actual[key], f"{path}/{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items, now {len(actual)}"]
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if math.isclose(expected, actual, rel_tol=REL_TOLERANCE, abs_tol=1e-12):
            return []
    elif expected == actual:
        return []
    return [f"{path}: golden {expected!r}, now {actual!r}"]


def _run(name: str, data: Path, build: Path) -> dict[str, Any]:
    conversion, (history_flag, home_flag), arguments = RUNS[name]
    if conversion is not None:
        converter, source = conversion
        folder = build / f"{converter}_{Path(source).name}"
        if not (folder / "home.json").exists():
            path = REPO_DATA / source.removeprefix("@repo/") if source.startswith("@repo/") else data / source
            CONVERTERS[converter](path, folder)
        arguments = [*arguments, history_flag, str(folder / "history.csv"), home_flag, str(folder / "home.json")]
    argv = [arg.replace("{data}", str(data)).replace("{build}", str(build)) for arg in arguments]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        evaluate.main(argv)
    # Scratch paths differ from run to run; the figures must not.
    result: dict[str, Any] = json.loads(out.getvalue().replace(str(build), "{build}"))
    return result


def main(argv: list[str] | None = None) -> int:
    """Write or check the golden files."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.golden")
    parser.add_argument("mode", choices=("write", "check"))
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    parser.add_argument("--only", nargs="*", default=list(RUNS), choices=list(RUNS))
    args = parser.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            print(f"golden: {name} ...", file=sys.stderr)
            result = strip_timings(_run(name, args.data, Path(tmp)))
            path = GOLDEN_DIR / f"{name}.json"
            if args.mode == "write":
                GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
                continue
            found = differences(
                json.loads(path.read_text(encoding="utf-8")), json.loads(json.dumps(result, default=float))
            )
            status = "same" if not found else f"{len(found)} differences"
            print(f"golden: {name}: {status}", file=sys.stderr)
            for line in found[:20]:
                print(f"  {line}", file=sys.stderr)
            failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
