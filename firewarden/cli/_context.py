"""What every sub-command shares: the settings from the context and the consoles."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from core.settings import Settings

console = Console(highlight=False, soft_wrap=True)
console_err = Console(stderr=True, highlight=False, soft_wrap=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the top-level callback built; every sub-command runs after it."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise RuntimeError("settings were not built: the top-level callback did not run")
    return settings


def emit(text: str, out: Path | None, written: str | None = None) -> None:
    """``text`` to standard output, or to the file ``out`` with ``written`` (default ``wrote <out>``) said."""
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    console.print(written or f"wrote {out}")
