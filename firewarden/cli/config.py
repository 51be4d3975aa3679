"""``firewarden config``: what the process would run with."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from core.settings import ENV_PREFIX, describe_settings
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the effective settings, passwords masked."""
    shown = settings_of(ctx).masked()
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    width = max(len(name) for name in shown)
    for name, value in shown.items():
        console.print(f"{name:<{width}}  {value}    [dim]({ENV_PREFIX}{name.upper()})[/]")


@app.command("describe")
def describe() -> None:
    """List every setting: its environment variable, default and meaning."""
    for variable, default, description in describe_settings():
        console.print(f"[bold]{variable}[/]  (default {escape(default)})\n    {escape(description)}")
