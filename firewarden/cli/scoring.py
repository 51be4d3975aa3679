"""``firewarden model``, ``firewarden evaluate`` and ``firewarden score``: scoring's commands.

Scoring is a stage: it is imported inside the commands, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import SettingsError
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Scoring models: train them, show them.", no_args_is_help=True)


@app.command("train")
def train_command(
    ctx: typer.Context,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Retrain the risk model on outcomes recorded in the database.")
    ] = False,
    premises: Annotated[int, typer.Option(min=100, help="Simulated premises-periods for the risk model.")] = 6000,
    anomaly_premises: Annotated[int, typer.Option(min=1, help="Simulated premises for the anomaly model.")] = 60,
    anomaly_hours: Annotated[float, typer.Option(min=1, help="Simulated hours of normal operation.")] = 72,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated data.")] = 11,
) -> None:
    """Train the risk and anomaly models and save them (with version and feature list) in the model dir.

    Running scoring processes switch to them within model_reload_s (10 s by default), no restart needed.
    """
    from scoring.models import save
    from training.models import train_anomaly, train_risk, train_risk_from_db

    settings = settings_of(ctx)
    directory = settings.models_path
    if from_db:
        from core.services import database_url

        with database_url(settings) as url, console.status("reading recorded outcomes and training the risk model"):
            risk, summary = train_risk_from_db(url)
        path = save(directory, "risk", risk, summary)
        console.print(f"risk model {risk.version} in {path}: {summary}")
        return
    with console.status("training the risk model on simulated history"):
        risk, summary = train_risk(premises, seed)
    console.print(f"risk model {risk.version} in {save(directory, 'risk', risk, summary)}: {summary}")
    with console.status("training the anomaly model on simulated normal operation"):
        anomaly, summary = train_anomaly(anomaly_premises, anomaly_hours, seed)
    console.print(f"anomaly model {anomaly.version} in {save(directory, 'anomaly', anomaly, summary)}")
    console.print(f"  metrics modelled: {', '.join(summary['metrics_modelled'])}")
    for metric, why in summary["metrics_skipped"].items():
        console.print(f"  not modelled: {metric} ({why})")


@app.command("show")
def show_command(ctx: typer.Context) -> None:
    """The models scoring runs with: where from, version, features, when and how they were trained."""
    from scoring.models import ANOMALY_FILE, RISK_FILE, SHIPPED, load, models_for

    models = models_for(settings_of(ctx))
    directory = SHIPPED if models.source == "shipped defaults" else Path(models.source)
    console.print(f"models from {models.source}" + (f" ({directory})" if directory == SHIPPED else ""))
    for kind, name in (("risk", RISK_FILE), ("anomaly", ANOMALY_FILE)):
        if not (directory / name).exists():
            console.print(f"{kind}: none (its signals are not raised)")
            continue
        document = load(directory / name, kind)
        console.print(f"{kind}: {document['version']} trained {document['trained_at']}")
        console.print(f"  features: {', '.join(document['features'])}")
        console.print(f"  summary: {document['summary']}")


def evaluate(
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
    """Judge scoring's decisions against the simulators' ground truth.

    Without --ground-truth: replays a simulated city with every scenario kind through the scorer.
    Prints detection rate and time to detect per kind, nuisance alarms escalated, the latency of
    confirming records (replay only) and the risk model's AUC on held-out simulated premises;
    writes a PNG plot. Exit code 1 if a real fire was not confirmed.
    """
    from core.policy import load_policy
    from scoring.models import models_for
    from training import evaluation

    settings = settings_of(ctx)
    models = models_for(settings)
    if ground_truth is not None:
        from core.services import database_url

        try:
            truths = evaluation.read_ground_truth(ground_truth)
        except (OSError, ValueError) as error:
            raise SettingsError(f"--ground-truth: {error}") from None
        with database_url(settings) as url, console.status("reading stored decisions"):
            decisions = evaluation.stored_decisions(url)
        ev = evaluation.judge(truths, decisions, [], 0, evaluation.risk_auc(models))
        title = f"stored decisions against {ground_truth}"
    else:
        with console.status(f"replaying {premises} premises for {hours:g} h, {per_kind} of each scenario kind"):
            truths, decisions, latencies, records = evaluation.replay(
                load_policy(settings.policy_file),
                models,
                premises=premises,
                hours=hours,
                seed=seed,
                per_kind=per_kind,
                gb26875=gb26875,
            )
            ev = evaluation.judge(truths, decisions, latencies, records, evaluation.risk_auc(models))
        title = f"scoring against ground truth ({premises} premises, {hours:g} h, seed {seed})"
    table = Table(title=title)
    for column in ("scenario kind", "detected", "rate", "median time to detect"):
        table.add_column(column)
    for row in evaluation.table(ev):
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
    console.print(f"risk model AUC on held-out simulated premises: {ev.risk_auc:.3f}")
    evaluation.plot(ev, plot)
    console.print(f"plot: {plot}")
    if ev.fires_confirmed < ev.fires:
        raise typer.Exit(1)


def score(ctx: typer.Context) -> None:
    """Run a scoring worker: the faust app on the kafka bus (any number of workers, split by partitions)."""
    from firewarden.processes.scoring import run_score

    run_score(settings_of(ctx))
