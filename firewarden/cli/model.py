"""``firewarden model``: scoring's models, trained and shown.

Scoring is a stage: it is imported inside the commands, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from firewarden.cli._context import console, settings_of

if TYPE_CHECKING:
    from core.policy import RetrainPolicy
    from core.settings import Settings

app = typer.Typer(
    help="Scoring models: train them, show them, retrain the risk model on recorded outcomes, roll it back.",
    no_args_is_help=True,
)


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


@app.command("retrain")
def retrain_command(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Retrain now, whether or not it is due.")] = False,
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep running: retrain whenever due (`[risk.retrain] every_days`).")
    ] = False,
    check_every: Annotated[float, typer.Option(min=1, help="--loop: seconds between looks at the schedule.")] = 3600,
) -> None:
    """Retrain the risk model on the outcomes recorded in the database, when due (or --force).

    A challenger is fitted on the older recorded premises-periods and judged with the model in use on
    the newest ones (`[risk.retrain]`); it replaces the model in use only when its held-out AUC is
    better by `margin_auc`. Either way the decision is audited (`model.activated` / `model.refused`)
    with both figures. Running scoring processes pick an activated model up within model_reload_s.
    """
    from core.policy import load_policy
    from core.services import database_url

    settings = settings_of(ctx)
    policy = load_policy(settings.policy_file).risk.retrain
    with database_url(settings) as url:
        try:
            _retrain_until_done(url, settings, policy, force=force, loop=loop, check_every=check_every)
        except KeyboardInterrupt:
            console.print("stopped")


def _retrain_until_done(url: str, settings: Settings, policy: RetrainPolicy, *, force: bool, loop: bool,
                        check_every: float) -> None:  # fmt: skip
    import time
    from datetime import UTC, datetime

    from scoring import models_for
    from training import due, retrain

    while True:
        now = datetime.now(UTC)
        when = now if force else due(url, policy, now)
        if when is not None and when <= now:
            with console.status("retraining the risk model on recorded outcomes"):
                done = retrain(url, settings.models_path, models_for(settings), policy, now)
            console.print(f"{done.outcome}: {done.reason}")
            console.print(f"  {done.details()}")
            force = False
            continue
        if not loop:
            console.print(
                "not due: "
                + ("never by schedule (every_days = 0)" if when is None else f"next at {when:%Y-%m-%d %H:%M} UTC")
            )
            return
        time.sleep(check_every if when is None else max(1.0, min(check_every, (when - now).total_seconds())))


@app.command("history")
def history_command(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, help="How many decisions, newest first.")] = 50
) -> None:
    """Every model decision audited, newest first: retrains activated or refused (with both held-out
    AUCs), rollbacks, and each scoring process switching models."""
    from core.services import database_url
    from training import model_history

    with database_url(settings_of(ctx)) as url:
        entries = model_history(url, limit)
    if not entries:
        console.print("no model decisions audited yet")
    for e in entries:
        d = e.details
        figures = ""
        if d.get("in_use_auc") is not None:
            figures = f" held-out AUC {d['challenger_auc']} (challenger) against {d['in_use_auc']} (in use)"
        what = d.get("risk") or d.get("challenger") or ""
        reason = f" - {d['reason']}" if d.get("reason") else ""
        console.print(f"{e.at:%Y-%m-%d %H:%M:%S} {e.action:<17} {e.actor:<16} {what}{figures}{reason}")


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option(help="The version to put back (default: the one replaced last).")] = None,
    actor: Annotated[str | None, typer.Option(help="Who rolls back, for the audit log.")] = None,
) -> None:
    """Put the risk model a retrain replaced back in the model directory (audited as model.rolled_back);
    running scoring processes pick it up within model_reload_s."""
    import getpass
    from datetime import UTC, datetime

    from core.services import database_url
    from training import rollback_model

    settings = settings_of(ctx)
    with database_url(settings) as url:
        replaced, back = rollback_model(
            url, settings.models_path, datetime.now(UTC), actor or f"cli:{getpass.getuser()}", to
        )
    console.print(f"risk model {back} back in {settings.models_path} (it replaces {replaced})")
