"""Scoring as a process: the faust worker (``firewarden score``, on Kafka) and the local runner (in ``up``).

Both drive the same :class:`~scoring.Engine`; only how records arrive and states are kept differs.

The faust app is built from the settings object by :func:`build_app` (nothing is read at import) and
run in this process by :func:`run_score`, with Firewarden's own logging. Each worker takes some
partitions of ``fw.records`` and keeps the states of their premises in the table ``premises-state``
(msgpack bytes, changelogged to Kafka, so a worker that takes over a partition restores them).

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
decisions it led to are acknowledged (:class:`HandOn`), so a replay never skips a decision that was lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Iterator, MutableMapping
from functools import cache, cached_property, partial
from multiprocessing.process import BaseProcess
from typing import Any, cast

import faust
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer

from core.addresses import KafkaBus
from core.backoff import retry
from core.bus import Bus, BusMessage
from core.errors import DatabaseError, SettingsError
from core.health import Health
from core.logs import configure_logging
from core.policy import Policy, load_policy
from core.settings import Settings
from firewarden.processes.handon import ChangelogTable, HandOn, StallWatch
from ingest import EVENTS_TOPIC, RECORDS_TOPIC
from scoring import (
    ALARMS_TOPIC,
    DECISIONS_TOPIC,
    FEEDBACK_TOPIC,
    STATE_TABLE,
    DecisionStore,
    Engine,
    LocalRunner,
    ModelReload,
    Models,
    ModelWatch,
    PremisesState,
    Scorer,
    SiteRefresh,
    decisions_of,
    decode_decision,
    load_sites,
    load_state,
    models_for,
    record_models,
)

log = logging.getLogger(__name__)

BATCH = 5000
BATCH_WITHIN_S = 0.25
FETCH_MAX_WAIT_MS = 100


class TableStates(MutableMapping[str, PremisesState]):
    """The engine's states, kept in the faust table: decoded once and held while this worker owns their
    partitions (another worker may change them after a rebalance: :meth:`forget`), written back by
    the hand-on once per batch.

    The table may hold states of partitions this worker does not own (any more), or has not finished
    restoring from the changelog: those are not its to score, nor to move by the wall clock, so
    iterating yields only the premises of :attr:`owned` partitions: none until the worker's first
    partitions are restored, none from a rebalance until its recovery is complete (a state read
    half-restored would be an old one, and the wall clock would write it back)."""

    def __init__(self, table: MutableMapping[bytes, bytes], partitions: int) -> None:
        self._table = table
        self._decoded: dict[str, PremisesState] = {}
        self.partitions = partitions
        self.owned: set[int] = set()

    def __getitem__(self, premises_id: str) -> PremisesState:
        state = self._decoded.get(premises_id)
        if state is None:
            stored = self._table.get(premises_id.encode())
            if stored is None:
                raise KeyError(premises_id)
            state = self._decoded[premises_id] = load_state(stored)
        return state

    def __setitem__(self, premises_id: str, state: PremisesState) -> None:
        self._decoded[premises_id] = state

    def __delitem__(self, premises_id: str) -> None:
        self._decoded.pop(premises_id, None)

    def __iter__(self) -> Iterator[str]:
        keys = {*(k.decode() for k in self._table), *self._decoded}
        return iter({k for k in keys if partition_of(k, self.partitions) in self.owned})

    def __len__(self) -> int:
        return len(set(self))

    def forget(self) -> None:
        self._decoded.clear()


@cache
def partition_of(premises_id: str, partitions: int) -> int:
    """The partition of a premises' messages in every scoring topic: Kafka's default partitioner
    (murmur2 of the key), the one the producers use. Remembered: the worker asks it for every premises
    of its table every second (the wall clock's tick), and the hash is pure Python."""
    return int((murmur2(premises_id.encode()) & 0x7FFFFFFF) % partitions)


def _worker_settings(settings: Settings) -> tuple[KafkaBus, str]:
    if not isinstance(settings.bus, KafkaBus):
        raise SettingsError(
            "`firewarden score` runs a faust worker and needs FIREWARDEN_BUS=kafka://...; on the local bus "
            "scoring runs in the process that runs ingest (`firewarden up`)"
        )
    if settings.database_url is None:
        raise SettingsError("the faust scoring worker needs FIREWARDEN_DATABASE_URL (decisions and the registry)")
    return settings.bus, settings.database_url


class _Parts:
    """What the worker's agents share, made on first use (in the worker's loop, once it runs)."""

    def __init__(self, settings: Settings, database_url: str, table: MutableMapping[bytes, bytes]) -> None:
        self.settings = settings
        self.database_url = database_url
        self.states = TableStates(table, settings.scoring_partitions)
        self.assigned: list[int] = []
        """The partitions of the last assignment (owned once their states are restored)."""
        self.health = Health("score")

    @cached_property
    def scorer(self) -> Scorer:
        models = models_for(self.settings)
        record_models(self.database_url, models, "system:score")
        policy = load_policy(self.settings.policy_file)
        return Scorer(policy, load_sites(self.database_url, policy), models)

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.scorer, self.states)

    @cached_property
    def reload(self) -> ModelReload:
        watch = ModelWatch(self.settings.models_path, self.scorer.models)
        return ModelReload(self.engine, watch, self.database_url, "system:score", self.settings.model_reload_s)

    @cached_property
    def refresh(self) -> SiteRefresh:
        return SiteRefresh(self.engine, self.database_url, self.settings.scoring_registry_refresh_s)


