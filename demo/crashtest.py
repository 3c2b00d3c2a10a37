"""Kill Home Assistant with SIGKILL at random moments and check what SmartML kept.

    .venv/bin/python -m demo.crashtest --config build/crash/config [--kills 12] [--seed 1]

The demo home (demo/) runs in a real Home Assistant process with SmartML set up through
its config flow. Each round does what a person does -- turns the learning switch or a
thermostat's auto-apply on or off, marks the latest anomaly as "It was me" when there is
one, asks for a refit -- then kills the process at a random moment: soon after the action
(while the store is being written), during a refit, or up to 20 seconds later. Home
Assistant is started again and the round checks:
- every choice made before the kill is still in force (switches, feedback);
- both store files are readable JSON, never half written;
- the observations after the restart (the store, then the recorder's history since the
  last save) are at least those before the kill.
The report (JSON on stdout; with --doc, docs/benchmarks/reliability.md) lists every kill.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import asdict, dataclass, field
import json
import os
from pathlib import Path
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parent.parent
URL = "http://localhost:8123"
LEARNING = "switch.smartml_learning"
AUTO_APPLY = "switch.thermostat_auto_apply"
STATUS = "sensor.smartml_learning_status"
OBSERVATIONS = "sensor.smartml_observations"
ANOMALY = "event.smartml_anomaly"
KITCHEN = "binary_sensor.kitchen_motion"
KINDS = ("after_a_choice", "during_a_refit", "later")


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(f"crashtest: {message}\n")
    sys.stderr.flush()


class Api:
    """Home Assistant's REST API with the demo user's token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """One request; the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the local demo's http URL
            URL + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - localhost
            text = response.read().decode()
        return json.loads(text) if text else None

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """An entity's state object, None while Home Assistant does not answer."""
        try:
            result: dict[str, Any] = self.call("GET", f"/api/states/{entity_id}")
        except (urllib.error.URLError, OSError, json.JSONDecodeError):
            return None
        return result

    def service(self, domain: str, service: str, data: dict[str, Any], timeout: float = 30.0) -> None:
        """Call a service and wait for it."""
        self.call("POST", f"/api/services/{domain}/{service}", data, timeout=timeout)


@dataclass(slots=True)
class Kill:
    """One kill and what survived it."""

    round: int
    kind: str
    seconds_before_kill: float
    learning_set: bool
    auto_apply_set: bool
    feedback_ids: list[str]
    learning_kept: bool = False
    auto_apply_kept: bool = False
    feedback_kept: bool = False
    stores_readable: bool = False
    store_kb: dict[str, int] = field(default_factory=dict)
    observations_before: int = 0
    observations_after: int = 0
    restored: dict[str, Any] | None = None
    restart_seconds: float = 0.0

    @property
    def survived(self) -> bool:
        """Whether everything a person did and every observation came back."""
        return (
            self.learning_kept
            and self.auto_apply_kept
            and self.feedback_kept
            and self.stores_readable
            and self.observations_after >= self.observations_before
        )


class Demo:
    """The demo's Home Assistant process, started and killed."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = config.parent / "homeassistant.log"

    def start(self) -> None:
        """Start Home Assistant in its own process group."""
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, str(ROOT / "demo" / "run.py"), "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL Home Assistant: no shutdown, no final write."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Stop Home Assistant cleanly."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


def wait_ready(api: Api, timeout: float = 600.0) -> float:
    """Seconds until SmartML's entities answer (Home Assistant up, entry set up)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status = api.state(STATUS)
        learning = api.state(LEARNING)
        if status and learning and status["state"] not in ("unavailable", "unknown"):
            return time.monotonic() - started
        time.sleep(1.0)
    raise SystemExit("crashtest: SmartML did not come up in time")


def store_files(config: Path) -> list[Path]:
    """SmartML's store files (the main file and the observations file)."""
    return sorted(p for p in (config / ".storage").glob("smartml.*") if ".corrupt-" not in p.name)


def readable(paths: list[Path]) -> tuple[bool, dict[str, int]]:
    """Whether every file is complete JSON of a store, and each one's size in kB."""
    sizes: dict[str, int] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return False, sizes
        if not isinstance(data, dict) or "data" not in data:
            return False, sizes
        sizes["observations" if path.name.endswith(".observations") else "main"] = round(path.stat().st_size / 1024)
    return bool(paths), sizes


def observations(api: Api) -> int:
    """How many observations SmartML holds, by its diagnostic sensor."""
    state = api.state(OBSERVATIONS)
    try:
        return int(float(state["state"])) if state else 0
    except ValueError:
        return 0


def set_switch(api: Api, entity_id: str, on: bool) -> None:
    """Turn a switch on or off."""
    api.service("switch", "turn_on" if on else "turn_off", {"entity_id": entity_id})


