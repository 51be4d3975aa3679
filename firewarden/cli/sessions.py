"""``firewarden sessions``: broker sessions ingest found lost, and an operator's acknowledgement of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from core.services import database_url
from firewarden.cli._context import console, settings_of

app = typer.Typer(
    help="MQTT broker sessions ingest expected and found lost: list them, acknowledge them.", no_args_is_help=True
)


@app.command("lost")
def lost(
    ctx: typer.Context,
    everything: Annotated[bool, typer.Option("--all", help="Acknowledged ones too.")] = False,
) -> None:
    """The sessions a broker lost, newest first: messages published in each window may be gone.

    Unacknowledged ones keep the ingest process that found them not ready (/readyz 503) for
    FIREWARDEN_INGEST_SESSION_LOSS_HOLD_S.
    """
    from ingest import session_losses

    with database_url(settings_of(ctx)) as url:
        rows = session_losses(url, pending_only=not everything)
    if not rows:
        console.print("no lost session" + ("" if everything else " waiting for acknowledgement"))
        return
    table = Table("id", "client id", "lost from", "until", "acknowledged")
    for r in rows:
        done = f"{r.acknowledged_at:%Y-%m-%d %H:%M:%S} by {r.acknowledged_by}" if r.acknowledged_at else "no"
        table.add_row(str(r.id), r.client_id, f"{r.lost_from:%Y-%m-%d %H:%M:%S%z}", f"{r.lost_until:%H:%M:%S%z}", done)
    console.print(table)


@app.command("acknowledge")
def acknowledge(
    ctx: typer.Context,
    actor: Annotated[str, typer.Option(help="Who acknowledges, e.g. admin:ops-li (written to the audit log).")],
    ids: Annotated[list[int] | None, typer.Argument(help="Losses to acknowledge; none: every open one.")] = None,
) -> None:
    """Acknowledge lost sessions (after recovering what the devices can send again): ingest is ready again
    within seconds."""
    from ingest import acknowledge_session_losses

    with database_url(settings_of(ctx)) as url:
        done = acknowledge_session_losses(url, ids or None, actor, datetime.now(UTC))
    console.print(f"acknowledged {len(done)} lost session(s){': ' + ', '.join(map(str, done)) if done else ''}")
