"""``firewarden registry``: import and export the registry file (docs/registry.md)."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core import registry
from core.db import connect
from core.services import database_url
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Premises, devices, jurisdictions, inspectors and the duty roster.", no_args_is_help=True)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Registry file, .yaml/.yml or .json.")],
) -> None:
    """Upsert a registry file, all or nothing: on any problem the database is left unchanged."""
    settings = settings_of(ctx)
    started = time.perf_counter()
    parsed = registry.load(file)
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        results = registry.import_registry(conn, parsed, source=str(file), actor=f"cli:{getpass.getuser()}")
    table = Table("table", "new", "changed", "unchanged", title=f"imported {file}")
    for result in results:
        table.add_row(result.table, str(result.inserted), str(result.updated), str(result.unchanged))
    console.print(table)
    console.print(f"done in {time.perf_counter() - started:.1f} s")


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here; format from the extension.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="yaml or json (default: from --output, else yaml).")
    ] = None,
) -> None:
    """Write the whole registry as a registry file (to standard output without --output)."""
    settings = settings_of(ctx)
    chosen: registry.FileFormat
    if fmt in ("yaml", "json"):
        chosen = "json" if fmt == "json" else "yaml"
    elif fmt is not None:
        raise typer.BadParameter(f"valid values are yaml or json, got {fmt!r}", param_hint="--format")
    else:
        chosen = registry.format_of(output) if output else "yaml"
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        text = registry.dump(registry.export_registry(conn), chosen)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
