"""What every sub-command shares: the settings from the context and the consoles."""

from __future__ import annotations

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