def give_feedback(api: Api) -> list[str]:
    """Mark the latest anomaly "It was me", if the demo has raised one; its id."""
    anomaly = api.state(ANOMALY)
    anomaly_id = (anomaly or {}).get("attributes", {}).get("id")
    if not anomaly_id:
        return []
    try:
        api.service("smartml", "report_false_alarm", {"event_id": anomaly_id})
    except urllib.error.HTTPError:
        return []
    return [str(anomaly_id)]


def feedback_in_store(config: Path) -> set[str]:
    """The ids of the feedback in the main store file."""
    for path in store_files(config):
        if not path.name.endswith(".observations"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))["data"]
            except (OSError, json.JSONDecodeError, KeyError):
                return set()
            return {str(item.get("id")) for item in data.get("feedback", [])}
    return set()


def one_round(demo: Demo, api: Api, number: int, rng: random.Random, last: Kill | None) -> Kill:
    """Act, kill, restart, check."""
    kind = KINDS[number % len(KINDS)]
    learning = not (last.learning_set if last else True)
    auto_apply = not (last.auto_apply_set if last else False)
    set_switch(api, LEARNING, learning)
    set_switch(api, AUTO_APPLY, auto_apply)
    feedback = give_feedback(api)
    if learning:
        # Something happens in the home just before the kill, besides what the demo plays.
        for state in ("on", "off"):
            api.call("POST", f"/api/states/{KITCHEN}", {"state": state, "attributes": {"device_class": "motion"}})
        time.sleep(0.3)
    before = observations(api)
    acted = time.monotonic()
    if kind == "after_a_choice":
        time.sleep(rng.uniform(0.0, 1.0))
    elif kind == "during_a_refit":
        threading.Thread(target=lambda: _quietly(api.service, "smartml", "retrain", {}, 120.0), daemon=True).start()
        time.sleep(rng.uniform(0.2, 2.0))
    else:
        time.sleep(rng.uniform(2.0, 20.0))
    waited = round(time.monotonic() - acted, 2)
    demo.kill()
    ok, sizes = readable(store_files(demo.config))
    kill = Kill(number, kind, waited, learning, auto_apply, feedback, stores_readable=ok, store_kb=sizes)
    kill.observations_before = before
    demo.start()
    kill.restart_seconds = round(wait_ready(api), 1)
    kill.learning_kept = (api.state(LEARNING) or {}).get("state") == ("on" if learning else "off")
    kill.auto_apply_kept = (api.state(AUTO_APPLY) or {}).get("state") == ("on" if auto_apply else "off")
    kill.feedback_kept = set(feedback) <= feedback_in_store(demo.config)
    kill.observations_after = observations(api)
    kill.restored = ((api.state(STATUS) or {}).get("attributes") or {}).get("restored")
    log(
        f"kill {number} ({kind}, {waited} s after acting): switch {kill.learning_kept}, "
        f"auto-apply {kill.auto_apply_kept}, feedback {kill.feedback_kept}, readable {ok}, "
        f"observations {before} -> {kill.observations_after}"
    )
    return kill


def _quietly(func: Any, *args: Any) -> None:
    with contextlib.suppress(urllib.error.URLError, OSError):  # the process was killed under it
        func(*args)


def prepare(config: Path, fresh: bool) -> None:
    """The demo home's configuration in `config` (a fresh copy unless reused)."""
    if fresh and config.exists():
        shutil.rmtree(config)
    config.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "demo.prepare", "--config", str(config)], check=True, cwd=ROOT)  # noqa: S603


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the demo, kill it `args.kills` times, and report every round."""
    config = Path(args.config).resolve()
    prepare(config, fresh=not args.reuse)
    demo = Demo(config)
    demo.start()
    try:
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "demo.configure", "--config", str(config)], check=True, cwd=ROOT
        )
        api = Api((config / ".demo_token").read_text(encoding="utf-8").strip())
        wait_ready(api)
        # Home Assistant writes its own files (the config entries among them) a few seconds
        # after a change: one clean restart puts the demo's set-up on disk before any kill.
        demo.stop()
        demo.start()
        wait_ready(api)
        rng = random.Random(args.seed)  # noqa: S311 - moments to kill at, not secrets
        kills: list[Kill] = []
        for number in range(1, args.kills + 1):
            kills.append(one_round(demo, api, number, rng, kills[-1] if kills else None))
    finally:
        demo.stop()
    lost = [max(0, k.observations_before - k.observations_after) for k in kills]
    # A lost observation came at most this long before the kill (the home's last events).
    lost_seconds = [k.seconds_before_kill for k, n in zip(kills, lost, strict=True) if n]
    return {
        "task": "crashtest",
        "kills": len(kills),
        "survived": sum(k.survived for k in kills),
        "choices_kept": sum(k.learning_kept and k.auto_apply_kept and k.feedback_kept for k in kills),
        "stores_readable": sum(k.stores_readable for k in kills),
        "worst_observations_lost": max(lost, default=0),
        "worst_loss_minutes": round(max(lost_seconds, default=0.0) / 60.0, 2),
        "rounds": [{**asdict(k), "survived": k.survived} for k in kills],
    }


def write_doc(report: dict[str, Any], command: str) -> None:
    """docs/benchmarks/reliability.md from a report."""
    rows = [
        f"| {r['round']} | {r['kind'].replace('_', ' ')} | {r['seconds_before_kill']} | "
        f"{'yes' if r['learning_kept'] and r['auto_apply_kept'] else 'no'} | "
        f"{'yes' if r['feedback_kept'] else 'no'}{'' if r['feedback_ids'] else ' (none given)'} | "
        f"{'yes' if r['stores_readable'] else '**no**'} | {r['observations_before']} → {r['observations_after']} | "
        f"{(r['restored'] or {}).get('gap_minutes', '-')} | {(r['restored'] or {}).get('from_recorder', '-')} | "
        f"{r['restart_seconds']} |"
        for r in report["rounds"]
    ]
    sizes: dict[str, int] = next((r["store_kb"] for r in reversed(report["rounds"]) if r["store_kb"]), {})
    text = f"""# Reliability: killed at random moments

