"""``firewarden checklists``: the inspection checklists in use, exported and replaced (docs/supervision.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from core.services import database_url
from firewarden.cli._actions import open_actions
from firewarden.cli._context import console, emit, settings_of

if TYPE_CHECKING:
    from alerts import Version

app = typer.Typer(help="Inspection checklists per premises category: export, replace, show.", no_args_is_help=True)


def _in_use(ctx: typer.Context) -> Version:
    """The checklists in use (installing the shipped set first when none is)."""
    with database_url(settings_of(ctx)) as url, open_actions(ctx, url) as actions:
        return actions.checklists_in_use(datetime.now(UTC))


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="File to write; unset: standard output.")] = None,
    fmt: Annotated[Literal["yaml", "json"], typer.Option("--format", help="yaml or json.")] = "yaml",
) -> None:
    """The checklists in use (installing the shipped set first when none is)."""
    from alerts import dump_checklists

    version = _in_use(ctx)
    text = dump_checklists(version.checklists, fmt)
    emit(text, out, f"wrote version {version.number} ({len(version.checklists.items)} items) to {out}")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A checklists file (YAML or JSON, format firewarden-checklists/1).")],
    actor: Annotated[str | None, typer.Option(help="Who replaces them, for the audit log.")] = None,
) -> None:
    """Replace the checklists in use with FILE's: a new version from now on; past visits keep theirs."""
    from alerts import load_checklists

    parsed = load_checklists(file.read_text(encoding="utf-8"), str(file))
    with database_url(settings_of(ctx)) as url, open_actions(ctx, url) as actions:
        version = actions.install_checklists(parsed, actor or f"admin:cli:{getpass.getuser()}", datetime.now(UTC))
    console.print(f"checklists version {version.number} in use: {len(parsed.items)} items")


@app.command("show")
def show(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only the items of this premises category.")] = None,
) -> None:
    """The items in use (of a category), with their severity and source."""
    from rich.table import Table

    version = _in_use(ctx)
    items = version.checklists.for_category(category) if category else version.checklists.items
    table = Table(title=f"checklists version {version.number} ({version.created_by}, {version.created_at:%Y-%m-%d})")
    for column in ("id", "severity", "check", "basis", "categories"):
        table.add_column(column)
    for i in items:
        where = "all" if i.categories == "all" else ", ".join(i.categories)
        table.add_row(i.id, i.severity, i.zh, i.basis, where)
    console.print(table)
