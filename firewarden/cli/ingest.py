"""``firewarden ingest``: MQTT to validated records in PostgreSQL and on the stream bus."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of


def ingest(ctx: typer.Context) -> None:
    """Ingest device messages until SIGTERM/SIGINT, then store what was received and exit.

    Tuned by the FIREWARDEN_INGEST_* settings (see `firewarden config describe`).
    """
    from firewarden.processes.ingest import run_ingest  # the core imports no stage at module level

    run_ingest(settings_of(ctx))
