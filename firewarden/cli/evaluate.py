"""``firewarden evaluate``: scoring judged against the simulators' ground truth.

Without a sub-command, a simulated city with every scenario kind (or the decisions stored in the
database, against a run's ground truth); ``evaluate verification``, the alarm verification matrix;
``evaluate gauges``, the water-system gauge matrix; ``evaluate risk``, the risk model against the oracle.
The offline packages are imported inside the commands, never when the CLI loads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer
from rich.table import Table

from core.errors import SettingsError
from firewarden.cli._context import console, settings_of

if TYPE_CHECKING:
    from core.policy import Policy
    from training import Result

app = typer.Typer(
    help="Judge scoring against ground truth. Without a command: a simulated city with every scenario kind "
    "(or the stored decisions, with --ground-truth); `verification`: the alarm verification matrix; "
    "`gauges`: the water-system gauge matrix; `risk`: the risk model against the oracle."
)


@app.callback(invoke_without_command=True)
def fleet_command(
    ctx: typer.Context,
    premises: Annotated[int, typer.Option(min=1, help="Simulated premises.")] = 60,
    hours: Annotated[float, typer.Option(min=1, help="Simulated hours.")] = 24,
    per_kind: Annotated[int, typer.Option(min=1, help="Scenarios of each kind.")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed of the run.")] = 21,
    gb26875: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of UITDs that speak GB/T 26875.3 frames (0-1).")
    ] = 0.5,
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path("evaluation.png"),
    ground_truth: Annotated[
        Path | None,
        typer.Option(
            help="Judge the decisions stored in the database against this ground truth (JSONL from "
            "`firewarden simulate run`) instead of replaying a run in memory."
        ),
    ] = None,
) -> None:
    """Judge scoring's decisions against the simulators' ground truth (`evaluate verification`: the matrix).

    Without --ground-truth: replays a simulated city with every scenario kind through the scorer.
    Prints detection rate and time to detect per kind, nuisance alarms escalated, the latency of
    confirming records (replay only) and the risk model's AUC on 2,000 held-out simulated premises
    (`evaluate risk` judges it properly);
    writes a PNG plot. Exit code 1 if a real fire was not confirmed.
    """
    if ctx.invoked_subcommand is not None:
        return
    from core.policy import load_policy
    from scoring import models_for
    from training import (
        evaluation_table,
        judge,
        plot_evaluation,
        read_ground_truth,
        replay_fleet,
        risk_auc,
        stored_decisions,
    )  # fmt: skip

    settings = settings_of(ctx)
    models = models_for(settings)
    if ground_truth is not None:
        from core.services import database_url

        try:
            truths = read_ground_truth(ground_truth)
        except (OSError, ValueError) as error:
            raise SettingsError(f"--ground-truth: {error}") from None
        with database_url(settings) as url, console.status("reading stored decisions"):
            decisions = stored_decisions(url)
        ev = judge(truths, decisions, [], 0, risk_auc(models))
        title = f"stored decisions against {ground_truth}"
    else:
        with console.status(f"replaying {premises} premises for {hours:g} h, {per_kind} of each scenario kind"):
            truths, decisions, latencies, records = replay_fleet(
                load_policy(settings.policy_file),
                models,
                premises=premises,
                hours=hours,
                seed=seed,
                per_kind=per_kind,
                gb26875=gb26875,
            )
            ev = judge(truths, decisions, latencies, records, risk_auc(models))
        title = f"scoring against ground truth ({premises} premises, {hours:g} h, seed {seed})"
    table = Table(title=title)
    for column in ("scenario kind", "detected", "rate", "median time to detect"):
        table.add_column(column)
    for row in evaluation_table(ev):
        table.add_row(*row)
    console.print(table)
    console.print(f"real fires confirmed: {ev.fires_confirmed}/{ev.fires}")
    console.print(
        f"nuisance alarms (cooking, flapping, tests) not escalated as confirmed fires: "
        f"{ev.nuisance_alarms - ev.nuisance_escalated}/{ev.nuisance_alarms} ({ev.nuisance_not_escalated:.0%})"
    )
    p99 = ev.latency_p99() * 1000
    console.print(f"confirming record → confirmed decision: p99 {p99:.2f} ms over {len(ev.latencies_s)} confirmations")
    console.print(f"records scored: {ev.records}, decisions: {ev.decisions}, tiers at the end: {ev.tiers}")
    console.print(
        f"risk model AUC on 2,000 held-out simulated premises (history seed 97, whatever the run's; "
        f"`firewarden evaluate risk` judges the model against the best ranking possible): {ev.risk_auc:.3f}"
    )
    unexplained = ", ".join(f"{key} {n}" for key, n in ev.unexplained.items()) or "none"
    console.print(f"anomaly signals on devices no scenario touched: {sum(ev.unexplained.values())} ({unexplained})")
    plot_evaluation(ev, plot)
    console.print(f"plot: {plot}")
    if ev.fires_confirmed < ev.fires:
        raise typer.Exit(1)


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SettingsError(f"--{name}: {text!r} is not a comma-separated list of numbers") from None
    if not values or any(v <= 0 for v in values):
        raise SettingsError(f"--{name}: give one or more positive numbers, got {text!r}")
    return values


def _counts(text: str, name: str, most: int) -> tuple[int, ...]:
    """Comma-separated whole numbers from 0 to ``most``. Raises SettingsError naming the option."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or not all(v.isdigit() and int(v) <= most for v in values):
        raise SettingsError(f"--{name}: {text!r}: give whole numbers from 0 to {most}, comma-separated")
    return tuple(dict.fromkeys(int(v) for v in values))


