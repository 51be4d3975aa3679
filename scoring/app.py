"""The faust app: scoring on the ``kafka`` bus, scaled out by partitions.

Run ``faust -A scoring.app worker -l info`` (or ``firewarden score``) with ``FIREWARDEN_BUS=kafka://...``
and ``FIREWARDEN_DATABASE_URL`` set. Each worker takes some partitions of ``fw.records`` and keeps
the states of their premises in the table ``premises-state`` (msgpack bytes, changelogged to Kafka, so
a worker that takes over a partition restores them). The scorer is the same one the local runner
drives; only the plumbing here is faust's.

Records are taken in batches; each premises touched by a batch has its state read once and written
once, which keeps the changelog to one message per premises per batch instead of one per record.
Decisions go to ``fw.decisions``; the ``store`` agent writes them to PostgreSQL.

Delivery is at least once, as everywhere on the bus: after a crash, a worker replays records since
its last committed offset over the state of the last changelog write, so a decision may be
published twice (the database keeps it once, by identity).
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import cache
from typing import Any

import faust

from core.errors import DatabaseError, SettingsError
from core.policy import load_policy
from core.settings import KafkaBus, Settings, load_settings
from ingest.handoff import RECORDS_TOPIC, record_from_json
from scoring.records import DECISIONS_TOPIC, FEEDBACK_TOPIC, decode_decision, decode_feedback, encode_decision
from scoring.runner import StreamWatch, advance_all
from scoring.scorer import Scorer
from scoring.site import load_sites
from scoring.state import PremisesState, dump_state, load_state
from scoring.store import DecisionStore, record_models
from scoring.training import ensure_models

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
decisions_topic = app.topic(
    DECISIONS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
# use_partitioner: a state is written once per batch, outside any single event's context; keys are
# the same premises-id bytes as the records', so the changelog partition matches the record partition.
states = app.Table(
    "premises-state",
    default=None,
    key_type=bytes,
    value_type=bytes,
    use_partitioner=True,
)


@cache
def scorer() -> Scorer:
    assert settings.database_url is not None
    models = ensure_models(settings.models_path)
    record_models(settings.database_url, models, "system:score")
    return Scorer(load_policy(settings.policy_file), load_sites(settings.database_url), models)


# Decoded states of the premises this worker owns, so a batch does not decode what the last one
# encoded. Emptied whenever partitions are revoked: another worker may change those states meanwhile.
_owned: dict[bytes, PremisesState] = {}


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _forget_owned(app: Any, revoked: Any, **kwargs: Any) -> None:
    _owned.clear()


def _state(key: bytes) -> PremisesState:
    state = _owned.get(key)
    if state is None:
        stored = states.get(key)
        state = load_state(stored) if stored is not None else scorer().new_state(key.decode())
        _owned[key] = state
    return state


_stream = StreamWatch(load_policy(settings.policy_file).devices.stall_s)
"""How far the records this worker scored have come, and when they stalled (scoring.runner.Engine)."""


@app.agent(records_topic)
async def score(stream: Any) -> None:
    """Records in, decisions out; each touched premises' state written once per batch."""
    the_scorer = scorer()
    async for batch in stream.take_events(BATCH, within=BATCH_WITHIN_S):
        touched: dict[bytes, PremisesState] = {}
        for event in batch:
            key: bytes = event.key
            state = touched.get(key)
            if state is None:
                state = touched[key] = _state(key)
            if event.message.topic == FEEDBACK_TOPIC:
                decisions = the_scorer.feedback(state, decode_feedback(event.value))
            else:
                record = record_from_json(event.value)
                stall = _stream.receive(record)
                if stall is not None:  # every state this worker owns was decoded by the wall-clock tick
                    for owned_key, owned in _owned.items():
                        the_scorer.forgive(owned, *stall)
                        touched[owned_key] = owned
                decisions = the_scorer.process(state, record)
            for decision in decisions:
                await decisions_topic.send(key=key, value=encode_decision(decision))
        for key, state in touched.items():
            states[key] = dump_state(state)


if settings.scoring_wall_clock:

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        """Silent premises: move their clocks to the wall clock minus the allowed lateness, never past the
        newest receipt this worker has seen (a stalled stream is not a silent city: scoring.runner.Engine)."""
        wall, lateness = time.time(), settings.scoring_lateness_s
        the_scorer = scorer()
        for key in list(states.keys()):
            state = _state(key)
            decisions = advance_all(the_scorer, [state], wall, lateness, _stream.newest)
            for decision in decisions:
                await decisions_topic.send(key=key, value=encode_decision(decision))
            if decisions:
                states[key] = dump_state(state)


@app.agent(decisions_topic)
async def store(stream: Any) -> None:
    """Decisions into PostgreSQL, in batches; a failed batch is retried until it is stored."""
    assert settings.database_url is not None
    writer = DecisionStore(settings.database_url)
    async for values in stream.take(1000, within=0.2):
        batch = [decode_decision(v) for v in values]
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(writer.write, batch)
                break
            except DatabaseError as error:  # the batch is kept and retried: no decision is dropped
                log.warning("storing decisions failed, retrying in %.1f s: %s", delay, error)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
