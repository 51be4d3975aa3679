"""``firewarden schedule``: the dual-prevention schedule's random draw, its check and its publication."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from firewarden.cli._actions import open_actions
from firewarden.cli._context import console, emit

app = typer.Typer(help="The dual-prevention schedule: the random draw.", no_args_is_help=True)


@app.command("draw")
def schedule_draw(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="The period drawn, e.g. 2026-11.")],
    beacon: Annotated[
        str | None,
        typer.Option(help="A value published before the draw (a lottery result...): the seed is derived from it."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="A seed of your own instead of a beacon (cannot be checked).")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who makes the draw.")] = "system",
) -> None:
    """The period's random draw (双随机): premises from the pool and two inspectors each, never their own.
    With --beacon, anyone can check it afterwards (`firewarden schedule verify`)."""
    from alerts import seed_of

    if (beacon is None) == (seed is None):
        raise typer.BadParameter("give either --beacon (a published value) or --seed", param_hint="--beacon/--seed")
    with open_actions(ctx) as actions:
        drawn = asyncio.run(actions.run_draw(period, datetime.now(UTC), actor, beacon=beacon, seed=seed))
    for premises_id, inspectors in drawn:
        console.print(f"{premises_id}: {', '.join(inspectors)}")
    used = seed_of(period, beacon) if beacon is not None else seed
    console.print(
        f"{len(drawn)} premises drawn for {period} with seed {used}" + (f" (beacon {beacon!r})" if beacon else "")
    )


@app.command("verify")
def schedule_verify(
    ctx: typer.Context, period: Annotated[str, typer.Option(help="The period whose draw to check.")]
) -> None:
    """Draw the period again from its recorded inputs and compare; exit 1 when anything differs."""
    with open_actions(ctx) as actions:
        verdict = actions.verify_draw(period)
    console.print(
        f"draw {period}: seed {verdict.seed} {'matches' if verdict.seed_matches else 'DOES NOT match'} its beacon "
        f"{verdict.beacon!r}; {verdict.drawn} of {verdict.pool} premises drawn; the result "
        f"{'matches' if verdict.result_matches else 'DOES NOT match'} a new draw from the recorded inputs"
    )
    if not verdict.intact:
        raise typer.Exit(1)


@app.command("publish")
def schedule_publish(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="The period whose draw to publish.")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="CSV file; unset: standard output.")] = None,
) -> None:
    """The draw's publication (一公开) as CSV: premises, unit, inspectors by name, seed, beacon, outcome."""
    from alerts import draw_as_csv

    with open_actions(ctx) as actions:
        text = draw_as_csv(actions.draw_publication(period))
    emit(text, out)
