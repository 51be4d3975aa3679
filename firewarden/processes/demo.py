"""What ``firewarden demo`` adds to ``up``: a generated city whose webhooks point at a local inbox,
console logins, a scenario published in real time, and a live summary on the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from alerts import Alerts, load_roster, webhook_secret
from console import AccountError, Accounts
from console import Console as ConsoleContext
from core.addresses import MqttUrl
from core.db import connect
from core.registry.store import export_registry, import_registry
from core.settings import Settings
from firewarden.processes.system import Parts
from ingest import IngestMetrics
from simulators import (
    Inbox,
    Publisher,
    PublishOptions,
    Simulation,
    apply_scenario,
    generate_fleet,
    load_scenario,
    with_webhooks,
)
from simulators import background as add_background

log = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenario-demo.yaml"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    premises: int = 60
    seed: int = 1
    scenario: Path = DEMO_SCENARIO
    inbox_port: int = 0
    gb26875: float = 0.5
    """The share of UITDs that speak GB/T 26875.3 frames (the others JSON)."""


class Demo:
    """The demo as ``up``'s companion (:class:`firewarden.processes.system.Companion`): a generated
    city whose inspectors' webhooks land in a local inbox, demo logins, the scenario's traffic in real
    time, and a live summary on the terminal."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.inbox: Inbox | None = None
        self.halt = threading.Event()  # the publisher thread's stop flag
        self.publisher: asyncio.Task[None] | None = None

    def prepare(self, stack: contextlib.ExitStack, settings: Settings, database_url: str) -> None:
        self.inbox = stack.enter_context(Inbox(webhook_secret(settings), port=self.options.inbox_port))
        import_demo_fleet(database_url, self.options, self.inbox.url)

    async def start(self, parts: Parts) -> None:
        if parts.server is not None:
            logins = await asyncio.to_thread(demo_users, parts.server.console.accounts)
            for user, password, what in logins:
                parts.console.print(f"  console login [bold]{user}[/] / [bold]{password}[/]  ({what})")
            said = await demo_case(parts.server.console)
            parts.console.print(f"  enforcement case {said} (console: Enforcement; the unit sees it in its portal)")
        self.publisher = asyncio.create_task(
            asyncio.to_thread(publish, self.options, parts.broker, parts.database_url, self.halt)
        )

    async def watch(self, running: Any, stop: asyncio.Event, parts: Parts) -> None:
        await live_summary(running, stop, parts.alerts, parts.metrics, parts.pool, self.inbox, self.publisher,
                           parts.console, parts.where)  # fmt: skip

    async def stop(self) -> None:
        self.halt.set()
        if self.publisher is not None:
            [result] = await asyncio.gather(self.publisher, return_exceptions=True)
            if isinstance(result, Exception):
                log.error("the demo's publisher failed: %s", result)


def import_demo_fleet(db_url: str, demo: DemoOptions, hook_base: str) -> None:
    today = datetime.now(UTC).date()
    fleet = generate_fleet(demo.premises, demo.seed, roster_start=today - timedelta(days=1), roster_days=3)
    # Every inspector gets a webhook in the demo's inbox, so each alert can be seen arriving.
    fleet = with_webhooks(fleet, hook_base)
    with connect(db_url) as conn:
        import_registry(conn, fleet, source="demo fleet")
        conn.commit()


def demo_users(accounts: Accounts) -> list[tuple[str, str, str]]:
    """Demo logins with fresh random passwords: an operator, an admin, the inspector who answers for
    the demo's first premises, and that premises' responsible unit (made, or given a new password on a
    later run)."""
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
    wanted.append(("unit", "unit", None, f"the responsible unit of {first}: its own portal"))
    now = datetime.now(UTC)
    logins = []
    for user, role, inspector_id, what in wanted:
        password = secrets.token_urlsafe(9)
        premises = (first,) if role == "unit" else ()
        try:
            accounts.add_user(user, user, role, now, password=password, inspector_id=inspector_id, premises=premises,
                              actor="demo")  # fmt: skip
        except AccountError:
            accounts.set_password(user, password, now, actor="demo")
        logins.append((user, password, what))
    return logins


