"""The manifest's requirements are exactly the packages the integration imports beyond Home Assistant."""

from __future__ import annotations

import ast
import importlib.metadata
import json
from pathlib import Path
import re
import sys

PACKAGE = Path(__file__).resolve().parent.parent / "custom_components" / "smartml"


def _imported_top_level_modules() -> set[str]:
    """Every absolute module the package imports, at its top or lazily inside functions."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _distribution(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_requirements_are_what_the_integration_imports_beyond_home_assistant() -> None:
    provided = {_distribution(r) for r in importlib.metadata.requires("homeassistant") or []}
    by_module = importlib.metadata.packages_distributions()
    third_party = {
        _distribution(by_module[name][0])
        for name in _imported_top_level_modules()
        if name not in sys.stdlib_module_names and name not in ("homeassistant", "custom_components")
    }
    needed = third_party - provided - {"homeassistant"}
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    assert {_distribution(r) for r in manifest["requirements"]} == needed
    assert "scikit-learn" not in needed
