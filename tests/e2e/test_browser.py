"""The demo home in a real browser: log in, add SmartML in Devices & services, see its dashboard."""

from __future__ import annotations

from pathlib import Path
import re
import time
from typing import Any

import pytest

from .conftest import DemoApi

pytestmark = pytest.mark.e2e

COUNT_WITH_VALUES = "{{ integration_entities('smartml') | select('has_value') | list | count }}"


def _shot(page: Any, screenshots: Path | None, name: str, **kwargs: Any) -> None:
    if screenshots is not None:
        page.screenshot(path=str(screenshots / name), **kwargs)


def _smartml_entries(api: DemoApi) -> list[dict[str, Any]]:
    return list(api.call("GET", "/api/config/config_entries/entry?domain=smartml"))


def _add_smartml_in_the_ui(page: Any, screenshots: Path | None) -> None:
    """Settings → Devices & services → Add integration → SmartML, then submit its form."""
    page.get_by_role("button", name="Add integration").click()
    picker = page.locator("dialog-add-integration")
    picker.get_by_role("textbox", name="Search for a brand name").fill("SmartML")
    picker.get_by_text(re.compile(r"^\s*SmartML\s*(\(.*\))?\s*$")).click()
    # A helper-type integration is confirmed first, then its config flow opens.
    confirm = page.get_by_role("button", name="OK")
    flow = page.locator("dialog-data-entry-flow")
    confirm.or_(flow.get_by_text("Set up SmartML").first).first.wait_for()
    if confirm.is_visible():
        confirm.click()
    flow.get_by_text("Set up SmartML").first.wait_for()
    # The form proposes the motion/occupancy sensors with their areas and the household's people.
    flow.get_by_text("Bathroom motion").first.wait_for()
    flow.get_by_text("Resident").first.wait_for()
    page.wait_for_timeout(1000)
    _shot(page, screenshots, "config_flow.png")
    flow.get_by_role("button", name="Submit").click()
    finish = flow.get_by_role("button", name="Finish")
    finish.wait_for()
    page.wait_for_timeout(500)
    _shot(page, screenshots, "config_flow_done.png")
    finish.click()


def test_smartml_is_set_up_in_devices_and_services(
    page: Any, api: DemoApi, base_url: str, screenshots: Path | None
) -> None:
    page.goto(f"{base_url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").wait_for()
    if not _smartml_entries(api):
        _add_smartml_in_the_ui(page, screenshots)
    assert len(_smartml_entries(api)) == 1

    page.goto(f"{base_url}/config/integrations/integration/smartml")
    page.get_by_text(re.compile(r"\d+ entities")).first.wait_for()
    page.wait_for_timeout(1000)
    _shot(page, screenshots, "integration.png")

    # SmartML learns from the recorder's history of the demo home: its entities have values soon.
    deadline = time.monotonic() + 120
    while int(api.template(COUNT_WITH_VALUES)) <= 3:
        assert time.monotonic() < deadline, "SmartML's entities have no values after 2 minutes"
        time.sleep(2)


def _goto(page: Any, url: str) -> None:
    """Open a page; the frontend may still be settling the previous one's address, then again."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            page.goto(url)
        except PlaywrightError as err:
            if "interrupted by another navigation" not in str(err) or attempt == 2:
                raise
            page.wait_for_load_state()
        else:
            return


def test_smartml_dashboard_renders(page: Any, api: DemoApi, base_url: str, screenshots: Path | None) -> None:
    page.goto(f"{base_url}/smartml-demo/smartml")
    view = page.locator("hui-view")
    view.get_by_text("SmartML in the demo home").wait_for()
    view.get_by_text("Learning status").wait_for()
    view.get_by_text("Observations").first.wait_for()
    # Every card rendered: no error card (a missing entity or a bad card config would make one).
    assert page.locator("hui-error-card").count() == 0
    assert page.locator("hui-warning").count() == 0
    assert page.get_by_text("Entity not found").count() == 0
    page.wait_for_timeout(2000)
    _shot(page, screenshots, "dashboard.png", full_page=True)

    _goto(page, f"{base_url}/smartml-demo/home")
    page.locator("hui-view").get_by_text("Rooms", exact=True).wait_for()
    assert page.locator("hui-error-card").count() == 0
    page.wait_for_timeout(2000)
    _shot(page, screenshots, "demo_home.png", full_page=True)
