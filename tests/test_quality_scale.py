"""The Integration Quality Scale tier in the manifest is earned: every rule up to it is done or exempt."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parent.parent / "custom_components" / "smartml"
# The rules of each tier, as Home Assistant's developer documentation lists them (2026).
TIERS = {
    "bronze": (
        "action-setup appropriate-polling brands common-modules config-flow-test-coverage config-flow "
        "dependency-transparency docs-actions docs-triggers docs-conditions docs-high-level-description "
        "docs-installation-instructions docs-removal-instructions entity-event-setup entity-unique-id "
        "has-entity-name runtime-data test-before-configure test-before-setup unique-config-entry"
    ),
    "silver": (
        "action-exceptions config-entry-unloading docs-configuration-parameters docs-installation-parameters "
        "entity-unavailable integration-owner log-when-unavailable parallel-updates reauthentication-flow "
        "test-coverage"
    ),
    "gold": (
        "devices diagnostics discovery-update-info discovery docs-data-update docs-examples docs-known-limitations "
        "docs-supported-devices docs-supported-functions docs-troubleshooting docs-use-cases dynamic-devices "
        "entity-category entity-device-class entity-disabled-by-default entity-translations exception-translations "
        "icon-translations reconfiguration-flow repair-issues stale-devices"
    ),
    "platinum": "async-dependency inject-websession strict-typing",
}
ORDER = list(TIERS)


def test_every_rule_up_to_the_claimed_tier_is_done_or_exempt_with_a_reason() -> None:
    claimed = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))["quality_scale"]
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    assert claimed == "gold"
    for tier in ORDER[: ORDER.index(claimed) + 1]:
        for rule in TIERS[tier].split():
            status = rules.get(rule)
            if isinstance(status, dict):
                assert status["status"] in ("done", "exempt"), rule
                assert status["status"] == "done" or len(status.get("comment", "")) > 20, rule
            else:
                assert status == "done", f"{tier} rule {rule}: {status}"