def _raw(app: faust.App, *names: str) -> Any:
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def _messages(batch: list[Any]) -> list[BusMessage]:
    return [BusMessage(e.message.topic, e.key, e.value, e.message.offset) for e in batch]


class _ProcessedAcks(AIOKafkaDriverConsumer):
    """faust's consumer, except that a message a stream skipped unprocessed is not acknowledged.

    During a rebalance a faust stream skips what it takes while the flow is suspended or that was
    fetched in an earlier generation, and acknowledges it "so that the lag does not grow": its offset
    is committed and the message is never processed anywhere. A fire alarm fetched in that window was
    lost (two of 22 fires while a worker restarted, bench/failover.py). Left unacknowledged, the
    partition's commit stops below it, the worker that owns the partition next is sought back to the
    committed offset and processes it, and the premises' state skips what it had applied already."""

    def ack(self, message: Any) -> bool:
        if not getattr(message, "tracked", True):  # taken by no stream: skipped, not processed
            return False
        return bool(super().ack(message))

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _ShortPolls(self, loop=self.loop, beacon=self.beacon)


class _ShortPolls(AIOKafkaConsumerThread):
    """faust's consumer thread, except that a fetch waits at most :data:`FETCH_MAX_WAIT_MS` for records
    (faust fixes it at 1.5 s). The broker answers a connection's requests in turn, so a worker taking
    partitions over asked their changelogs' ends (recovery's first step) behind an idle fetch: up to
    1.5 s more before a fire of those premises was scored."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        return consumer


def build_app(settings: Settings) -> faust.App:
    """The faust scoring app of these settings: its topics, state table, agents, timers and health."""
    kafka, database_url = _worker_settings(settings)
    datadir = settings.data_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    # A broker that reports a partition's end after the first record of its last batch (tansu 0.6)
    # makes recovery stop short of the newest states (and faust's consistency check crash): there,
    # each batch is one record (a batch smaller than any record holds exactly one).
    batches: dict[str, Any] = {"producer_max_batch_size": 1} if settings.kafka_one_record_per_batch else {}
    app = faust.App(
        settings.scoring_group,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers],
        store="memory://",
        datadir=str(datadir),
        topic_partitions=settings.scoring_partitions,
        topic_replication_factor=1,
        # No standby copies: with them, a worker taking over a partition crashed in recovery here
        # (ConsistencyError, "persisted offset ... higher than the last offset", faust-streaming#158).
        table_standby_replicas=0,
        # a killed worker's partitions move to the others within this; faust's default (60 s) would hold a
        # fire alarm of those premises that long
        broker_session_timeout=settings.scoring_session_timeout_s,
        broker_heartbeat_interval=settings.scoring_session_timeout_s / 5,
        broker_rebalance_timeout=max(60.0, 3 * settings.scoring_session_timeout_s),
        web_enabled=False,
        producer_acks=-1,
        Table=ChangelogTable,
        key_serializer="raw",
        value_serializer="raw",
        **batches,
    )
    app.transport.Consumer = _ProcessedAcks  # type: ignore[misc]  # this app's transport only, before it consumes
    # Alerts' feedback shares the agent (and so the premises' state) with the records: same keys, same
    # partition count, so both of a premises' streams land in the worker that owns its state.
    records_topic = _raw(app, RECORDS_TOPIC, FEEDBACK_TOPIC)
    events_topic = _raw(app, EVENTS_TOPIC)
    decisions_topic = _raw(app, DECISIONS_TOPIC)
    alarms_topic = _raw(app, ALARMS_TOPIC)
    # use_partitioner: a state is written once per batch, outside any single event's context; keys are
    # the same premises-id bytes as the records', so the changelog partition matches the record partition.
    table = cast(
        ChangelogTable,
        app.Table(STATE_TABLE, default=None, key_type=bytes, value_type=bytes, use_partitioner=True),
    )
    parts = _Parts(settings, database_url, table)
    hand_on = HandOn(alarms_topic, decisions_topic, table, lambda: parts.engine)
    stall = StallWatch(hand_on)

    @app.agent(records_topic)
    async def score(stream: Any) -> None:
        """Records and feedback in, decisions out; each changed premises' state written once per batch."""
        async for batch in stream.take_events(BATCH, within=BATCH_WITHIN_S):
            await hand_on(decisions_of(parts.engine, _messages(batch)))

    @app.agent(events_topic)
    async def score_events(stream: Any) -> None:
        """Events (the priority lane) in, decisions out, without waiting for a batch to fill."""
        async for batch in stream.take_events(BATCH, within=0.01):
            await hand_on(decisions_of(parts.engine, _messages(batch)))

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def models() -> None:
        """New model files in the model directory: scored with from the next record on, audited; and the
        registry read again every ``scoring_registry_refresh_s``."""
        await parts.reload.check()
        await parts.refresh.check()

    if settings.scoring_wall_clock:

        @app.timer(1.0)  # type: ignore[untyped-decorator]
        async def tick() -> None:
            """Silent premises: their clocks moved by the wall clock (:meth:`scoring.Engine.advance`)."""
            await hand_on(parts.engine.advance(time.time(), settings.scoring_lateness_s))

    @app.task  # type: ignore[untyped-decorator]
    async def serve_health() -> None:
        """Health and metrics on ``metrics_port``: alive while the timers run, ready once its partitions'
        states are restored."""
        parts.health.serve(settings.metrics_port)

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        if stall.alive(time.monotonic(), app.agents.human_tracebacks):
            parts.health.touch()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_owned(app: Any, revoked: Any, **kwargs: Any) -> None:
        parts.states.owned = set()
        parts.states.forget()
        parts.engine.forget()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(app: Any, assigned: Any, **kwargs: Any) -> None:
        parts.assigned = sorted(tp.partition for tp in assigned if tp.topic == RECORDS_TOPIC)
        log.info("scoring: partitions assigned: %s of %s", parts.assigned or "none", RECORDS_TOPIC)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def restored(app: Any, **kwargs: Any) -> None:
        """The assigned partitions' states are restored from the changelog: this worker's to score."""
        parts.states.forget()
        parts.states.owned = set(parts.assigned)
        parts.health.ready = lambda: True

    async def store(stream: Any, batch: int, within_s: float) -> None:
        """Decisions into PostgreSQL, in batches; a failed batch is kept and retried until it is stored."""
        writer = DecisionStore(database_url)
        async for values in stream.take(batch, within=within_s):
            decisions = [decode_decision(v) for v in values]
            await retry(
                partial(asyncio.to_thread, writer.write, decisions),
                what="storing decisions",
                errors=(DatabaseError,),
                log=log,
            )

    @app.agent(decisions_topic)
    async def store_decisions(stream: Any) -> None:
        """Signals and risk scores into PostgreSQL."""
        await store(stream, 1000, 0.2)

    @app.agent(alarms_topic)
    async def store_alarms(stream: Any) -> None:
        """Alarm decisions into PostgreSQL, on their own: never behind a batch of signals."""
        await store(stream, 100, 0.01)

    return app


