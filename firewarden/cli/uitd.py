"""``firewarden uitd``: the centre's GB/T 26875.3 commands to a UITD (docs/operations.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from core.services import database_url, mqtt_url
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Commands to GB/T 26875.3 UITDs: duty check, clock sync, and what they answered.")

DeviceArg = Annotated[str, typer.Argument(help="The UITD's device id.")]


def _send(ctx: typer.Context, device: str, kind: str, answer_minutes: int = 10) -> None:
    from core import uitd

    settings = settings_of(ctx)
    with database_url(settings) as db, mqtt_url(settings) as broker:
        sent = uitd.send_command(
            db,
            broker,
            device,
            kind,  # type: ignore[arg-type]
            actor=f"cli:{getpass.getuser()}",
            now=datetime.now(UTC),
            centre=bytes.fromhex(settings.gb26875_centre_address),
            answer_minutes=answer_minutes,
        )
    console.print(
        f"sent {kind.replace('_', ' ')} to {device} (serial {sent.serial}); "
        f"`firewarden uitd commands {device}` shows its answer"
    )


@app.command("duty-check")
def duty_check(
    ctx: typer.Context,
    device: DeviceArg,
    answer_minutes: Annotated[
        int, typer.Option(min=1, max=255, help="Minutes the person on duty has to press the answer key.")
    ] = 10,
) -> None:
    """Ask the fire control room to prove it is staffed (查岗): the UITD sounds until someone answers."""
    _send(ctx, device, "duty_check", answer_minutes)


@app.command("sync-clock")
def sync_clock(ctx: typer.Context, device: DeviceArg) -> None:
    """Set the UITD's clock to the centre's time."""
    _send(ctx, device, "sync_clock")


@app.command("commands")
def list_commands(
    ctx: typer.Context,
    device: DeviceArg,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
) -> None:
    """The commands sent to a UITD and what it answered: confirmed, denied, and for duty checks when
    the person on duty answered."""
    from core import uitd

    with database_url(settings_of(ctx)) as db:
        rows = uitd.commands(db, device, limit)
    table = Table(
        "sent at", "command", "serial", "by", "confirmed", "denied", "answered", title=f"commands to {device}"
    )

    def when(moment: datetime | None) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"

    for c in rows:
        table.add_row(
            when(c.sent_at),
            c.kind,
            str(c.serial),
            c.sent_by,
            when(c.confirmed_at),
            when(c.denied_at),
            when(c.answered_at) if c.kind == "duty_check" else "",
        )
    console.print(table)
