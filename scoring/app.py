"""The faust app: scoring on the ``kafka`` bus, scaled out by partitions.

Run ``faust -A scoring.app worker -l info`` (or ``firewarden score``) with ``FIREWARDEN_BUS=kafka://...``
and ``FIREWARDEN_DATABASE_URL`` set. Each worker takes some partitions of ``fw.records`` and keeps
the states of their premises in the table ``premises-state`` (msgpack bytes, changelogged to Kafka, so
a worker that takes over a partition restores them). It drives the same :class:`~scoring.engine.Engine`
as the local runner, over a mapping that reads and writes that table; only the plumbing here is faust's.

Records are taken in batches; each premises touched by a batch has its state read once and written
once, which keeps the changelog to one message per premises per batch instead of one per record.
Events (``fw.events``, ingest's priority lane) have an agent of their own, so a backlog of records
never delays a fire alarm; both agents drive the one engine of the worker, and ``fw.events`` is
partitioned like ``fw.records`` (faust assigns topics of equal partition counts read by the same
workers alike), so a premises' events and records reach the worker that owns its state. Alarm
decisions go to ``fw.alarms``, the others to ``fw.decisions``; two ``store`` agents write them to
PostgreSQL, alarms on their own.

Delivery is at least once, as everywhere on the bus: after a crash, a worker replays records since
its last committed offset over the state of the last changelog write, so a decision may be
published twice (the database keeps it once, by identity). A state is written only after the
decisions it led to are acknowledged (:func:`_hand_on`), so a replay never skips a decision that was lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, MutableMapping
from functools import cache, partial
from typing import Any

import faust

from core.backoff import retry
from core.bus import BusMessage
from core.errors import DatabaseError, SettingsError
from core.health import Health
from core.policy import load_policy
from core.settings import KafkaBus, Settings, load_settings
from ingest.handoff import EVENTS_TOPIC, RECORDS_TOPIC
from scoring.engine import Engine, decisions_of
from scoring.models import ModelWatch, models_for
from scoring.records import (
    ALARMS_TOPIC,
    DECISIONS_TOPIC,
    FEEDBACK_TOPIC,
    STATE_TABLE,
    AlarmDecision,
    Decision,
    decode_decision,
    encode_decision,
)
from scoring.reload import ModelReload, SiteRefresh
from scoring.scorer import Scorer
from scoring.site import load_sites
from scoring.state import PremisesState, dump_state, load_state
from scoring.store import DecisionStore, record_models

log = logging.getLogger(__name__)

BATCH = 5000
BATCH_WITHIN_S = 0.25


def _settings() -> Settings:
    settings = load_settings()
    if not isinstance(settings.bus, KafkaBus):
        raise SettingsError("the faust scoring app needs FIREWARDEN_BUS=kafka://host:port[,host:port]")
    if settings.database_url is None:
        raise SettingsError("the faust scoring app needs FIREWARDEN_DATABASE_URL (decisions and the registry)")
    return settings


settings = _settings()
assert isinstance(settings.bus, KafkaBus)

app = faust.App(
    settings.scoring_group,
    broker=[f"kafka://{server}" for server in settings.bus.bootstrap_servers],
    store="memory://",
    topic_partitions=settings.scoring_partitions,
    topic_replication_factor=1,
    table_standby_replicas=0,
    # a killed worker's partitions move to the others within this; faust's default (60 s) would hold a
    # fire alarm of those premises that long
    broker_session_timeout=settings.scoring_session_timeout_s,
    broker_heartbeat_interval=settings.scoring_session_timeout_s / 5,
    broker_rebalance_timeout=max(60.0, 3 * settings.scoring_session_timeout_s),
    web_enabled=False,  # and workers start with --without-web: the CLI would bind port 6066 regardless
    producer_acks=-1,
    key_serializer="raw",
    value_serializer="raw",
)
# Alerts' feedback shares the agent (and so the premises' state) with the records: same keys, same
# partition count, so both of a premises' streams land in the worker that owns its state.
records_topic = app.topic(
    RECORDS_TOPIC, FEEDBACK_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
events_topic = app.topic(EVENTS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
decisions_topic = app.topic(
    DECISIONS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
alarms_topic = app.topic(ALARMS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
# use_partitioner: a state is written once per batch, outside any single event's context; keys are
# the same premises-id bytes as the records', so the changelog partition matches the record partition.
states = app.Table(
    STATE_TABLE,
    default=None,
    key_type=bytes,
    value_type=bytes,
    use_partitioner=True,
)


@cache
def scorer() -> Scorer:
    assert settings.database_url is not None
    models = models_for(settings)
    record_models(settings.database_url, models, "system:score")
    return Scorer(load_policy(settings.policy_file), load_sites(settings.database_url), models)


class TableStates(MutableMapping[str, PremisesState]):
    """The engine's states, kept in the faust table: decoded once and held while this worker owns their
    partitions (another worker may change them after a rebalance: :meth:`forget`), written back by
    the agent once per batch."""

    def __init__(self) -> None:
        self._decoded: dict[str, PremisesState] = {}

    def __getitem__(self, premises_id: str) -> PremisesState:
        state = self._decoded.get(premises_id)
        if state is None:
            stored = states.get(premises_id.encode())
            if stored is None:
                raise KeyError(premises_id)
            state = self._decoded[premises_id] = load_state(stored)
        return state

    def __setitem__(self, premises_id: str, state: PremisesState) -> None:
        self._decoded[premises_id] = state

    def __delitem__(self, premises_id: str) -> None:
        self._decoded.pop(premises_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter({*(k.decode() for k in states), *self._decoded})

    def __len__(self) -> int:
        return len(set(self))

    def forget(self) -> None:
        self._decoded.clear()


_states = TableStates()


@cache
def engine() -> Engine:
    return Engine(scorer(), _states)


@cache
def reload() -> ModelReload:
    watch = ModelWatch(settings.models_path, scorer().models)
    return ModelReload(engine(), watch, settings.database_url, "system:score", settings.model_reload_s)


@cache
def refresh() -> SiteRefresh:
    assert settings.database_url is not None
    return SiteRefresh(engine(), settings.database_url, settings.scoring_registry_refresh_s)


@app.timer(1.0)  # type: ignore[untyped-decorator]
async def _models() -> None:
    """New model files in the model directory: scored with from the next record on, audited; and the
    registry read again every ``scoring_registry_refresh_s``."""
    await reload().check()
    await refresh().check()


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _forget_owned(app: Any, revoked: Any, **kwargs: Any) -> None:
    _states.forget()
    engine().forget()


_in_flight: set[asyncio.Future[None]] = set()
"""One future per hand-on whose decisions are not yet acknowledged by the broker."""


async def _hand_on(decisions: list[Decision]) -> None:
    """Decisions to their topics, then the changed states to the table.

    The order is what makes a kill -9 lose nothing: a state in the changelog records the offsets it
    has applied, and a worker that restores it skips those records on replay. So a state may only
    reach the changelog after every decision it led to is acknowledged by the broker (acks=all):
    ``send`` alone only queues a decision in the producer, which may flush the changelog first.

    The two lanes (records and events) drive one engine and share the states of a premises, so a
    state one lane writes may hold what the other lane decided and has not yet sent. Each hand-on is
    registered as in flight before its first ``await``, and the states are written only when no
    other hand-on is: the write then covers only acknowledged decisions. The lanes still decide
    concurrently; only the table writes wait."""
    mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    _in_flight.add(mine)
    try:
        sent = []
        for decision in sorted(decisions, key=lambda d: not isinstance(d, AlarmDecision)):  # alarms first
            topic = alarms_topic if isinstance(decision, AlarmDecision) else decisions_topic
            sent.append(await topic.send(key=decision.premises_id.encode(), value=encode_decision(decision)))
        await asyncio.gather(*sent)
    finally:
        mine.set_result(None)
        _in_flight.discard(mine)
    while others := [f for f in _in_flight if not f.done()]:
        await asyncio.gather(*others)
    # no await from the check above to the writes: no lane can decide in between
    for premises_id, state in engine().flush():
        states[premises_id.encode()] = dump_state(state)


@app.agent(records_topic)
async def score(stream: Any) -> None:
    """Records and feedback in, decisions out; each changed premises' state written once per batch."""
    async for batch in stream.take_events(BATCH, within=BATCH_WITHIN_S):
        messages = [BusMessage(e.message.topic, e.key, e.value, e.message.offset) for e in batch]
        await _hand_on(decisions_of(engine(), messages))


