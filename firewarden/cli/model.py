"""``firewarden model``: scoring's models, trained and shown.

Scoring is a stage: it is imported inside the commands, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
    from scoring import save
    from training import train_anomaly, train_risk, train_risk_from_db

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
    modelled, skipped = summary["metrics_modelled"], summary["metrics_skipped"]
    assert isinstance(modelled, list) and isinstance(skipped, dict)
    console.print(f"  metrics modelled: {', '.join(modelled)}")
    for metric, why in skipped.items():
        console.print(f"  not modelled: {metric} ({why})")


@app.command("show")
def show_command(ctx: typer.Context) -> None:
    """The models scoring runs with: where from, version, features, when and how they were trained."""
    from scoring import ANOMALY_FILE, RISK_FILE, SHIPPED, load, models_for

    models = models_for(settings_of(ctx))
    directory = SHIPPED if models.source == "shipped defaults" else Path(models.source)
    console.print(f"models from {models.source}" + (f" ({directory})" if directory == SHIPPED else ""))
    for kind, name in (("risk", RISK_FILE), ("anomaly", ANOMALY_FILE)):
        if not (directory / name).exists():
            console.print(f"{kind}: none (its signals are not raised)")
            continue
        document = load(directory / name, kind)
        console.print(f"{kind}: {document.version} trained {document.trained_at}")
        console.print(f"  features: {', '.join(document.features)}")
        console.print(f"  summary: {document.summary}")
