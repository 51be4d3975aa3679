"""``firewarden db``: schema migrations and status."""

from __future__ import annotations

from typing import Annotated

import typer

from core.backoff import retry_for
from core.db import can_alter_audit_log, connect, migrate, schema_status
from core.errors import DatabaseError
from core.services import database_url, owner_database_url
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Database schema: migrate and status.", no_args_is_help=True)


@app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    wait: Annotated[
        float,
        typer.Option(min=0, max=3600, help="Wait up to this many seconds for the database to answer."),
    ] = 0,
) -> None:
    """Apply pending migrations as the owner of the tables (FIREWARDEN_DATABASE_OWNER_URL, else
    FIREWARDEN_DATABASE_URL), and grant the application role its rights. Idempotent; safe when several
    processes run it at once."""
    settings = settings_of(ctx)
    with owner_database_url(settings) as url:
        opened = retry_for(
            lambda: connect(url, autocommit=True), what="connecting to the database", errors=(DatabaseError,),
            timeout_s=wait,
        )  # fmt: skip
        with opened as conn:
            report = migrate(conn, settings.timescale)
    if report.applied:
        applied = ", ".join(f"{v:04d}" for v in report.applied)
        console.print(f"applied {len(report.applied)} migration(s): {applied}; schema at version {report.version}")
    else:
        console.print(f"schema already at version {report.version}; nothing to apply")
    console.print(f"storage flavour: {report.flavour}")


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Show the schema version, pending migrations and whether TimescaleDB is in use."""
    settings = settings_of(ctx)
    with database_url(settings) as url, connect(url, autocommit=True) as conn:
        status = schema_status(conn)
        role = conn.execute("SELECT current_user").fetchone()
        owner = can_alter_audit_log(conn)
    console.print(f"server:          PostgreSQL {status.server_version}")
    console.print(f"schema version:  {status.version} of {status.latest}")
    if status.pending:
        console.print(f"pending:         {', '.join(f'{v:04d}' for v in status.pending)} (run `firewarden db migrate`)")
    console.print(f"flavour:         {status.flavour or '(not migrated yet)'}")
    if status.timescale_installed:
        timescale = f"in use (extension {status.timescale_installed})"
    elif status.timescale_support == "ready":
        timescale = "installed and preloaded on the server, not enabled in this database"
    elif status.timescale_support == "not_preloaded":
        timescale = "installed on the server but not in shared_preload_libraries"
    else:
        timescale = "not installed on the server"
    console.print(f"timescaledb:     {timescale}")
    shown = f"{role[0] if role else '?'}"
    if owner:
        shown += " - owns the tables or is a superuser: it could alter the audit log (see docs/operations.md)"
    console.print(f"application:     {shown}")
