"""Finish the demo once Home Assistant answers (idempotent), through its public APIs.

    .venv/bin/python -m demo.configure --config config [--url http://localhost:8123] [--no-smartml]

1. Onboarding as a new owner would do it: the demo user, core config, analytics, integrations.
2. A long-lived access token for that user in <config>/.demo_token (for scripts and tests).
3. Waits until the recorder holds the demo home's history.
4. Adds SmartML through its real config flow, learning from the demo home's entities.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
import os
from pathlib import Path
import sys
from typing import Any

import aiohttp

USERNAME = "demo"
PASSWORD = "demo-smartml"  # noqa: S105 - the documented demo login
NAME = "Demo"
TOKEN_FILE = ".demo_token"  # noqa: S105 - a file name
# What the demo home gives SmartML to learn from (demo/smartml_demo/home.py).
SMARTML_INPUT: dict[str, Any] = {
    "occupancy": [
        "binary_sensor.bathroom_motion",
        "binary_sensor.bedroom_occupancy",
        "binary_sensor.kitchen_motion",
        "binary_sensor.living_room_occupancy",
    ],
    "presence": ["person.resident"],
    "power": ["sensor.house_power"],
    "energy": ["sensor.house_energy"],
    "climate": ["climate.thermostat"],
    "security": ["binary_sensor.front_door"],
    "outdoor_temperature": "sensor.outdoor_temperature",
    "history_days": 28,
    "sensitivity": "medium",
    "energy_anomalies": True,
}


def log(message: str) -> None:
    """Progress for the person starting the demo."""
    sys.stderr.write(f"demo: {message}\n")


class Demo:
    """A client of the demo's Home Assistant."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API as the logged-in user; JSON or text back, an error on failure."""
        async with self.session.request(method, self.url + path, headers=self._headers(), **kwargs) as response:
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
            return await response.json() if response.content_type == "application/json" else await response.text()

    async def wait_until_up(self, timeout: float) -> None:
        """Until Home Assistant's HTTP server answers."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                async with self.session.get(f"{self.url}/api/onboarding") as response:
                    if response.status in (200, 401, 404):
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"Home Assistant did not answer at {self.url}")
            await asyncio.sleep(1)

    async def _exchange(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        tokens = await self.request("POST", "/auth/token", data=data)
        self.token = tokens["access_token"]

    async def login(self) -> None:
        """Log in as the demo user through the login flow the frontend uses."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json={"client_id": self.client_id, "handler": ["homeassistant", None], "redirect_uri": self.client_id},
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"login as {USERNAME} failed: {result}")
        await self._exchange(result["result"])

    async def onboard(self) -> None:
        """Walk through onboarding, creating the demo user as the owner."""
        steps = {step["step"]: step["done"] for step in await self.request("GET", "/api/onboarding")}
        if not steps.get("user", True):
            created = await self.request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": NAME,
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            await self._exchange(created["auth_code"])
            log(f"created the owner user {USERNAME!r}")
        else:
            await self.login()
        if not steps.get("core_config", True):
            await self.request("POST", "/api/onboarding/core_config")
        if not steps.get("analytics", True):
            await self.request("POST", "/api/onboarding/analytics")
        if not steps.get("integration", True):
            body = {"client_id": self.client_id, "redirect_uri": self.client_id}
            await self.request("POST", "/api/onboarding/integration", json=body)

    async def long_lived_token(self) -> str:
        """A token valid for ten years, created over the websocket API like the profile page does."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise RuntimeError("websocket authentication failed")
            await ws.send_json(
                {"id": 1, "type": "auth/long_lived_access_token", "client_name": "SmartML demo", "lifespan": 3650}
            )
            reply = await ws.receive_json()
            if not reply.get("success"):
                raise RuntimeError(f"no long-lived token: {reply}")
            return str(reply["result"])

    async def token_works(self, token: str) -> bool:
        """Whether a saved token is still accepted (the config folder may be new)."""
        async with self.session.get(f"{self.url}/api/", headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status == 200

    async def wait_for_history(self, timeout: float) -> None:
        """Until the recorder returns the demo home's last day (a reading every 10 min)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            start = (datetime.now(UTC) - timedelta(days=1)).isoformat()
            params = {"filter_entity_id": "sensor.house_power", "minimal_response": "", "no_attributes": ""}
            history = await self.request("GET", f"/api/history/period/{start}", params=params)
            if history and len(history[0]) > 24:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the demo home's history did not reach the recorder")
            await asyncio.sleep(1)

    async def add_smartml(self) -> None:
        """Add SmartML through its config flow unless it is there already."""
        entries = await self.request("GET", "/api/config/config_entries/entry", params={"domain": "smartml"})
        if entries:
            log("SmartML is already configured")
            return
        form = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": "smartml", "show_advanced_options": False}
        )
        if form.get("type") != "form":
            raise RuntimeError(f"SmartML config flow did not show its form: {form}")
        result = await self.request("POST", f"/api/config/config_entries/flow/{form['flow_id']}", json=SMARTML_INPUT)
        if result.get("type") != "create_entry":
            raise RuntimeError(f"SmartML config flow did not create an entry: {result}")
        log("SmartML is configured")


async def configure(config: Path, url: str, *, smartml: bool, timeout: float) -> None:
    """Onboard, save a token, wait for the history and add SmartML (each only if needed)."""
    token_path = config / TOKEN_FILE
    async with aiohttp.ClientSession() as session:
        demo = Demo(session, url)
        await demo.wait_until_up(timeout)
        saved = token_path.read_text(encoding="utf-8").strip() if token_path.exists() else ""
        if saved and await demo.token_works(saved):
            demo.token = saved
        else:
            await demo.onboard()
            demo.token = await demo.long_lived_token()
            token_path.write_text(demo.token + "\n", encoding="utf-8")
            os.chmod(token_path, 0o600)
            log(f"wrote a long-lived access token to {token_path}")
        await demo.wait_for_history(timeout)
        if smartml:
            await demo.add_smartml()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m demo.configure")
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parent.parent / "config")
    parser.add_argument("--url", default="http://localhost:8123")
    parser.add_argument("--no-smartml", dest="smartml", action="store_false", help="leave SmartML to be added by hand")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    asyncio.run(configure(args.config, args.url, smartml=args.smartml, timeout=args.timeout))


if __name__ == "__main__":
    main()
