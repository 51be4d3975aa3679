"""``firewarden up`` and ``firewarden demo``: every stage in one process, started and stopped in order.

Up: the database (embedded when no URL is set) is migrated as its owner; then ingest, scoring,
alerts and the console run on one event loop, built from the same parts as their own processes
(:mod:`firewarden.processes`). On the local bus scoring is the in-process runner; on a Kafka bus it
is a faust worker started as a child process (more may be started elsewhere with ``firewarden score``).

Demo: the same with a :class:`Companion` riding along (:class:`firewarden.processes.demo.Demo`: a
city, its webhook inbox, a scenario's traffic and a live summary); ``up`` itself never imports the
simulators.

Ctrl-C (or SIGTERM) stops in data-flow order: the publisher, then ingest (which stores and
acknowledges what it received), then scoring, then alerts (which handles every decision it got),
then the console; embedded services stop last. A second Ctrl-C exits at once. Health and metrics (all
of ingest's and alerts') on ``metrics_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from rich.console import Console

from alerts import Actions, Alerts, AlertsCollector, channels_of, directory_of
from core.addresses import MqttUrl
from core.bus import open_bus
from core.db import APP_ROLE, can_alter_audit_log, connect, migrate, open_pool
from core.policy import Policy, load_policy
from core.services import database_url, mqtt_url, owner_database_url
from core.settings import Settings
from firewarden.processes.console import ConsoleServer
from firewarden.processes.runtime import Health, freeze_startup_heap
from firewarden.processes.scoring import local_runner, start_worker
from ingest import Ingest, IngestMetrics, IngestOptions, load_registry_index
from scoring import Models, models_for
from supervision import review_chore

log = logging.getLogger(__name__)

__all__ = ["Companion", "Parts", "run_up"]


@dataclass(frozen=True)
class Parts:
    """What a companion may use of a running ``up``."""

    settings: Settings
    broker: MqttUrl
    database_url: str
    pool: Any
    alerts: Alerts
    metrics: IngestMetrics
    server: ConsoleServer | None
    console: Console
    where: str


class Companion(Protocol):
    """Something that runs alongside the stages of ``up`` and stops first (the demo)."""

    def prepare(self, stack: ExitStack, settings: Settings, database_url: str) -> None:
        """Before any stage starts (the database is migrated); ``stack`` closes after they stop."""

    async def start(self, parts: Parts) -> None:
        """Once every stage runs."""

    async def watch(self, running: Callable[[], bool], stop: asyncio.Event, parts: Parts) -> None:
        """While ``running()``; return early when ``stop`` is set."""

    async def stop(self) -> None:
        """On the way out, before ingest stops."""


SWITCH_INTERVAL_S = 0.001


def run_up(settings: Settings, companion: Companion | None = None, console: Console | None = None) -> None:
    """Run every stage until SIGINT/SIGTERM; embedded PostgreSQL and broker when the settings name none."""
    console = console or Console(stderr=True)
    policy = load_policy(settings.policy_file)
    with (
        owner_database_url(settings) as owner_url,
        database_url(settings) as db_url,
        mqtt_url(settings) as broker,
        ExitStack() as stack,
    ):
        with connect(owner_url, autocommit=True) as conn:
            migrate(conn, settings.timescale)
        with connect(db_url, autocommit=True) as conn:
            if can_alter_audit_log(conn):
                log.warning(
                    "the processes connect as a role that owns the tables or is a superuser, so the audit log "
                    "can be switched off; connect with a member of %s (FIREWARDEN_DATABASE_URL) and migrate as "
                    "the owner (FIREWARDEN_DATABASE_OWNER_URL): docs/operations.md",
                    APP_ROLE,
                )
        if companion is not None:
            companion.prepare(stack, settings, db_url)
        # Every stage shares this interpreter: a worker thread back from the database (a fire's desk
        # transaction, a page's claim) waits for the GIL up to this long while the loop reads
        # telemetry. Python's default, 5 ms, added tens of milliseconds to a fire's page under load.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        models = None
        if settings.bus == "local":
            models = models_for(settings)  # a missing or unreadable model stops us here, before anything runs
            console.print(f"scoring models: {models.versions()} from {models.source}")
        asyncio.run(_serve(settings, policy, db_url, broker, models, companion, console))


async def _serve(
    settings: Settings,
    policy: Policy,
    db_url: str,
    broker: MqttUrl,
    models: Models | None,
    companion: Companion | None,
    console: Console,
) -> None:
    stops = {name: asyncio.Event() for name in ("first", "ingest", "scoring", "alerts", "console")}
    loop = asyncio.get_running_loop()

    def _on_signal() -> None:
        if stops["first"].is_set():
            raise SystemExit("second signal: exiting without waiting")
        order = "the demo's traffic, ingest" if companion is not None else "ingest"
        console.print(f"stopping: {order}, scoring, alerts, console, in that order...")
        stops["first"].set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal)

    index = load_registry_index(db_url)
    options = IngestOptions.from_settings(settings)
    metrics = IngestMetrics()
    health = Health("up", metrics.registry)
    with open_pool(db_url, min_size=2, max_size=max(4, settings.db_pool_max_size)) as pool:
        async with (
            health.serving(settings.metrics_port, stops["console"]),
            open_bus(settings, client_id=options.client_id) as bus,
        ):
            # The dispatcher on a loop of its own: a page never waits behind ingest's and scoring's turns.
            alerts = Alerts(
                pool, policy, directory_of(settings), channels_of(settings, policy), bus, dispatch_thread=True,
                chores=[(policy.credit.review_every_s, review_chore(pool, policy))],
            )  # fmt: skip
            metrics.registry.register(AlertsCollector(alerts))
            runner = local_runner(settings, policy, db_url, bus, models) if models is not None else None
            worker = start_worker(settings, db_url) if runner is None else None
            ingest = Ingest(
                mqtt_url=broker, database_url=db_url, bus=bus, options=options, index=index, metrics=metrics,
                policy=policy.ingest,
            )  # fmt: skip
            server = None
            if settings.api_port:
                actions = Actions(pool, policy, directory_of(settings), bus, on_queued=alerts.dispatcher.notify)
                server = ConsoleServer(settings, db_url, policy, actions, broker)
            freeze_startup_heap()
            tasks = {
                "ingest": asyncio.create_task(ingest.run(stops["ingest"])),
                "alerts": asyncio.create_task(alerts.run(stops["alerts"])),
            }
            if runner is not None:
                tasks["scoring"] = asyncio.create_task(runner.run(stops["scoring"]))
            if server is not None:
                server.start()
            health.ready = lambda: ingest.ready and alerts.running and (server is None or server.serving)
            where = server.url if server is not None else "(API off)"
            console.print(f"firewarden is up: MQTT {broker}, console {where}, API {where}/docs, bus {settings.bus}.")
            parts = Parts(settings, broker, db_url, pool, alerts, metrics, server, console, where)
            failed: list[BaseException] = []

            def running() -> bool:
                return not stops["first"].is_set() and not any(task.done() for task in tasks.values())

            try:
                if companion is not None:
                    await companion.start(parts)
                console.print("Ctrl-C stops.")
                if companion is not None:
                    await companion.watch(running, stops["first"], parts)
                while running():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stops["first"].wait(), 0.5)
            finally:
                if companion is not None:
                    await companion.stop()
                for stage in ("ingest", "scoring", "alerts"):
                    stops[stage].set()
                    if stage in tasks:
                        result = (await asyncio.gather(tasks[stage], return_exceptions=True))[0]
                        if isinstance(result, BaseException):
                            failed.append(result)
                if worker is not None:
                    worker.terminate()
                    worker.join(timeout=30)
                if server is not None:
                    await server.stop()
            if failed:
                raise failed[0]
    console.print("stopped cleanly.")
