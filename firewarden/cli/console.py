"""``firewarden console``: the console and its HTTP API."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of


def console(ctx: typer.Context) -> None:
    """Serve the console and its HTTP API until SIGTERM/SIGINT (FIREWARDEN_API_HOST/PORT); stateless, any
    number behind a load balancer. People's actions reach scoring through Kafka (FIREWARDEN_BUS=kafka://...)."""
    from firewarden.processes.console import run_console

    run_console(settings_of(ctx))