def _names(text: str, name: str, valid: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in values if v not in valid]
    if unknown or not values:
        raise SettingsError(f"--{name}: unknown {', '.join(unknown) or 'nothing'}; valid values are {', '.join(valid)}")
    return values


@app.command("verification")
def verification_command(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Trials (seeds) per cell.")] = 30,
    intervals: Annotated[str, typer.Option(help="Room sensor reporting intervals, s, comma-separated.")] = (
        "1,2,5,10,60,300,3600"
    ),
    noise: Annotated[str, typer.Option(help="Sensor noise standard deviations, °C, comma-separated.")] = (
        "0.1,0.2,0.5,1.0"
    ),
    uses: Annotated[str, typer.Option(help="Zone uses, comma-separated.")] = (
        "ordinary,kitchen,boiler_room,car_park,ebike_charging"
    ),
    cases: Annotated[str, typer.Option(help="Cases, comma-separated (default: all).")] = "",
    workers: Annotated[int, typer.Option(min=1, help="Processes to run trials on.")] = 2,
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path("verification.png"),
    cells_csv: Annotated[Path | None, typer.Option("--csv", help="Also write every cell to this CSV file.")] = None,
) -> None:
    """The alarm verification matrix: cases × reporting intervals × noise × zone uses, SEEDS trials each.

    Prints the confusion matrix, confirmation rates with 95 % Wilson intervals per case and interval,
    the worst cells and the targets of docs/scoring.md; writes a PNG (and a CSV of every cell). Scores
    under the policy in force (--policy-file / FIREWARDEN_POLICY_FILE). Exit code 1 when a target is not met.
    """
    from core.domain import ZONE_USES
    from core.policy import load_policy
    from scoring import models_for
    from simulators import CASES
    from training import Grid, plot_matrix, run_matrix, targets, write_matrix_cells

    settings = settings_of(ctx)
    grid = Grid(
        cases=_names(cases, "cases", CASES) if cases else CASES,
        intervals=_floats(intervals, "intervals"),
        noises=_floats(noise, "noise"),
        uses=_names(uses, "uses", ZONE_USES),
        seeds=seeds,
    )
    policy = load_policy(settings.policy_file)
    models = models_for(settings)
    with console.status(f"{grid.size:,} trials") as status:
        results = run_matrix(
            grid, policy, models, workers=workers, progress=lambda n: status.update(f"{n:,}/{grid.size:,} trials")
        )
    _print_matrix(results, policy)
    plot_matrix(results, plot)
    console.print(f"plot: {plot}")
    if cells_csv is not None:
        write_matrix_cells(results, cells_csv)
        console.print(f"cells: {cells_csv}")
    if not all(t.met for t in targets(results, policy) if t.required):
        raise typer.Exit(1)


