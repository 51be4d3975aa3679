"""``firewarden alerts``: an alerts process."""

from __future__ import annotations

import typer

from firewarden.cli._context import settings_of


def alerts(ctx: typer.Context) -> None:
    """Run an alerts process until SIGTERM/SIGINT: scoring's decisions from Kafka into incidents, hazards and
    the schedule; escalation timers; deliveries. Any number side by side (FIREWARDEN_BUS=kafka://...)."""
    from firewarden.processes.alerts import run_alerts

    run_alerts(settings_of(ctx))
