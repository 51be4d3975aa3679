"""``firewarden tokens``: API tokens for integrations, each acting as a user."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from firewarden.cli._context import console
from firewarden.cli.users import ACTOR, open_accounts

app = typer.Typer(help="API tokens for integrations (each acts as a user).", no_args_is_help=True)


@app.command("add")
def tokens_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'dispatch-bridge'.")],
    days: Annotated[float | None, typer.Option(min=0.01, help="Expires after this many days; default never.")] = None,
) -> None:
    """Print a new token (shown this once): send it as ``Authorization: Bearer <token>``."""
    with open_accounts(ctx) as accounts:
        token = accounts.add_token(user_id, name, datetime.now(UTC), days, actor=ACTOR)
    sys.stdout.write(token + "\n")


@app.command("list")
def tokens_list(ctx: typer.Context) -> None:
    with open_accounts(ctx) as accounts:
        rows = accounts.tokens()
    table = Table(title=f"{len(rows)} token(s)")
    for column in ("id", "user", "name", "created", "expires", "revoked"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["user_id"], r["name"], f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['expires_at']:%Y-%m-%d}" if r["expires_at"] else "never",
                      f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "")  # fmt: skip
    console.print(table)


@app.command("revoke")
def tokens_revoke(ctx: typer.Context, token_id: int) -> None:
    with open_accounts(ctx) as accounts:
        accounts.revoke_token(token_id, datetime.now(UTC), actor=ACTOR)
    console.print(f"token {token_id} revoked")