def _print_matrix(results: list[Result], policy: Policy) -> None:
    from simulators import FIRES
    from training import Confusion, fmt_delay, pooled, targets, worst_cells

    c = Confusion.of(results)
    confusion = Table(title=f"confusion matrix, {len(results):,} trials")
    for column in ("", "confirmed", "not confirmed"):
        confusion.add_column(column)
    confusion.add_row("fire", f"{c.fires_confirmed:,}", f"{c.fires_missed:,}")
    confusion.add_row("not a fire", f"{c.nuisance_confirmed:,}", f"{c.nuisance_not_confirmed:,}")
    console.print(confusion)
    intervals = sorted({r.trial.interval_s for r in results})
    cells = pooled(results, lambda t: (t.case, t.interval_s))
    rates = Table(title="confirmed, % [95 % Wilson interval], by room sensor interval; pooled over noise and uses")
    delays = Table(title="first alarm → confirmed, median / p95 s")
    for table in (rates, delays):
        table.add_column("case")
        for interval in intervals:
            table.add_column(f"{interval:g} s", justify="right")
    for case in dict.fromkeys(k[0] for k in cells):
        row, times = [str(case)], [str(case)]
        for interval in intervals:
            cell = cells.get((case, interval))
            low, high = cell.interval if cell else (0.0, 0.0)
            row.append(f"{cell.rate:.0%} [{low:.0%}-{high:.0%}]" if cell else "")
            times.append(f"{fmt_delay(cell.delay(0.5))}/{fmt_delay(cell.delay(0.95))}" if cell else "")
        rates.add_row(*row)
        if case in FIRES:
            delays.add_row(*times)
    console.print(rates)
    console.print(delays)
    worst = Table(title="worst cells: fires least confirmed, nuisance most confirmed (case, interval, noise, use)")
    for column in ("cell", "confirmed", "95 % interval"):
        worst.add_column(column)
    for cell in worst_cells(results):
        low, high = cell.interval
        worst.add_row(" · ".join(map(str, cell.key)), f"{cell.confirmed}/{cell.trials}", f"{low:.1%}-{high:.1%}")
    console.print(worst)
    for target in targets(results, policy):
        mark = ("[green]met[/]" if target.met else "[red]NOT MET[/]") if target.required else "[dim]reported[/]"
        console.print(f"{mark}  {target.name}: {target.figure}")


@app.command("gauges")
def gauges_command(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Trials (seeds) per cell.")] = 30,
    intervals: Annotated[str, typer.Option(help="Gauge report intervals, s, comma-separated.")] = "60,300,600,3600",
    faults: Annotated[str, typer.Option(help="Faults, comma-separated (default: all).")] = "",
    workers: Annotated[int, typer.Option(min=1, help="Processes to run trials on.")] = 2,
    peers: Annotated[
        str,
        typer.Option(help="How many other gauges share the trial gauge's water system, comma-separated: 0, 1, 2..."),
    ] = "0,1",
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path("gauges.png"),
    cells_csv: Annotated[Path | None, typer.Option("--csv", help="Also write every cell to this CSV file.")] = None,
) -> None:
    """The gauge matrix: water-system faults × report intervals × fault sizes, SEEDS trials each.

    One sprinkler pressure or tank level gauge per trial, alone and with other gauges on its water
    system (--peers: how many, each count its own trials), three healthy days, then the fault for two days. Prints, per
    cell, how many were caught (the sensor fault's own signal, or a threshold rule
    for a real loss), how soon, how many drifts were raised before a threshold rule tripped on the
    false reading, real losses called a sensor fault, false anomaly signals per 1,000 healthy
    device-days, and the targets of docs/scoring.md; writes a PNG (and a CSV of every cell). Scores
    under the policy in force. Exit code 1 when a target is not met.
    """
    from core.policy import load_policy
    from scoring import models_for
    from simulators import GAUGE_FAULTS
    from training import (
        GaugeGrid,
        gauge_cells,
        gauge_false_rates,
        gauge_targets,
        plot_gauges,
        run_gauges,
        write_gauge_cells,
    )

    settings = settings_of(ctx)
    counts = _counts(peers, "peers", 8)
    grid = GaugeGrid(
        faults=_names(faults, "faults", GAUGE_FAULTS) if faults else GAUGE_FAULTS,
        intervals=_floats(intervals, "intervals"),
        seeds=seeds,
        peers=counts,
    )
    policy = load_policy(settings.policy_file)
    models = models_for(settings)
    total = sum(1 for _ in grid.trials())
    with console.status(f"{total:,} trials") as status:
        results = run_gauges(
            grid, policy, models, workers=workers, progress=lambda n: status.update(f"{n:,}/{total:,} trials")
        )
    table = Table(title=f"gauge faults, {total:,} trials: caught, 95 % Wilson interval, onset → caught (median / p95)")
    columns = ("gauge", "fault", "interval", "size/h", "caught", "95 % interval", "median", "p95", "readings")
    for column in (*columns, "first", "separable", "called sensor", "peer blamed"):
        table.add_column(column, justify="left" if column in ("gauge", "fault") else "right")
    for c in gauge_cells(results):
        low, high = c.interval
        table.add_row(
            c.device_type + (f" +{c.peers} peer" if c.peers else ""),
            c.fault,
            f"{c.interval_s:g} s",
            f"{c.size:g}" if c.size else "",
            f"{c.caught}/{c.trials}",
            f"{low:.0%}-{high:.0%}",
            _hours(c.median_s),
            _hours(c.p95_s),
            str(c.max_readings or ""),
            f"{c.first}/{c.trials}",
            f"{c.separable}/{c.trials}" if c.separable is not None else "",
            f"{c.mislabelled}" if c.fault not in ("stuck", "drift_up", "drift_down") else "",
            str(c.peer_blamed) if c.peers else "",
        )
    console.print(table)
    healthy = Table(title="false anomaly signals in healthy time")
    for column in ("gauge", "interval", "device-days", "signals", "per 1,000", "upper 95 %"):
        healthy.add_column(column, justify="right")
    for rate in gauge_false_rates(results):
        healthy.add_row(
            rate.device_type + (f" +{rate.peers} peer" if rate.peers else ""),
            f"{rate.interval_s:g} s",
            f"{rate.device_days:,.0f}",
            str(rate.signals),
            f"{rate.per_1000:.2f}",
            f"{rate.upper_per_1000:.2f}",
        )
    console.print(healthy)
    _finish(gauge_targets(results), lambda path: plot_gauges(results, path), plot,
            lambda path: write_gauge_cells(results, path), cells_csv, "cells")  # fmt: skip


