"""``firewarden up``, ``demo``, ``tasks`` and ``schedule``: the running system and the inspectors' side."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from firewarden.cli._context import console, emit, settings_of

tasks_app = typer.Typer(help="Inspectors' task lists: today's items, exports, visit results.", no_args_is_help=True)
schedule_app = typer.Typer(help="The dual-prevention schedule: the random draw.", no_args_is_help=True)


def up(ctx: typer.Context) -> None:
    """Run ingest, scoring, alerts and the console in one process until Ctrl-C (embedded services by default)."""
    from firewarden.processes.system import run_up

    run_up(settings_of(ctx))


def alerts(ctx: typer.Context) -> None:
    """Run an alerts process until SIGTERM/SIGINT: scoring's decisions from Kafka into incidents, hazards and
    the schedule; escalation timers; deliveries. Any number side by side (FIREWARDEN_BUS=kafka://...)."""
    from firewarden.processes.alerts import run_alerts

    run_alerts(settings_of(ctx))


def console_command(ctx: typer.Context) -> None:
    """Serve the console and its HTTP API until SIGTERM/SIGINT (FIREWARDEN_API_HOST/PORT); stateless, any
    number behind a load balancer. People's actions reach scoring through Kafka (FIREWARDEN_BUS=kafka://...)."""
    from firewarden.processes.console import run_console

    run_console(settings_of(ctx))


def demo(
    ctx: typer.Context,
    premises: Annotated[int, typer.Option(min=1, max=5000, help="Premises in the generated city.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and the scenario.")] = 1,
    scenario: Annotated[Path | None, typer.Option(help="Scenario file; default examples/scenario-demo.yaml.")] = None,
    gb26875: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of UITDs that speak GB/T 26875.3 frames (0-1).")
    ] = 0.5,
) -> None:
    """`up` plus a generated city, a scenario mix in real time, a webhook inbox and a live summary."""
    from firewarden.processes.demo import Demo, DemoOptions
    from firewarden.processes.system import run_up

    options = DemoOptions(premises=premises, seed=seed, gb26875=gb26875)
    if scenario is not None:
        options = DemoOptions(premises=premises, seed=seed, scenario=scenario, gb26875=gb26875)
    run_up(settings_of(ctx), Demo(options), console)


def _desk(ctx: typer.Context) -> Any:
    """A desk over the configured database (the embedded one must be running: `firewarden up` or `broker`)."""
    from alerts.desk import Desk
    from alerts.roster import load_roster
    from alerts.service import directory_of
    from core.db import open_pool
    from core.policy import load_policy

    settings = settings_of(ctx)
    if settings.database_url is None:
        raise typer.BadParameter(
            "needs FIREWARDEN_DATABASE_URL (or --database-url): the database `firewarden up` runs against",
            param_hint="--database-url",
        )
    pool = open_pool(settings.database_url, max_size=2)
    with pool.connection() as conn:
        roster = load_roster(conn)
    return Desk(pool, roster, load_policy(settings.policy_file), directory_of(settings))


@tasks_app.command("list")
def tasks_list(
    ctx: typer.Context,
    inspector: Annotated[str, typer.Option(help="Inspector id.")],
    day: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day (default today).")] = None,
    tz: Annotated[str, typer.Option(help="Time zone the day is in.")] = "Asia/Shanghai",
    output: Annotated[
        Literal["table", "json", "csv", "ics"], typer.Option("--format", help="Output format.")
    ] = "table",
    lang: Annotated[Literal["zh", "en"], typer.Option(help="Language of the reasons.")] = "zh",
) -> None:
    """Today's items for an inspector, red first, then by score and due date, each with its reason."""
    from alerts.inspections import as_csv, as_ical, end_of_day, task_list
    from core.words import render

    zone = ZoneInfo(tz)
    the_day: date = day.date() if day is not None else datetime.now(zone).date()
    desk = _desk(ctx)
    with desk.pool:
        items = task_list(desk, inspector, end_of_day(the_day, zone))
    if output == "json":
        console.print_json(json.dumps([i.as_json() for i in items], ensure_ascii=False))
    elif output == "csv":
        sys.stdout.write(as_csv(items, lang))
    elif output == "ics":
        sys.stdout.buffer.write(as_ical(items, inspector, lang))
    else:
        table = Table(title=f"{inspector}: {len(items)} task(s) due by the end of {the_day}")
        for column in ("id", "tier", "kind", "premises", "due", "reason"):
            table.add_column(column)
        for i in items:
            due = i.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            premises = f"{i.premises_name} ({i.premises_id})"
            table.add_row(str(i.id), i.tier or "-", i.kind, premises, due, render(lang, i.label))
        console.print(table)


