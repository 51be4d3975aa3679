"""``firewarden enforcement``: what is published of enforcement, and the credit review (docs/supervision.md)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from core.services import database_url
from firewarden.cli._actions import open_supervision
from firewarden.cli._context import console, emit, settings_of

app = typer.Typer(help="Enforcement information for publication, and the credit review.", no_args_is_help=True)


def _day(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        day = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or time", param_hint=option) from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


@app.command("publish")
def publish(
    ctx: typer.Context,
    kind: Annotated[
        Literal["inspection", "penalty", "coercive", "licence"], typer.Option(help="Which of the four kinds.")
    ],
    since: Annotated[str | None, typer.Option(help="From this date (default: 365 days ago).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date, excluded (default: now).")] = None,
    fmt: Annotated[Literal["csv", "json"], typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("-o", "--out", help="File to write; unset: standard output.")] = None,
) -> None:
    """Enforcement information of one kind decided in the window, for publication (行政执法公示)."""
    from supervision import publication_as_csv

    start = _day(since, "--since") or datetime.now(UTC) - timedelta(days=365)
    with database_url(settings_of(ctx)) as url, open_supervision(ctx, url) as supervision:
        rows = supervision.publication(kind, start, _day(until, "--until"), None)
    text = publication_as_csv(kind, rows) if fmt == "csv" else json.dumps(rows, default=str, ensure_ascii=False) + "\n"
    emit(text, out, f"wrote {len(rows)} {kind} row(s) to {out}")


@app.command("review-credit")
def review_credit(ctx: typer.Context) -> None:
    """信用修复 now: listed units with a clean record for the policy's period go back to normal."""
    with database_url(settings_of(ctx)) as url, open_supervision(ctx, url) as supervision:
        repaired = supervision.review_credit(f"admin:cli:{getpass.getuser()}", datetime.now(UTC))
    for premises, status in repaired:
        console.print(f"{premises}: {status} -> normal")
    console.print(f"{len(repaired)} unit(s) repaired")
