"""scripts/evaluate: run one evaluation task and print its JSON result on stdout.

Each task lives in `evaluation/<task>.py` and exposes `run(argv) -> dict` returning
`{"task": ..., "results": {...}, "info": {...}}`; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

TASKS = ("observations", "occupancy", "virtual_occupancy", "security", "nab", "energy", "climate", "routine")


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the task named by --task (default: observations)."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate", add_help=False)
    parser.add_argument("--task", default="observations", choices=TASKS)
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(f"evaluation.{args.task}")
    result = module.run(rest)
    json.dump(result, sys.stdout, indent=2, sort_keys=False, default=float)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
