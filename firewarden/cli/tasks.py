"""``firewarden tasks``: inspectors' task lists and visit results."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from firewarden.cli._actions import open_actions
from firewarden.cli._context import console

app = typer.Typer(help="Inspectors' task lists: today's items, exports, visit results.", no_args_is_help=True)


@app.command("list")
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
    from alerts import end_of_day, tasks_as_csv, tasks_as_ical
    from core.words import render

    zone = ZoneInfo(tz)
    the_day: date = day.date() if day is not None else datetime.now(zone).date()
    with open_actions(ctx) as actions:
        items = asyncio.run(actions.task_list(inspector, end_of_day(the_day, zone)))
    if output == "json":
        console.print_json(json.dumps([i.as_json() for i in items], ensure_ascii=False))
    elif output == "csv":
        sys.stdout.write(tasks_as_csv(items, lang))
    elif output == "ics":
        sys.stdout.buffer.write(tasks_as_ical(items, inspector, lang))
    else:
        table = Table(title=f"{inspector}: {len(items)} task(s) due by the end of {the_day}")
        for column in ("id", "tier", "kind", "premises", "due", "reason"):
            table.add_column(column)
        for i in items:
            due = i.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            premises = f"{i.premises_name} ({i.premises_id})"
            table.add_row(str(i.id), i.tier or "-", i.kind, premises, due, render(lang, i.label))
        console.print(table)


@app.command("done")
def tasks_done(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="Task id (from `tasks list`).")],
    actor: Annotated[str, typer.Option(help="Who records it, e.g. inspector:I-S000-0.")],
    finding: Annotated[
        list[str] | None, typer.Option(help="A finding; repeat for several. None: a clean visit.")
    ] = None,
) -> None:
    """Record a visit: each finding opens a hazard with a deadline; a hazard task closes its hazard."""
    with open_actions(ctx) as actions:
        asyncio.run(actions.record_result(task_id, actor, list(finding or []), datetime.now(UTC)))
    console.print(f"task {task_id} recorded ({len(finding or [])} finding(s))")
