"""``firewarden up``: the whole system in one process."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of


def up(ctx: typer.Context) -> None:
    """Run ingest, scoring, alerts and the console in one process until Ctrl-C (embedded services by default)."""
    from firewarden.processes.system import run_up

    run_up(settings_of(ctx))
