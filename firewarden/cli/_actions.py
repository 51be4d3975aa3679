"""Alerts' and supervision's faces for the commands that act on the running system's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from firewarden.cli._context import settings_of

if TYPE_CHECKING:
    from alerts import Actions
    from supervision import Supervision


@contextmanager
def open_actions(ctx: typer.Context, url: str | None = None) -> Iterator[Actions]:
    """Alerts' actions over ``url``, else the configured database (the embedded one must be running:
    `firewarden up` or `broker`). Feedback for scoring is not published from a command line."""
    from alerts import Actions, directory_of
    from core.db import open_pool
    from core.policy import load_policy

    settings = settings_of(ctx)
    url = url or settings.database_url
    if url is None:
        raise typer.BadParameter(
            "needs FIREWARDEN_DATABASE_URL (or --database-url): the database `firewarden up` runs against",
            param_hint="--database-url",
        )
    with open_pool(url, max_size=2) as pool:
        yield Actions(pool, load_policy(settings.policy_file), directory_of(settings), None)


@contextmanager
def open_supervision(ctx: typer.Context, url: str) -> Iterator[Supervision]:
    """Supervision's commands over ``url``, with the shipped discretion table."""
    from supervision import Supervision, shipped_discretion

    with open_actions(ctx, url) as actions:
        yield Supervision(actions, shipped_discretion())
