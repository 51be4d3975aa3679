"""``firewarden replay``: what a changed policy would have done with a recorded stream (docs/scoring.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import SettingsError
from firewarden.cli._context import console, settings_of


def replay(
    ctx: typer.Context,
    policy: Annotated[Path, typer.Option("--policy", help="The changed policy file (TOML) to try.")],
    against: Annotated[
        Path | None,
        typer.Option(help="The policy to compare with. Default: the policy in force (--policy-file, or the defaults)."),
    ] = None,
    recording: Annotated[
        Path | None, typer.Option(help="A stream written by `firewarden simulate run --record`.")
    ] = None,
    registry_file: Annotated[
        Path | None,
        typer.Option("--registry", help="The recording's registry file (its fleet). Default: the database's."),
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Replay what the database stored from this time (ISO 8601 with offset).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="... until this time (exclusive).")] = None,
    changes: Annotated[int, typer.Option(min=0, help="List at most this many alarm episodes judged differently.")] = 20,
) -> None:
    """Score a recorded stream under the policy in force and under --policy; print the difference.

    The stream is a recording (--recording, with its fleet --registry) or what the database stored for
    a period (--since/--until, with the database's registry). Prints alarm episodes, confirmed fires,
    incidents by class, pages to the centre and to inspectors, tier changes and hazards under both
    policies, then the episodes judged differently.
    """
    from core import registry as registry_files
    from core.policy import load_policy
    from scoring import models_for
    from training import accepted_records, compare, replay_policies, stored_stream

    if (recording is None) == (since is None and until is None):
        raise SettingsError("give either --recording FILE or --since and --until, not both and not neither")
    if recording is None and (since is None or until is None or since.tzinfo is None or until.tzinfo is None):
        raise SettingsError("--since and --until are both needed, as ISO 8601 times with an offset")
    settings = settings_of(ctx)
    before, after = load_policy(against or settings.policy_file), load_policy(policy)
    models = models_for(settings)
    if recording is not None:
        from simulators import read_recording

        if registry_file is not None:
            registry = registry_files.load(registry_file)
        else:
            from core.db import connect
            from core.registry import export_registry
            from core.services import database_url

            with database_url(settings) as url, connect(url) as conn:
                registry = export_registry(conn)
        with console.status(f"reading {recording}"):
            records = [r for _, batch in accepted_records(registry, read_recording(recording)) for r in batch]
        source = str(recording)
    else:
        from core.services import database_url

        assert since is not None and until is not None
        with database_url(settings) as url, console.status("reading the stored messages"):
            registry, records = stored_stream(url, since, until)
        source = f"stored messages {since.isoformat()} - {until.isoformat()}"
    with console.status(f"scoring {len(records):,} records under both policies"):
        was, would = replay_policies(before, after, models, registry, records)
    rows, changed = compare(was, would)
    table = Table(title=f"{source}: {len(records):,} records")
    table.add_column("")
    table.add_column(str(against or settings.policy_file or "policy in force (defaults)"), justify="right")
    table.add_column(str(policy), justify="right")
    table.add_column("difference", justify="right")
    for row in rows:
        table.add_row(row.name, _number(row.before), _number(row.after), _number(row.difference, signed=True))
    console.print(table)
    if not changed:
        console.print("no alarm episode is judged differently")
        return
    episodes = Table(title=f"alarm episodes judged differently: {len(changed)}")
    for column in ("alarm", "premises", "zone", "opened", "in force", "changed"):
        episodes.add_column(column)
    for c in changed[:changes]:
        episodes.add_row(c.alarm_id, c.premises_id, c.zone, c.opened_at.isoformat(), c.before, c.after)
    console.print(episodes)
    if len(changed) > changes:
        console.print(f"... and {len(changed) - changes} more (--changes)")


def _number(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:+,.0f}" if signed else f"{value:,.0f}"
    return "0" if signed and value == 0 else text
