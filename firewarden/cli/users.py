"""``firewarden users`` and ``firewarden tokens``: who may log in to the console, and integrations' tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from firewarden.cli._context import console, settings_of

if TYPE_CHECKING:
    from console import Accounts

app = typer.Typer(help="Console users: operators, inspectors, admins.", no_args_is_help=True)

ACTOR = "admin:cli"


@contextmanager
def open_accounts(ctx: typer.Context) -> Iterator[Accounts]:
    from console import Accounts
    from core.db import open_pool

    settings = settings_of(ctx)
    if settings.database_url is None:
        raise typer.BadParameter(
            "needs FIREWARDEN_DATABASE_URL (or --database-url): the database the console runs against",
            param_hint="--database-url",
        )
    with open_pool(settings.database_url, max_size=2) as pool:
        yield Accounts(pool)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    text: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return text


@app.command("add")
def users_add(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Login name: letters, digits, _ . @ -.")],
    role: Annotated[Literal["operator", "inspector", "admin", "unit"], typer.Option(help="What the user may do.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the login name).")] = None,
    inspector: Annotated[str | None, typer.Option(help="Registry inspector an inspector user is.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Jurisdiction (default: the inspector's).")] = None,
    premises: Annotated[
        list[str] | None, typer.Option(help="A unit user's premises (repeat for several); role unit only.")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    no_password: Annotated[bool, typer.Option(help="No web login: API tokens only.")] = False,
) -> None:
    """Make a user; asks for the password (at least 10 characters) unless told otherwise."""
    password = None if no_password else _password(password_stdin)
    with open_accounts(ctx) as accounts:
        made = accounts.add_user(
            user_id, name or user_id, role, datetime.now(UTC), password=password, inspector_id=inspector,
            jurisdiction_id=jurisdiction, premises=tuple(premises or ()), actor=ACTOR,
        )  # fmt: skip
    where = f", sees {made.jurisdiction_id} and below" if made.scope is not None and made.role != "unit" else ""
    if made.premises:
        where = f", answers for {', '.join(sorted(made.premises))}"
    console.print(f"user {made.id} added as {made.role}{where}")


@app.command("list")
def users_list(ctx: typer.Context) -> None:
    with open_accounts(ctx) as accounts:
        rows = accounts.users()
    table = Table(title=f"{len(rows)} user(s)")
    for column in ("id", "name", "role", "inspector", "jurisdiction", "premises", "login", "disabled"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], r["name"], r["role"], r["inspector_id"] or "-", r["jurisdiction_id"] or "-",
                      ", ".join(r["premises_ids"]) or "-",
                      "password" if r["can_log_in"] else "tokens only", "yes" if r["disabled"] else "")  # fmt: skip
    console.print(table)


@app.command("password")
def users_password(
    ctx: typer.Context,
    user_id: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Set a new password; the user's open sessions end."""
    password = _password(password_stdin)
    with open_accounts(ctx) as accounts:
        accounts.set_password(user_id, password, datetime.now(UTC), actor=ACTOR)
    console.print(f"password of {user_id} set; their sessions ended")


@app.command("disable")
def users_disable(ctx: typer.Context, user_id: str) -> None:
    """Refuse the user's logins and tokens from now on (and end their sessions)."""
    with open_accounts(ctx) as accounts:
        accounts.set_disabled(user_id, True, datetime.now(UTC), actor=ACTOR)
    console.print(f"{user_id} disabled")


@app.command("enable")
def users_enable(ctx: typer.Context, user_id: str) -> None:
    with open_accounts(ctx) as accounts:
        accounts.set_disabled(user_id, False, datetime.now(UTC), actor=ACTOR)
    console.print(f"{user_id} enabled")
