"""``firewarden console``: the operators', inspectors' and admins' pages and the HTTP API.

Stateless over the database: run as many as you like behind a load balancer (sessions and tokens are
rows). People's actions are :class:`alerts.actions.Actions`: database transactions whose feedback goes
to scoring on the bus and whose deliveries the alerts processes send. The pages' live updates come
from PostgreSQL's LISTEN/NOTIFY, whichever process made the change. Health and metrics on
``metrics_port``; ``/api/health`` on the API port answers too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn

from alerts import Actions, directory_of
from console import build_console, create_app
from core.addresses import MqttUrl
from core.bus import open_bus
from core.db import open_pool
from core.errors import SettingsError
from core.policy import Policy, load_policy
from core.services import database_url
from core.settings import Settings
from firewarden.processes.runtime import Health, require_kafka, require_migrated, stop_on_signals
from supervision import load_discretion

log = logging.getLogger(__name__)


class ApiServer(uvicorn.Server):
    """uvicorn inside our event loop: the process's signal handlers stay ours."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_console(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT."""
    require_kafka(settings, "console")
    if not settings.api_port:
        raise SettingsError("`firewarden console` serves on FIREWARDEN_API_PORT, which is 0 (off)")
    policy = load_policy(settings.policy_file)
    with database_url(settings) as db_url:
        require_migrated(db_url)
        asyncio.run(_serve(settings, db_url, policy))


class ConsoleServer:
    """The console's API server and live feed on one event loop, started and stopped together."""

    def __init__(
        self, settings: Settings, db_url: str, policy: Policy, actions: Actions, broker: MqttUrl | None = None
    ) -> None:
        """``broker``: where commands to UITDs go (the settings' ``mqtt_url`` when None)."""
        self.console = build_console(
            actions,
            policy,
            db_url,
            settings.console_session_hours,
            broker=broker or settings.mqtt_url,
            centre_address=bytes.fromhex(settings.gb26875_centre_address),
            tile_url=settings.console_tile_url,
            discretion=load_discretion(settings.discretion_file),
        )
        config = uvicorn.Config(
            create_app(self.console), host=settings.api_host, port=settings.api_port, log_level="warning",
            timeout_graceful_shutdown=5,
        )  # fmt: skip
        self.server = ApiServer(config)
        self.url = f"http://{settings.api_host}:{settings.api_port}"
        self._live_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.console.changes.run(self._live_stop), name="console-live"),
            asyncio.create_task(self.server.serve(), name="console-api"),
        ]

    @property
    def serving(self) -> bool:
        return bool(self.server.started)

    @property
    def failed(self) -> bool:
        return any(task.done() for task in self._tasks)

    async def stop(self) -> None:
        """End the browsers' event streams (so the server can stop), then the server."""
        self._live_stop.set()
        live, api = self._tasks
        await asyncio.gather(live, return_exceptions=True)
        self.server.should_exit = True
        await api


async def _serve(settings: Settings, db_url: str, policy: Policy) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop, "the console")
    with open_pool(db_url, min_size=2, max_size=max(4, settings.db_pool_max_size)) as pool:
        async with open_bus(settings, client_id="firewarden-console") as bus:
            server = ConsoleServer(settings, db_url, policy, Actions(pool, policy, directory_of(settings), bus))
            health = Health("console")
            health.ready = lambda: server.serving
            async with health.serving(settings.metrics_port, stop):
                server.start()
                log.info("console at %s (API reference at %s/docs)", server.url, server.url)
                try:
                    while not stop.is_set() and not server.failed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), 0.5)
                finally:
                    await server.stop()