def run_score(settings: Settings) -> None:
    """Run a faust scoring worker in this process until SIGTERM/SIGINT: any number of them, split by the
    topics' partitions. Logs go through Firewarden's logging (faust's own set-up is skipped)."""
    app = build_app(settings)
    configure_logging(settings.log_level, settings.log_format)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), override_logging=False, quiet=True)
    worker.execute_from_commandline()


def start_worker(settings: Settings, database_url: str) -> BaseProcess:
    """A faust worker as a child process (``up`` on Kafka), given the same settings object."""
    given = settings.model_copy(update={"database_url": database_url})
    _worker_settings(given)  # a bad setting stops `up` here, not in the child
    child = multiprocessing.get_context("spawn").Process(target=run_score, args=(given,), name="score")
    child.start()
    return child


def local_runner(
    settings: Settings, policy: Policy, database_url: str, bus: Bus, models: Models | None = None
) -> LocalRunner:
    """The in-process runner on the local bus, its models audited as the ones in use and switched when
    the model directory changes."""
    models = models or models_for(settings)
    record_models(database_url, models, "system:up")
    scorer = Scorer(policy, load_sites(database_url, policy), models)

    def reload(engine: Engine) -> ModelReload:
        watch = ModelWatch(settings.models_path, models)
        return ModelReload(engine, watch, database_url, "system:up", settings.model_reload_s)

    def refresh(engine: Engine) -> SiteRefresh:
        return SiteRefresh(engine, database_url, settings.scoring_registry_refresh_s)

    return LocalRunner(
        scorer, bus, DecisionStore(database_url), wall_clock=settings.scoring_wall_clock,
        lateness_s=settings.scoring_lateness_s, reload=reload, refresh=refresh,
    )  # fmt: skip
