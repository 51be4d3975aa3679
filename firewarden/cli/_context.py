"""What every sub-command shares: the settings from the context and the consoles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from core.settings import Settings

PIPED_WIDTH = 160
"""Columns of tables written to a pipe or a file (a terminal's own width otherwise, or ``COLUMNS``):
rich's 80 cut the evaluation tables' figures short in logs."""


def _width(stream: object) -> int | None:
    terminal = getattr(stream, "isatty", lambda: False)()
    return None if terminal or "COLUMNS" in os.environ else PIPED_WIDTH


console = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
console_err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


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