@app.command("risk")
def risk_command(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds: each a city, its next period and another city.")] = 10,
    seed: Annotated[int, typer.Option(help="The first seed; the others follow it.")] = 11,
    premises: Annotated[int, typer.Option(min=200, help="Premises per simulated city.")] = 6000,
    workers: Annotated[int, typer.Option(min=1, help="Processes to run seeds on.")] = 2,
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path("risk.png"),
    results_csv: Annotated[Path | None, typer.Option("--csv", help="Also write every seed's figures here.")] = None,
) -> None:
    """The risk model against the oracle (the generator's true incident rates) on held-out premises.

    Per seed: a model fitted on a simulated city's first 90-day period (the recipe of `model train`)
    is judged on the same premises' next period (time split) and on another city never seen, with
    other category and credit mixes (city split), beside the model in use. Prints AUC, top-decile
    lift and calibration error of model and oracle, means over the seeds with 95 % t intervals, and
    the targets of docs/scoring.md; writes a PNG (and a CSV). Exit code 1 when a target is not met.
    """
    from scoring import models_for
    from training import of_best, plot_risk, risk_targets, run_risk, summarise, write_risk_results

    models = models_for(settings_of(ctx))
    chosen = [seed + i for i in range(seeds)]
    with console.status(f"{seeds} seeds of {premises:,} premises") as status:
        results = run_risk(
            chosen, premises, models, workers=workers, progress=lambda n: status.update(f"{n}/{seeds} seeds")
        )
    table = Table(
        title=f"risk model against the oracle, {seeds} seeds of {premises:,} premises "
        f"(seeds {chosen[0]}-{chosen[-1]}): mean±half its 95 % interval; ×oracle: the model's share of the oracle's"
    )
    for column in ("split", "ranked by", "AUC", "×oracle", "lift", "×oracle", "calibration"):
        table.add_column(column, justify="left" if column in ("split", "ranked by") else "right")
    summaries = summarise(results)
    for split in ("time", "city"):
        mine = [s for s in summaries if s.split == split]
        o = mine[0]
        table.add_row(split, "oracle", str(o.oracle_auc), "", str(o.oracle_lift), "", str(o.oracle_calibration_error))
        for s in mine:
            table.add_row(split, s.model, str(s.auc), str(s.auc_share), str(s.lift), str(s.lift_share),
                          str(s.calibration_error))  # fmt: skip
    console.print(table)
    trained = [r for r in results if r.model == "trained"]
    console.print(f"model in use: {models.risk.version}; incidents per premises-period: "
                  f"{sum(r.incidents for r in trained) / sum(r.premises for r in trained):.3f}")  # fmt: skip
    for name in ("trained", "in use"):
        near = of_best(results, name)
        if near is not None:
            console.print(
                f"city split, {name}: {near[0]} of the best observable's AUC, {near[1]} of its lift "
                "(the best observable: the Bayes-optimal score on the model's own inputs, the ceiling of any model)"
            )
    _finish(risk_targets(summaries), lambda path: plot_risk(results, path), plot,
            lambda path: write_risk_results(results, path), results_csv, "results")  # fmt: skip


class _Target(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def met(self) -> bool: ...
    @property
    def figure(self) -> str: ...


def _finish(
    found: Sequence[_Target],
    draw: Callable[[Path], None],
    plot: Path,
    write: Callable[[Path], None],
    csv_path: Path | None,
    what: str,
) -> None:
    """A matrix's end: its targets met or not, the plot, the CSV when asked; exit code 1 when a target
    is not met."""
    for target in found:
        console.print(f"{'[green]met[/]' if target.met else '[red]NOT MET[/]'}  {target.name}: {target.figure}")
    draw(plot)
    console.print(f"plot: {plot}")
    if csv_path is not None:
        write(csv_path)
        console.print(f"{what}: {csv_path}")
    if not all(t.met for t in found):
        raise typer.Exit(1)


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"
