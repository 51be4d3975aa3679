"""``firewarden up`` and ``firewarden demo``: every stage in one process, started and stopped in order.

Up: the database (embedded when no URL is set) is migrated as its owner; then ingest, scoring,
alerts and the console run on one event loop, built from the same parts as their own processes
(:mod:`firewarden.processes`). On the local bus scoring is the in-process runner; on a Kafka bus it
is a faust worker started as a child process (more may be started elsewhere with ``firewarden score``).

Demo: the same, plus :mod:`firewarden.processes.demo`'s city, inbox, scenario and live summary.

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
import subprocess
import threading
from contextlib import ExitStack
from typing import Any

from rich.console import Console

from alerts.actions import Actions
from alerts.metrics import AlertsCollector
from alerts.service import Alerts, channels_of, directory_of, webhook_secret
from core.bus import open_bus
from core.db import APP_ROLE, can_alter_audit_log, connect, migrate, open_pool
from core.policy import Policy, load_policy
from core.services import database_url, mqtt_url, owner_database_url
from core.settings import MqttUrl, Settings
from firewarden.processes.console import ConsoleServer
from firewarden.processes.demo import DemoOptions, demo_users, import_demo_fleet, live_summary, publish
from firewarden.processes.runtime import Health
from firewarden.processes.scoring import local_runner, start_worker
from ingest.metrics import IngestMetrics
from ingest.service import Ingest, IngestOptions
from ingest.store import load_registry_index
from scoring.training import ensure_models

log = logging.getLogger(__name__)

__all__ = ["DemoOptions", "run_up"]


def run_up(settings: Settings, demo: DemoOptions | None = None, console: Console | None = None) -> None:
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
        inbox = None
        if demo is not None:
            from simulators.inbox import Inbox

            inbox = stack.enter_context(Inbox(webhook_secret(settings), port=demo.inbox_port))
            import_demo_fleet(db_url, demo, inbox.url)
        if settings.bus == "local":
            console.print("loading the scoring models (trained on first use, about a minute)...")
            ensure_models(settings.models_path)
        asyncio.run(_serve(settings, policy, db_url, broker, demo, inbox, console))


async def _serve(
    settings: Settings,
    policy: Policy,
    db_url: str,
    broker: MqttUrl,
    demo: DemoOptions | None,
    inbox: Any,
    console: Console,
) -> None:
    stops = {name: asyncio.Event() for name in ("publisher", "ingest", "scoring", "alerts", "console")}
    loop = asyncio.get_running_loop()
    halt = threading.Event()  # the publisher thread's stop flag

    def _on_signal() -> None:
        if stops["publisher"].is_set():
            raise SystemExit("second signal: exiting without waiting")
        console.print("stopping: publisher, ingest, scoring, alerts, console, in that order...")
        halt.set()
        stops["publisher"].set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal)

    index = load_registry_index(db_url)
    options = IngestOptions.from_settings(settings)
    metrics = IngestMetrics()
    health = Health("up", metrics.registry)
    health.serve(settings.metrics_port)
    beat = asyncio.create_task(health.beat(stops["console"]))
    with open_pool(db_url, min_size=2, max_size=max(4, settings.db_pool_max_size)) as pool:
        async with open_bus(settings, client_id=options.client_id) as bus:
            alerts = Alerts(pool, policy, directory_of(settings), channels_of(settings, policy), bus)
            metrics.registry.register(AlertsCollector(alerts))
            runner = local_runner(settings, policy, db_url, bus) if settings.bus == "local" else None
            worker: subprocess.Popen[bytes] | None = start_worker(settings, db_url) if runner is None else None
            ingest = Ingest(
                mqtt_url=broker, database_url=db_url, bus=bus, options=options, index=index, metrics=metrics,
                policy=policy.ingest,
            )  # fmt: skip
            server = None
            if settings.api_port:
                actions = Actions(pool, policy, directory_of(settings), bus, on_queued=alerts.dispatcher.wake.set)
                server = ConsoleServer(settings, db_url, policy, actions)
                if demo is not None:
                    logins = await asyncio.to_thread(demo_users, server.console.accounts)
            tasks = {
                "ingest": asyncio.create_task(ingest.run(stops["ingest"])),
                "alerts": asyncio.create_task(alerts.run(stops["alerts"])),
            }
            if runner is not None:
                tasks["scoring"] = asyncio.create_task(runner.run(stops["scoring"]))
            if server is not None:
                server.start()
            health.ready = lambda: ingest.ready and alerts.running and (server is None or server.serving)
            publisher = None
            if demo is not None:
                publisher = asyncio.create_task(asyncio.to_thread(publish, demo, broker, db_url, halt))
            where = server.url if server is not None else "(API off)"
            console.print(f"firewarden is up: MQTT {broker}, console {where}, API {where}/docs, bus {settings.bus}.")
            if demo is not None and server is not None:
                for user, password, what in logins:
                    console.print(f"  console login [bold]{user}[/] / [bold]{password}[/]  ({what})")
            console.print("Ctrl-C stops.")
            failed: list[BaseException] = []

            def running() -> bool:
                return not stops["publisher"].is_set() and not any(task.done() for task in tasks.values())

            try:
                if inbox is not None:
                    await live_summary(running, stops["publisher"], alerts, metrics, pool, inbox, publisher,
                                       console, where)  # fmt: skip
                while running():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stops["publisher"].wait(), 0.5)
            finally:
                halt.set()
                if publisher is not None:
                    await asyncio.gather(publisher, return_exceptions=True)
                for stage in ("ingest", "scoring", "alerts"):
                    stops[stage].set()
                    if stage in tasks:
                        result = (await asyncio.gather(tasks[stage], return_exceptions=True))[0]
                        if isinstance(result, BaseException):
                            failed.append(result)
                if worker is not None:
                    worker.terminate()
                    worker.wait(timeout=30)
                if server is not None:
                    await server.stop()
                stops["console"].set()
                await beat
                health.close()
            if failed:
                raise failed[0]
    console.print("stopped cleanly.")
