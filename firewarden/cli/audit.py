"""``firewarden audit verify``: walk the audit log's hash chain and say whether it is intact."""

from __future__ import annotations

import typer

from core.db import connect
from core.db.audit import verify
from core.services import database_url
from firewarden.cli._context import console, console_err, settings_of

app = typer.Typer(help="The audit log: verify its hash chain.", no_args_is_help=True)


@app.command("verify")
def verify_command(ctx: typer.Context) -> None:
    """Check that no audit entry was removed, altered or slipped in; exit 1 when one was.

    Prints the chain's head (position and hash): keep it somewhere else, and a later run's head must
    extend it.
    """
    settings = settings_of(ctx)
    with database_url(settings) as url, connect(url) as conn:
        verdict = verify(conn)
    head = verdict.head_hash.hex() if verdict.head_hash else "(empty)"
    if verdict.intact:
        console.print(f"audit log intact: {verdict.entries} entries, head at position {verdict.head_pos}: {head}")
        return
    console_err.print(f"[bold red]audit log broken[/]: {verdict.entries} entries, head at position {verdict.head_pos}")
    for problem in verdict.problems:
        console_err.print(f"  - {problem}", highlight=False)
    raise typer.Exit(1)