Measured by `{command}` on the demo home (a real Home Assistant process, SmartML set up
through its config flow, the demo's data played in real time). Each round turns the
learning switch and a thermostat's auto-apply over, marks the latest anomaly "It was me"
when there is one, then kills Home Assistant with SIGKILL: within a second of acting (while
the store is written), during a refit started just before, or 2-20 s later. It then starts
Home Assistant again and checks what is in force.

**{report["survived"]} of {report["kills"]} kills** left everything in place: choices kept after
{report["choices_kept"]} kills, both store files complete JSON after {report["stores_readable"]};
{_loss(report)} (the observations after the restart, from the store and then the recorder's
history since its last save, against those before the kill). While learning is on, each
round also sets the kitchen motion on and off just before the kill; the recorder commits
every few seconds, so a kill right after may take those with it, in Home Assistant's
history as in SmartML.

| kill | moment | s after acting | switches kept | feedback kept | store readable | observations before → after \
| minutes since the observations file | refilled from the recorder | restart s |
| ---: | --- | ---: | --- | --- | --- | --- | ---: | ---: | ---: |
{chr(10).join(rows)}

Store files after the last kill (kB): {json.dumps(sizes)}. What a person does is written at
once (a few kB, atomically: a new file synced and renamed over the old, so a kill leaves
either the old file or the new one); the observations file every 12 hours, the recorder's
history filling the time since at each start. {_store_figures()}
"""
    (ROOT / "docs" / "benchmarks" / "reliability.md").write_text(text, encoding="utf-8")


def _loss(report: dict[str, Any]) -> str:
    if not report["worst_observations_lost"]:
        return "no observation was lost"
    return (
        f"worst loss {report['worst_observations_lost']} observations, all from the last "
        f"{report['worst_loss_minutes']} minutes before the kill"
    )


def _store_figures() -> str:
    """The store's sizes and write times at 200 entities x 28 days, from scripts/bench's last run."""
    text = (ROOT / "docs" / "benchmarks" / "performance.md").read_text(encoding="utf-8")
    raw = text.rsplit("```json", 1)[-1].split("```", 1)[0]
    try:
        home = json.loads(raw)["home"]["200"]
    except (json.JSONDecodeError, KeyError):
        return "Sizes and write times at 200 entities x 28 days: [performance.md](performance.md)."
    return (
        f"At 200 entities x 28 days ([performance.md](performance.md), `scripts/bench`) the main "
        f"file is {home['store_main_kb']} kB, written in {home['save_s_main']} s, and the observations "
        f"file {home['store_observations_mb']} MB, written in {home['save_s_observations']} s (worst "
        f"event-loop stall meanwhile {home['stall_ms_beyond_gc_save']} ms): "
        f"{home['store_mb_written_per_day']} MB written a day at most."
    )


def main() -> None:
    """Parse the arguments, run, report; exit 1 when anything was lost."""
    parser = argparse.ArgumentParser(prog="scripts/crashtest")
    parser.add_argument("--config", default=str(ROOT / "build" / "crash" / "config"))
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the configuration of the last run")
    parser.add_argument("--doc", action="store_true", help="write docs/benchmarks/reliability.md")
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report, indent=1))  # noqa: T201
    if args.doc:
        write_doc(report, " ".join(["scripts/crashtest", *sys.argv[1:]]))
    if report["choices_kept"] < report["kills"] or report["stores_readable"] < report["kills"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
