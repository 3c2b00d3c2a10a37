"""A deprecated use reported by Home Assistant fails the suite (it is how newer releases warn)."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
import pytest

from .conftest import deprecation_reports

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "smartml"


async def test_a_deprecation_report_about_smartml_is_caught(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    # Code that runs as part of the integration (its frame's file is in the package) uses
    # something Home Assistant has deprecated.
    code = compile('report_usage("uses a deprecated helper")', str(INTEGRATION / "provoked.py"), "exec")
    exec(code, {"report_usage": frame.report_usage})
    reports = deprecation_reports(caplog.records)
    assert reports and "uses a deprecated helper" in reports[0]
    # The autouse guard would fail this test for it; here it was provoked on purpose.
    caplog.clear()
