"""The console served for real: uvicorn on a free port in a thread of its own, over real PostgreSQL,
with the alerts service on the local bus, so a test can publish scoring's decisions and watch them
reach the API, the live stream and the browser."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from psycopg_pool import ConnectionPool

from alerts.actions import Actions
from alerts.outbox import Directory
from alerts.service import Alerts
from console.api import build_console, create_app
from console.security import Console
from core.addresses import MqttUrl
from core.bus import BusMessage, LocalBus
from core.db import open_pool
from core.policy import Policy
from core.registry import Device, Inspector, Jurisdiction, Premises, RegistryFile, Unit
from firewarden.processes.console import ApiServer as _ApiServer
from scoring.records import DECISIONS_TOPIC, Decision, encode_decision
from tests.alerts.conftest import load, small_registry
from tests.ports import free_port
from tests.shots import SHOTS

PASSWORD = "correct horse battery"
USERS = {
    "op": ("operator", None),
    "adm": ("admin", None),
    "insp": ("inspector", "I-GRID2"),  # J-GRID: premises P and Q, P's regular inspector
    "other": ("inspector", "I-OTHER"),  # J-OTHER: premises R
}


def city_registry() -> RegistryFile:
    """alerts' small registry (city > station > grid with P and Q) plus a second district with R."""
    base = small_registry()
    other = Premises(
        id="R", name="Market R", category="market", address="R Street", jurisdiction="J-OTHER",
        latitude=31.2, longitude=121.5, unit=Unit(name="Unit R", contact="manager"),
    )  # fmt: skip
    return base.model_copy(
        update={
            "jurisdictions": [
                *base.jurisdictions,
                Jurisdiction(id="J-OTHER", name="other", kind="fire_station", parent="J-CITY"),
            ],
            "inspectors": [*base.inspectors, Inspector(id="I-OTHER", name="other", jurisdiction="J-OTHER")],
            "premises": [*base.premises, other],
            "devices": [*base.devices, Device(id="RC", premises="R", type="electrical_monitor", location="board")],
        }
    )


class Served:
    """The console and the alerts service behind it, running until :meth:`stop`."""

    def __init__(self, database_url: str, policy: Policy, broker: MqttUrl | None = None) -> None:
        self.database_url = database_url
        self.policy = policy
        self.broker = broker
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.console: Console | None = None
        self._failed: list[BaseException] = []
        self.clients: list[httpx.Client] = []
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)

    def start(self) -> Served:
        self._thread.start()
        if not self.ready.wait(30) or self._failed:
            raise RuntimeError(f"the console did not start: {self._failed}")
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread by start() or stop()
            self._failed.append(exc)
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        with open_pool(self.database_url, max_size=8) as pool:
            self.bus = LocalBus()
            quick = self.policy.model_copy(update={"alerts": self.policy.alerts.model_copy(update={"tick_s": 0.2})})
            alerts = Alerts(pool, quick, Directory(email=False), {}, self.bus)
            actions = Actions(pool, self.policy, Directory(email=False), self.bus, on_queued=alerts.dispatcher.notify)
            self.console = build_console(actions, self.policy, self.database_url, broker=self.broker)
            server = _ApiServer(uvicorn.Config(create_app(self.console), host="127.0.0.1", port=self.port,
                                               log_level="warning", timeout_graceful_shutdown=2))  # fmt: skip
            live_stop, alerts_stop = asyncio.Event(), asyncio.Event()
            tasks = [
                asyncio.create_task(alerts.run(alerts_stop)),
                asyncio.create_task(self.console.changes.run(live_stop)),
                asyncio.create_task(server.serve()),
            ]
            while not server.started or not self.console.changes.listening.is_set():
                await asyncio.sleep(0.02)
            self.ready.set()
            await self._stop.wait()
            alerts_stop.set()
            live_stop.set()
            await asyncio.gather(tasks[0], tasks[1])
            server.should_exit = True
            await tasks[2]

    def publish(self, decisions: Sequence[Decision]) -> None:
        """Hand decisions to the alerts service as scoring would."""
        assert self.loop is not None
        messages = [BusMessage(DECISIONS_TOPIC, d.premises_id.encode(), encode_decision(d)) for d in decisions]
        asyncio.run_coroutine_threadsafe(self.bus.publish(messages), self.loop).result(10)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._failed:
            raise self._failed[0]


def add_users(database_url: str) -> None:
    from console.store.accounts import Accounts

    with open_pool(database_url, max_size=2) as pool:
        accounts = Accounts(pool)
        for user, (role, inspector) in USERS.items():
            accounts.add_user(user, user.title(), role, datetime.now(UTC), password=PASSWORD, inspector_id=inspector)


@pytest.fixture
def served(migrated_url: str) -> Iterator[Served]:
    load(migrated_url, city_registry())
    add_users(migrated_url)
    console = Served(migrated_url, Policy()).start()
    try:
        yield console
    finally:
        console.stop()


@pytest.fixture
def pool(migrated_url: str) -> Iterator[ConnectionPool]:
    with open_pool(migrated_url, max_size=2) as opened:
        yield opened


def login(served: Served, user: str, password: str = PASSWORD) -> httpx.Client:
    """A client holding ``user``'s session cookie."""
    client = httpx.Client(base_url=served.url, timeout=10)
    served.clients.append(client)
    answer = client.post("/api/auth/login", json={"user": user, "password": password})
    assert answer.status_code == 200, answer.text
    return client


def as_json(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, f"{answer.status_code}: {answer.text}"
    return answer.json()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless on a machine with no network beyond loopback: no sandbox (CI runs as root), no GPU,
# none of Chromium's own background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


@pytest.fixture
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