async def demo_case(console: ConsoleContext) -> str:
    """An enforcement case at the demo's first premises, as an inspector would have opened it: the
    rectification order, a re-check that found it not corrected, and a seal-up awaiting the admin's
    approval (法制审核). A later run shows the open case it finds."""
    supervision = console.supervision
    first = min((await console.actions.fresh_desk()).roster.sites)
    found = [c for c in supervision.cases(None, "open") if c["premises_id"] == first]
    if found:
        return f"{min(found, key=lambda c: int(str(c['id'])))['number']} at {first} (open)"
    actor, now = "inspector:inspector", datetime.now(UTC)
    case_id = await supervision.open_case(
        premises_id=first, hazard_id=None, offence="facilities_not_effective", circumstance="general",
        requirements="repair the sprinkler pump controller and restore it to automatic", deadline_days=15,
        actor=actor, now=now,
    )  # fmt: skip
    await supervision.add_step(case_id, "recheck", actor, now, passed=False, note="pump still on manual")
    await supervision.add_step(case_id, "seal_up", actor, now, note="pump room and basement storage")
    case = supervision.case(case_id)
    assert case is not None
    return f"{case['number']} at {first}: its seal-up awaits the admin's approval"


def publish(demo: DemoOptions, broker: MqttUrl, db_url: str, halt: threading.Event) -> None:
    """The demo's traffic: the imported fleet and the scenario, in real time, until it ends or ``halt``."""
    spec = load_scenario(demo.scenario)
    with connect(db_url) as conn:
        fleet = export_registry(conn)
    start = float(int(time.time()))
    sim = Simulation(fleet, seed=demo.seed, start=start, duration=spec.duration, gb26875=demo.gb26875)
    add_background(sim)
    apply_scenario(sim, spec)

    def until_halted() -> Iterator[Any]:
        for message in sim.messages():
            if halt.is_set():
                return
            yield message

    with Publisher(PublishOptions(url=broker, speed=1.0, client_prefix="fw-demo")) as publisher:
        publisher.publish(until_halted(), sim_start=start)


LINE_EVERY_S = 10.0
"""A summary line's period where the demo's output is not a terminal."""


async def live_summary(
    running: Any,
    stop: asyncio.Event,
    alerts: Alerts,
    metrics: IngestMetrics,
    pool: Any,
    inbox: Any,
    publisher: asyncio.Task[None] | None,
    console: Console,
    where: str,
) -> None:
    """A live summary on the terminal, once a second, while ``running()``; where the output is not a
    terminal (a file, a pipe), the same as one line every :data:`LINE_EVERY_S` seconds."""
    last = (time.monotonic(), 0.0)
    printed = 0.0  # when the last line was printed (not a terminal)
    with contextlib.ExitStack() as stack:
        live = (
            stack.enter_context(Live(console=console, refresh_per_second=1, transient=False))
            if console.is_terminal
            else None
        )
        while running():
            received = metrics.value("firewarden_ingest_received_total")
            now = time.monotonic()
            rate = (received - last[1]) / max(1e-6, now - last[0])
            last = (now, received)
            counts = await asyncio.to_thread(_counts, pool)
            rows = _summary_rows(rate, received, counts, alerts, inbox, publisher, where)
            if live is not None:
                live.update(_summary(rows))
            elif now - printed >= LINE_EVERY_S:
                printed = now
                line = " · ".join(f"{name}: {value}" for name, value in rows[:-1])
                console.print(f"{datetime.now():%H:%M:%S} {line}", soft_wrap=True)
            with contextlib.suppress(TimeoutError):  # once a second either way: a stop is seen at once
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


def _summary_rows(
    rate: float, received: float, counts: dict[str, dict[str, int]], alerts: Alerts, inbox: Any,
    publisher: asyncio.Task[None] | None, where: str,
) -> list[tuple[str, str]]:  # fmt: skip
    incidents = ("fire", "alarm", "hazard", "supervisory", "trouble", "nuisance")
    state = "running" if publisher is not None and not publisher.done() else "scenario finished"
    return [
        ("messages", f"{rate:,.0f}/s now, {received:,.0f} received"),
        ("alarms (scoring)", _line(counts["alarms"], ("confirmed", "unverified", "nuisance_likely"))),
        ("incidents", _line(counts["incidents"], incidents)),
        ("risk tiers", _line(counts["tiers"], ("red", "orange", "yellow", "blue"))),
        ("hazards", _line(counts["hazards"], ("open", "recovered", "closed"))),
        ("open tasks", _line(counts["tasks"], ("inspection", "hazard", "draw"))),
        ("alerts delivered", f"{alerts.dispatcher.delivered} (webhook inbox saw {len(inbox.delivered)})"),
        ("simulator", state),
        ("look next", f"console {where}/ (logins above)  ·  API {where}/docs  ·  Ctrl-C stops"),
    ]


def _summary(rows: list[tuple[str, str]]) -> Table:
    table = Table(title=f"Firewarden demo, {date.today():%Y-%m-%d}", show_header=False, expand=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value)
    return table
