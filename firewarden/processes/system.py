"""``firewarden up`` and ``firewarden demo``: every service in one process, started and stopped in order.

Up: the database (embedded when no URL is set) is migrated; then ingest, scoring, alerts and the
API run on one event loop. On the local bus scoring is the in-process runner; on a Kafka bus it is
a faust worker started as a child process (more may be started elsewhere with ``firewarden score``).

Demo: the same, plus a generated fleet imported into the registry, its inspectors' webhooks
pointed at a local inbox (:mod:`simulators.inbox`), a scenario mix published over MQTT in real
time, and a live summary on the terminal.

Ctrl-C (or SIGTERM) stops in data-flow order: the publisher, then ingest (which stores and
acknowledges what it received), then scoring, then alerts (which handles every decision it got),
then the API; embedded services stop last. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from alerts.service import Alerts, channels_of, directory_of, webhook_secret
from console.api import build_console, create_app
from core.bus import Bus, LocalBus, open_bus
from core.db import APP_ROLE, can_alter_audit_log, connect, migrate, open_pool
from core.policy import Policy, load_policy
from core.services import database_url, mqtt_url, owner_database_url
from core.settings import KafkaBus, MqttUrl, Settings
from ingest.metrics import IngestMetrics
from ingest.service import Ingest, IngestOptions
from ingest.store import load_registry_index
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import load_sites
from scoring.store import DecisionStore, record_models
from scoring.training import ensure_models

log = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "examples" / "scenario-demo.yaml"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    premises: int = 60
    seed: int = 1
    scenario: Path = DEMO_SCENARIO
    inbox_port: int = 0


class _ApiServer(uvicorn.Server):
    """uvicorn inside our event loop: the process's signal handlers stay ours."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_up(settings: Settings, demo: DemoOptions | None = None, console: Console | None = None) -> None:
    """Run every service until SIGINT/SIGTERM; embedded PostgreSQL and broker when the settings name none."""
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
            _import_demo_fleet(db_url, demo, inbox.url)
        if settings.bus == "local":
            console.print("loading the scoring models (trained on first use, about a minute)...")
            ensure_models(settings.models_path)
        asyncio.run(_serve(settings, policy, db_url, broker, demo, inbox, console))


def _import_demo_fleet(db_url: str, demo: DemoOptions, hook_base: str) -> None:
    from core.registry.store import import_registry
    from simulators.fleet import generate_fleet

    today = datetime.now(UTC).date()
    fleet = generate_fleet(demo.premises, demo.seed, roster_start=today - timedelta(days=1), roster_days=3)
    # Every inspector gets a webhook in the demo's inbox, so each alert can be seen arriving.
    hooked = [i.model_copy(update={"webhook_url": f"{hook_base}/inspectors/{i.id}"}) for i in fleet.inspectors]
    fleet = fleet.model_copy(update={"inspectors": hooked})
    with connect(db_url) as conn:
        import_registry(conn, fleet, source="demo fleet")
        conn.commit()


