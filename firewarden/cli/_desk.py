"""The alert desk the inspectors' commands (``tasks``, ``schedule``) work through."""

from __future__ import annotations

from typing import Any

import typer

from firewarden.cli._context import settings_of


def open_desk(ctx: typer.Context) -> Any:
    """A desk over the configured database (the embedded one must be running: `firewarden up` or `broker`)."""

    from alerts.service import directory_of
    from alerts.store.desk import Desk
    from alerts.store.roster import load_roster
    from core.db import open_pool
    from core.policy import load_policy

    settings = settings_of(ctx)
    if settings.database_url is None:
        raise typer.BadParameter(
            "needs FIREWARDEN_DATABASE_URL (or --database-url): the database `firewarden up` runs against",
            param_hint="--database-url",
        )
    pool = open_pool(settings.database_url, max_size=2)
    with pool.connection() as conn:
        roster = load_roster(conn)
    return Desk(pool, roster, load_policy(settings.policy_file), directory_of(settings))
