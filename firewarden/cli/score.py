"""``firewarden score``: a scoring worker."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of


def score(ctx: typer.Context) -> None:
    """Run a scoring worker: the faust app on the kafka bus (any number of workers, split by partitions)."""
    from firewarden.processes.scoring import run_score

    run_score(settings_of(ctx))
