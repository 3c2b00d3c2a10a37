"""Fixtures of the browser tests: the running demo, its API token and a logged-in page.

scripts/e2e starts the demo and sets SMARTML_E2E_CONFIG; SMARTML_E2E_URL defaults to
http://localhost:8123. Debian's chromium is driven by playwright (never downloaded).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
from typing import Any
import urllib.request

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME = "demo"
PASSWORD = "demo-smartml"


class DemoApi:
    """The demo's REST API with the demo user's long-lived token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def template(self, template: str) -> str:
        return str(self.call("POST", "/api/template", {"template": template})).strip()


@pytest.fixture(scope="session")
def base_url() -> str:
    return os.environ.get("SMARTML_E2E_URL", "http://localhost:8123").rstrip("/")


@pytest.fixture(scope="session")
def api(base_url: str) -> DemoApi:
    config = Path(os.environ.get("SMARTML_E2E_CONFIG", ROOT / "config"))
    token_file = config / ".demo_token"
    if not token_file.exists():
        pytest.fail(f"{token_file} is missing: start the demo with scripts/e2e or scripts/develop")
    return DemoApi(base_url, token_file.read_text(encoding="utf-8").strip())


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """Where to save screenshots for the docs (SMARTML_SCREENSHOTS), or None."""
    folder = os.environ.get("SMARTML_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) if Path(folder).is_absolute() else ROOT / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/e2e installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page logged in as the demo user through Home Assistant's login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base_url}/", wait_until="domcontentloaded")
    page.wait_for_url("**/auth/authorize**")
    page.locator("input[name=username]").fill(USERNAME)
    page.locator("input[name=password]").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/" not in url)
    page.locator("home-assistant-main").wait_for(state="attached")
    yield page
    context.close()