async def _serve(
    settings: Settings,
    policy: Policy,
    db_url: str,
    broker: MqttUrl,
    demo: DemoOptions | None,
    inbox: Any,
    console: Console,
) -> None:
    stops = {name: asyncio.Event() for name in ("publisher", "ingest", "scoring", "alerts", "live")}
    loop = asyncio.get_running_loop()
    halt = threading.Event()  # the publisher thread's stop flag

    def _on_signal() -> None:
        if stops["publisher"].is_set():
            raise SystemExit("second signal: exiting without waiting")
        console.print("stopping: publisher, ingest, scoring, alerts, API, in that order...")
        halt.set()
        stops["publisher"].set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal)

    index = load_registry_index(db_url)
    options = IngestOptions.from_settings(settings)
    metrics = IngestMetrics()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)  # ingest's Prometheus endpoint, as `firewarden ingest` serves it
    with open_pool(db_url, min_size=2, max_size=max(4, settings.db_pool_max_size)) as pool:
        async with open_bus(settings, client_id=options.client_id) as bus:
            kafka = settings.bus if isinstance(settings.bus, KafkaBus) else None
            alerts = Alerts(pool, policy, directory_of(settings), channels_of(settings, policy), bus, kafka=kafka)
            runner, worker = _scoring(settings, policy, db_url, bus)
            ingest = Ingest(
                mqtt_url=broker, database_url=db_url, bus=bus, options=options, index=index, metrics=metrics,
                policy=policy.ingest,
            )  # fmt: skip
            api = live = None
            if settings.api_port:
                console_ = build_console(alerts, policy, db_url, settings.console_session_hours)
                config = uvicorn.Config(
                    create_app(console_), host=settings.api_host, port=settings.api_port, log_level="warning",
                    timeout_graceful_shutdown=5,
                )  # fmt: skip
                api = _ApiServer(config)
                live = asyncio.create_task(console_.changes.run(stops["live"]))
                if demo is not None:
                    logins = await asyncio.to_thread(_demo_users, console_)
            tasks = {
                "ingest": asyncio.create_task(ingest.run(stops["ingest"])),
                "alerts": asyncio.create_task(alerts.run(stops["alerts"])),
            }
            if runner is not None:
                tasks["scoring"] = asyncio.create_task(runner.run(stops["scoring"]))
            api_task = asyncio.create_task(api.serve()) if api is not None else None
            publisher = None
            if demo is not None:
                publisher = asyncio.create_task(asyncio.to_thread(_publish, demo, broker, db_url, halt))
            where = f"http://{settings.api_host}:{settings.api_port}" if api is not None else "(API off)"
            console.print(f"firewarden is up: MQTT {broker}, console {where}, API {where}/docs, bus {settings.bus}.")
            if demo is not None and api is not None:
                for user, password, what in logins:
                    console.print(f"  console login [bold]{user}[/] / [bold]{password}[/]  ({what})")
            console.print("Ctrl-C stops.")
            failed: list[BaseException] = []
            try:
                await _watch(stops["publisher"], list(tasks.values()), alerts, metrics, pool, inbox, publisher,
                             console, where)  # fmt: skip
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
                if api is not None and api_task is not None:
                    stops["live"].set()  # ends the browsers' event streams, so the server can stop
                    if live is not None:
                        await asyncio.gather(live, return_exceptions=True)
                    api.should_exit = True
                    await api_task
            if failed:
                raise failed[0]
    console.print("stopped cleanly.")


def _demo_users(console_: Any) -> list[tuple[str, str, str]]:
    """Demo logins with fresh random passwords: an operator, an admin, and the inspector who
    answers for the demo's first premises (made, or given a new password on a later run)."""
    import secrets

    from alerts.roster import load_roster
    from core.errors import AccountError

    accounts = console_.accounts
    with accounts.pool.connection() as conn:
        roster = load_roster(conn)
    first = min(roster.sites)
    inspector = roster.regular_inspector(first)
    wanted: list[tuple[str, str, str | None, str]] = [
        ("operator", "operator", None, "monitoring-centre operator"),
        ("admin", "admin", None, "admin"),
    ]
    if inspector is not None:
        wanted.append(("inspector", "inspector", inspector.id, f"inspector {inspector.id}, answers for {first}"))
    now = datetime.now(UTC)
    logins = []
    for user, role, inspector_id, what in wanted:
        password = secrets.token_urlsafe(9)
        try:
            accounts.add_user(user, user, role, now, password=password, inspector_id=inspector_id, actor="demo")
        except AccountError:
            accounts.set_password(user, password, now, actor="demo")
        logins.append((user, password, what))
    return logins


def _scoring(
    settings: Settings, policy: Policy, db_url: str, bus: Bus
) -> tuple[LocalRunner | None, subprocess.Popen[bytes] | None]:
    if isinstance(bus, LocalBus):
        models = ensure_models(settings.models_path)
        record_models(db_url, models, "system:up")
        scorer = Scorer(policy, load_sites(db_url), models)
        return (
            LocalRunner(scorer, bus, DecisionStore(db_url), wall_clock=settings.scoring_wall_clock,
                        lateness_s=settings.scoring_lateness_s),
            None,
        )  # fmt: skip
    env = dict(os.environ) | settings.as_environment() | {"FIREWARDEN_DATABASE_URL": db_url}
    argv = [sys.executable, "-m", "faust", "-A", "scoring.app", "worker", "--without-web", "-l", "warn"]
    return None, subprocess.Popen(argv, env=env)


