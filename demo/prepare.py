"""Prepare a configuration folder for the demo home (idempotent).

    .venv/bin/python -m demo.prepare --config config

Links the SmartML integration and the demo home integration into the configuration's
custom_components, and copies the tracked configuration into another folder when one is
given (scripts/e2e runs a fresh copy). Marks the onboarding steps after the user as done, so the
demo adds no integration that needs the internet. Everything else (the recorder's history,
the demo user, SmartML itself) is done by Home Assistant and demo.configure once it runs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil

ROOT = Path(__file__).resolve().parent.parent
TRACKED = ROOT / "config"
LINKS = {
    "smartml": ROOT / "custom_components" / "smartml",
    "smartml_demo": ROOT / "demo" / "smartml_demo",
}


def _link(target: Path, link: Path) -> None:
    """Point `link` at `target` unless it already does."""
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(os.path.relpath(target, link.parent))


# Onboarding steps the demo skips: their defaults add integrations that go online (weather,
# text-to-speech, radio). The owner user is still created through onboarding by demo.configure.
ONBOARDING_SKIPPED = ["core_config", "analytics", "integration"]


def _skip_onboarding_extras(config: Path) -> None:
    path = config / ".storage" / "onboarding"
    if path.exists():
        return
    path.parent.mkdir(exist_ok=True)
    store = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": ONBOARDING_SKIPPED}}
    path.write_text(json.dumps(store, indent=2), encoding="utf-8")


def prepare(config: Path) -> None:
    """Make `config` ready for `python -m homeassistant -c config`."""
    config = config.resolve()
    config.mkdir(parents=True, exist_ok=True)
    if config != TRACKED.resolve():
        # A copy of the tracked demo configuration: the data and dashboards are linked.
        shutil.copyfile(TRACKED / "configuration.yaml", config / "configuration.yaml")
        for name in ("demo", "dashboards"):
            _link(TRACKED / name, config / name)
    custom = config / "custom_components"
    custom.mkdir(exist_ok=True)
    for name, target in LINKS.items():
        _link(target, custom / name)
    _skip_onboarding_extras(config)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m demo.prepare")
    parser.add_argument("--config", type=Path, default=TRACKED)
    args = parser.parse_args()
    prepare(args.config)


if __name__ == "__main__":
    main()