@app.agent(events_topic)
async def score_events(stream: Any) -> None:
    """Events (the priority lane) in, decisions out, without waiting for a batch to fill."""
    async for batch in stream.take_events(BATCH, within=0.01):
        messages = [BusMessage(e.message.topic, e.key, e.value, e.message.offset) for e in batch]
        await _hand_on(decisions_of(engine(), messages))


if settings.scoring_wall_clock:

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        """Silent premises: their clocks moved by the wall clock (:meth:`scoring.engine.Engine.advance`)."""
        await _hand_on(engine().advance(time.time(), settings.scoring_lateness_s))


health = Health("score")


@app.task  # type: ignore[untyped-decorator]
async def _serve_health() -> None:
    """Health and metrics on ``metrics_port``: alive while the worker's timers run, ready once it owns partitions."""
    health.serve(settings.metrics_port)


@app.timer(1.0)  # type: ignore[untyped-decorator]
async def _heartbeat() -> None:
    health.touch()


@app.on_partitions_assigned.connect  # type: ignore[arg-type]
async def _assigned(app: Any, assigned: Any, **kwargs: Any) -> None:
    owned = sorted(tp.partition for tp in assigned if tp.topic == RECORDS_TOPIC)
    log.info("scoring: partitions assigned: %s of %s", owned or "none", RECORDS_TOPIC)
    health.ready = lambda: True


async def _store(stream: Any, batch: int, within_s: float) -> None:
    """Decisions into PostgreSQL, in batches; a failed batch is retried until it is stored."""
    assert settings.database_url is not None
    writer = DecisionStore(settings.database_url)
    async for values in stream.take(batch, within=within_s):
        decisions = [decode_decision(v) for v in values]
        # the batch is kept and retried: no decision is dropped
        await retry(
            partial(asyncio.to_thread, writer.write, decisions),
            what="storing decisions",
            errors=(DatabaseError,),
            log=log,
        )


@app.agent(decisions_topic)
async def store(stream: Any) -> None:
    """Signals and risk scores into PostgreSQL."""
    await _store(stream, 1000, 0.2)


@app.agent(alarms_topic)
async def store_alarms(stream: Any) -> None:
    """Alarm decisions into PostgreSQL, on their own: never behind a batch of signals."""
    await _store(stream, 100, 0.01)
