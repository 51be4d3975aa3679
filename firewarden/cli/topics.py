"""``firewarden topics``: the Kafka topics of the bus, made without an external tool."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from core.addresses import KafkaBus
from core.backoff import retry_for
from core.errors import BusError, SettingsError
from firewarden.cli._context import console, settings_of

app = typer.Typer(help="Kafka topics of the bus (kafka bus only).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="Partitions per topic; default: the scoring_partitions setting (the faust workers expect that).",
            show_default=False,
        ),
    ] = None,
    replication: Annotated[
        int, typer.Option(min=1, max=32, help="Replicas of each partition (at most the number of brokers).")
    ] = 1,
    wait: Annotated[float, typer.Option(min=0, max=3600, help="Wait up to this many seconds for Kafka to answer.")] = 0,
) -> None:
    """Create fw.events, fw.records, fw.feedback, fw.alarms, fw.decisions and the scoring workers' state changelog.

    Topics that exist are left as they are (safe to run at every deploy); one line per topic says
    what was done and the partitions and replicas Kafka has for it. Exit code 1 when a topic has fewer
    partitions than asked: scoring needs them all partitioned alike.
    """
    from core.bus.admin import TopicSpec, create_topics
    from ingest import EVENTS_TOPIC, RECORDS_TOPIC
    from scoring import ALARMS_TOPIC, DECISIONS_TOPIC, FEEDBACK_TOPIC, changelog_topic

    settings = settings_of(ctx)
    if not isinstance(settings.bus, KafkaBus):
        raise SettingsError("topics create needs the kafka bus: --bus kafka://host:port (or FIREWARDEN_BUS)")
    count = partitions if partitions is not None else settings.scoring_partitions
    specs = [
        TopicSpec(t, count, replication)
        for t in (EVENTS_TOPIC, RECORDS_TOPIC, FEEDBACK_TOPIC, ALARMS_TOPIC, DECISIONS_TOPIC)
    ]
    specs.append(TopicSpec(changelog_topic(settings.scoring_group), count, replication, {"cleanup.policy": "compact"}))
    servers = settings.bus.bootstrap_servers
    states = retry_for(
        lambda: asyncio.run(create_topics(servers, specs)), what="reaching Kafka", errors=(BusError,), timeout_s=wait
    )
    for state in states:
        console.print(f"{state.name}: {state.outcome}, {state.partitions} partition(s), {state.replication} replica(s)")
    short = [s.name for s in states if s.outcome == "exists with fewer partitions"]
    if short:
        console.print(f"[red]fewer partitions than {count}:[/] {', '.join(short)}")
        raise typer.Exit(1)