@tasks_app.command("done")
def tasks_done(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="Task id (from `tasks list`).")],
    actor: Annotated[str, typer.Option(help="Who records it, e.g. inspector:I-S000-0.")],
    finding: Annotated[
        list[str] | None, typer.Option(help="A finding; repeat for several. None: a clean visit.")
    ] = None,
) -> None:
    """Record a visit: each finding opens a hazard with a deadline; a hazard task closes its hazard."""
    from alerts.inspections import record_result

    desk = _desk(ctx)
    with desk.pool:
        record_result(desk, task_id, actor, list(finding or []), datetime.now(UTC))
    console.print(f"task {task_id} recorded ({len(finding or [])} finding(s))")


@schedule_app.command("draw")
def schedule_draw(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="The period drawn, e.g. 2026-11.")],
    beacon: Annotated[
        str | None,
        typer.Option(help="A value published before the draw (a lottery result...): the seed is derived from it."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="A seed of your own instead of a beacon (cannot be checked).")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who makes the draw.")] = "system",
) -> None:
    """The period's random draw (双随机): premises from the pool and two inspectors each, never their own.
    With --beacon, anyone can check it afterwards (`firewarden schedule verify`)."""
    from alerts.draws import run_draw, seed_of

    if (beacon is None) == (seed is None):
        raise typer.BadParameter("give either --beacon (a published value) or --seed", param_hint="--beacon/--seed")
    desk = _desk(ctx)
    with desk.pool:
        drawn = run_draw(desk, period, seed, datetime.now(UTC), actor, beacon=beacon)
    for premises_id, inspectors in drawn:
        console.print(f"{premises_id}: {', '.join(inspectors)}")
    used = seed_of(period, beacon) if beacon is not None else seed
    console.print(
        f"{len(drawn)} premises drawn for {period} with seed {used}" + (f" (beacon {beacon!r})" if beacon else "")
    )


@schedule_app.command("verify")
def schedule_verify(
    ctx: typer.Context, period: Annotated[str, typer.Option(help="The period whose draw to check.")]
) -> None:
    """Draw the period again from its recorded inputs and compare; exit 1 when anything differs."""
    from alerts.draws import verify

    desk = _desk(ctx)
    with desk.pool, desk.cursor() as cur:
        verdict = verify(cur, period)
    console.print(
        f"draw {period}: seed {verdict.seed} {'matches' if verdict.seed_matches else 'DOES NOT match'} its beacon "
        f"{verdict.beacon!r}; {verdict.drawn} of {verdict.pool} premises drawn; the result "
        f"{'matches' if verdict.result_matches else 'DOES NOT match'} a new draw from the recorded inputs"
    )
    if not verdict.intact:
        raise typer.Exit(1)


@schedule_app.command("publish")
def schedule_publish(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="The period whose draw to publish.")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="CSV file; unset: standard output.")] = None,
) -> None:
    """The draw's publication (一公开) as CSV: premises, unit, inspectors by name, seed, beacon, outcome."""
    from alerts.draws import as_csv, publication

    desk = _desk(ctx)
    with desk.pool, desk.cursor() as cur:
        text = as_csv(publication(cur, period))
    emit(text, out)