def _publish(demo: DemoOptions, broker: MqttUrl, db_url: str, halt: threading.Event) -> None:
    """The demo's traffic: the imported fleet and the scenario, in real time, until it ends or ``halt``."""
    from core.registry.store import export_registry
    from simulators.engine import Simulation
    from simulators.publisher import Publisher, PublishOptions
    from simulators.scenarios import apply_scenario, load_scenario
    from simulators.scenarios import background as add_background

    spec = load_scenario(demo.scenario)
    with connect(db_url) as conn:
        fleet = export_registry(conn)
    start = float(int(time.time()))
    sim = Simulation(fleet, seed=demo.seed, start=start, duration=spec.duration)
    add_background(sim)
    apply_scenario(sim, spec)

    def until_halted() -> Iterator[Any]:
        for message in sim.messages():
            if halt.is_set():
                return
            yield message

    with Publisher(PublishOptions(url=broker, speed=1.0, client_prefix="fw-demo")) as publisher:
        publisher.publish(until_halted(), sim_start=start)


async def _watch(
    stop: asyncio.Event,
    services: list[asyncio.Task[None]],
    alerts: Alerts,
    metrics: IngestMetrics,
    pool: Any,
    inbox: Any,
    publisher: asyncio.Task[None] | None,
    console: Console,
    where: str,
) -> None:
    """Until ``stop`` or a service fails: in the demo, a live summary; otherwise just wait."""

    def running() -> bool:
        return not stop.is_set() and not any(task.done() for task in services)

    last = (time.monotonic(), 0.0)
    if inbox is None:
        while running():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        return
    with Live(console=console, refresh_per_second=1, transient=False) as live:
        while running():
            received = metrics.received._value.get()
            now = time.monotonic()
            rate = (received - last[1]) / max(1e-6, now - last[0])
            last = (now, received)
            counts = await asyncio.to_thread(_counts, pool)
            live.update(_summary(rate, received, counts, alerts, inbox, publisher, where))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


def _counts(pool: Any) -> dict[str, dict[str, int]]:
    with pool.connection() as conn:
        return {
            "alarms": dict(
                conn.execute(
                    "SELECT classification, count(*) FROM (SELECT DISTINCT ON (alarm_id) classification FROM alarms "
                    "ORDER BY alarm_id, revision DESC) latest GROUP BY 1"
                ).fetchall()
            ),
            "incidents": dict(conn.execute("SELECT class, count(*) FROM incidents GROUP BY 1").fetchall()),
            "tiers": dict(conn.execute("SELECT tier, count(*) FROM premises_schedule GROUP BY 1").fetchall()),
            "hazards": dict(conn.execute("SELECT state, count(*) FROM hazards GROUP BY 1").fetchall()),
            "tasks": dict(conn.execute("SELECT kind, count(*) FROM tasks WHERE state = 'open' GROUP BY 1").fetchall()),
        }


def _line(counts: dict[str, int], order: tuple[str, ...]) -> str:
    return "  ".join(f"{k} {counts.get(k, 0)}" for k in order if counts.get(k)) or "-"


def _summary(
    rate: float, received: float, counts: dict[str, dict[str, int]], alerts: Alerts, inbox: Any,
    publisher: asyncio.Task[None] | None, where: str,
) -> Table:  # fmt: skip
    table = Table(title=f"Firewarden demo, {date.today():%Y-%m-%d}", show_header=False, expand=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("messages", f"{rate:,.0f}/s now, {received:,.0f} received")
    table.add_row("alarms (scoring)", _line(counts["alarms"], ("confirmed", "unverified", "nuisance_likely")))
    incidents = ("fire", "alarm", "hazard", "supervisory", "trouble", "nuisance")
    table.add_row("incidents", _line(counts["incidents"], incidents))
    table.add_row("risk tiers", _line(counts["tiers"], ("red", "orange", "yellow", "blue")))
    table.add_row("hazards", _line(counts["hazards"], ("open", "recovered", "closed")))
    table.add_row("open tasks", _line(counts["tasks"], ("inspection", "hazard", "draw")))
    table.add_row("alerts delivered", f"{alerts.dispatcher.delivered} (webhook inbox saw {len(inbox.delivered)})")
    state = "running" if publisher is not None and not publisher.done() else "scenario finished"
    table.add_row("simulator", state)
    table.add_row("look next", f"console {where}/ (logins above)  ·  API {where}/docs  ·  Ctrl-C stops")
    return table
