"""``firewarden demo``: ``up`` with a generated city, a scenario and a live summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from firewarden.cli._context import console, settings_of


def demo(
    ctx: typer.Context,
    premises: Annotated[int, typer.Option(min=1, max=5000, help="Premises in the generated city.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and the scenario.")] = 1,
    scenario: Annotated[Path | None, typer.Option(help="Scenario file; default examples/scenario-demo.yaml.")] = None,
    gb26875: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of UITDs that speak GB/T 26875.3 frames (0-1).")
    ] = 0.5,
) -> None:
    """`up` plus a generated city, a scenario mix in real time, a webhook inbox and a live summary."""
    from firewarden.processes.demo import Demo, DemoOptions
    from firewarden.processes.system import run_up

    options = DemoOptions(premises=premises, seed=seed, gb26875=gb26875)
    if scenario is not None:
        options = DemoOptions(premises=premises, seed=seed, scenario=scenario, gb26875=gb26875)
    run_up(settings_of(ctx), Demo(options), console)
