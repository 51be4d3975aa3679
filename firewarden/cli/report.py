"""``firewarden report``: the supervision report of a period and a jurisdiction, as HTML and PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from core.db import connect
from core.services import database_url
from firewarden.cli._context import console, settings_of


def report(
    ctx: typer.Context,
    period: Annotated[
        str,
        typer.Option(help="A year (2026), a quarter (2026-Q3), a month (2026-11) or days (2026-01-01..2026-06-30)."),
    ],
    jurisdiction: Annotated[
        str | None, typer.Option(help="A jurisdiction id; its sub-jurisdictions count too. Unset: all of them.")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh (Chinese) or en (English).")] = "zh",
    out: Annotated[Path, typer.Option(help="The directory the two files are written to.")] = Path("."),
    timezone: Annotated[str, typer.Option(help="The time zone the period's days are counted in.")] = "Asia/Shanghai",
) -> None:
    """Write report-<jurisdiction>-<period>-<lang>.html and .pdf: premises and tiers, inspections, hazards,
    enforcement, credit, alarms and response times, device health; every chart with its table."""
    from report import Report, compute, parse_period, write
    from report import timezone as zone

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"{lang!r}: zh or en", param_hint="--lang")
    chosen = parse_period(period, zone(timezone))
    settings = settings_of(ctx)
    with database_url(settings) as url, connect(url) as conn:
        figures = compute(conn, chosen, jurisdiction, datetime.now(UTC))
    stem = f"report-{jurisdiction or 'all'}-{period.replace('..', '_')}-{lang}"
    html, pdf = write(Report(figures, lang), out, stem)  # type: ignore[arg-type]
    console.print(f"wrote {html} and {pdf}")
