"""The ingest service: MQTT in, PostgreSQL and the bus out, acknowledgement last.

One asyncio loop, two lanes (:mod:`ingest.lanes`): events (priority) and everything else (bulk),
each with its MQTT session, its :class:`~ingest.batching.Batcher`, its writer task and its worker
thread and database connection, so an event never waits for a telemetry batch. In each lane the
writer takes due batches in order and writes each in the worker thread (reading and validating go
on meanwhile): the store writes the batch in an open transaction and says which records are new,
exactly those go on the bus, the transaction commits, and only then are the batch's messages
acknowledged. A failed write or hand-off rolls back and is retried with backoff, never skipped, so a
message is acknowledged only once it is stored and on the bus, and a crash at any point means
redelivery, not loss; a redelivered message already stored is not handed on again.

Memory is bounded by the in-flight limits: the broker sends the bulk session at most
``max_in_flight`` unacknowledged messages (MQTT 5 Receive Maximum), the priority session at most
:data:`PRIORITY_IN_FLIGHT`, until their writers catch up.

Stopping (SIGTERM or SIGINT): every received message is stored and acknowledged, then ingest
disconnects. If the database stays away longer than ``shutdown_timeout_s`` (or a second signal
comes), ingest exits without acknowledging the rest; the broker redelivers it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core import gb26875
from core.addresses import MqttUrl
from core.backoff import Backoff, Sleep, retry
from core.bus import Bus
from core.errors import BusError, DatabaseError
from core.policy import IngestPolicy
from core.settings import Settings
from core.wire import DecodeError, downlink_topic, parse_topic
from ingest.batching import Admission, Batch, Batcher, Delivery
from ingest.dedup import RecentMessages
from ingest.handoff import EVENTS_TOPIC, RECORDS_TOPIC, to_bus
from ingest.lanes import PRIORITY_SUFFIX, is_priority, priority_filters
from ingest.lease_store import ClientLease
from ingest.limits import RateLimiter
from ingest.metrics import IngestMetrics
from ingest.sessions import SessionWatch, wait_for_lease
from ingest.store import RecordStore, WriteResult, load_registry_index
from ingest.subscriber import MqttSubscriber, topic_filters
from ingest.validation import RegistryIndex, ValidationPolicy, Validator

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.2
RETRY_CAP_S = 5.0
PRIORITY_IN_FLIGHT = 1_000
"""The priority session's Receive Maximum: events are few, a flood of them is rate limited."""


class Lane:
    """One lane's batcher, store, worker thread and bus topic; its writer is :meth:`Ingest._write_loop`."""

    def __init__(self, name: str, batcher: Batcher, store: RecordStore, topic: str, max_in_flight: int) -> None:
        self.name = name
        self.batcher = batcher
        self.store = store
        self.topic = topic
        self.max_in_flight = max_in_flight
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ingest-{name}")
        self.wake = asyncio.Event()
        self.in_flight = 0
        self.batches = 0

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # the executor may already be shut down
            self.executor.submit(self.store.close).result()
        self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    client_id: str
    partitions: int = 1
    partition: int = 0
    max_in_flight: int = 20_000
    batch_rows: int = 5_000
    batch_wait_s: float = 0.2
    session_expiry_s: int = 7 * 24 * 3600
    dedup_capacity: int = 1_000_000
    registry_refresh_s: float = 60.0
    shutdown_timeout_s: float = 30.0
    centre_address: bytes = bytes(6)
    """The centre's GB/T 26875.3 address: the source of its confirms and denials."""
    standby: bool = False
    """Wait for the client id's lease instead of refusing to start when another process holds it."""
    loss_hold_s: float = 1800.0
    """How long a lost broker session keeps ingest not ready, unless acknowledged first."""

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestOptions:
        return cls(
            client_id=settings.ingest_client_id
            or default_client_id(settings.ingest_partition, settings.ingest_partitions),
            partitions=settings.ingest_partitions,
            partition=settings.ingest_partition,
            max_in_flight=settings.ingest_max_in_flight,
            batch_rows=settings.ingest_batch_rows,
            batch_wait_s=settings.ingest_batch_ms / 1000,
            session_expiry_s=settings.ingest_session_expiry_s,
            dedup_capacity=settings.ingest_dedup_capacity,
            registry_refresh_s=settings.ingest_registry_refresh_s,
            centre_address=bytes.fromhex(settings.gb26875_centre_address),
            standby=settings.ingest_standby,
            loss_hold_s=settings.ingest_session_loss_hold_s,
        )


def default_client_id(partition: int, partitions: int) -> str:
    """Stable across restarts and hosts, so a restarted process finds its session (and what it queued)."""
    return f"firewarden-ingest-{partition}-of-{partitions}"


class Ingest:
    def __init__(
        self,
        *,
        mqtt_url: MqttUrl,
        database_url: str,
        bus: Bus,
        options: IngestOptions,
        index: RegistryIndex,
        metrics: IngestMetrics | None = None,
        policy: IngestPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.options = options
        self.database_url = database_url
        self.bus = bus
        self.metrics = metrics or IngestMetrics()
        policy = policy or IngestPolicy()
        self.validator = Validator(index, ValidationPolicy.of(policy))
        recent, limiter = RecentMessages(options.dedup_capacity), RateLimiter(policy)
        # Half the in-flight limit per bulk batch, so one batch is written while the next fills.
        self.bulk = Lane(
            "bulk",
            Batcher(
                self.validator,
                recent,
                limiter,
                max_rows=options.batch_rows,
                max_messages=max(1, options.max_in_flight // 2),
                max_wait_s=options.batch_wait_s,
            ),
            RecordStore(database_url, policy),
            RECORDS_TOPIC,
            options.max_in_flight,
        )
        self.priority = Lane(
            "priority",
            Batcher(
                self.validator,
                recent,
                limiter,
                max_rows=options.batch_rows,
                max_messages=PRIORITY_IN_FLIGHT,
                max_wait_s=0.0,
                summaries=False,
            ),
            RecordStore(database_url, policy),
            EVENTS_TOPIC,
            PRIORITY_IN_FLIGHT,
        )
        self.lanes = (self.priority, self.bulk)
        self.lease = ClientLease(database_url, options.client_id)
        filters = topic_filters(index.premises, options.partitions, options.partition)
        self.subscriber = MqttSubscriber(
            mqtt_url,
            client_id=options.client_id,
            filters=filters,
            receive_maximum=options.max_in_flight,
            session_expiry_s=options.session_expiry_s,
            on_delivery=self._on_bulk_delivery,
            now=now,
        )
        self.priority_subscriber = MqttSubscriber(
            mqtt_url,
            client_id=options.client_id + PRIORITY_SUFFIX,
            filters=priority_filters(filters),
            receive_maximum=PRIORITY_IN_FLIGHT,
            session_expiry_s=options.session_expiry_s,
            on_delivery=self._on_priority_delivery,
            now=now,
        )
        self.subscribers = (self.priority_subscriber, self.subscriber)
        self.sessions = SessionWatch(database_url, self.subscribers, self.metrics, hold_s=options.loss_hold_s, now=now)
        self._now = now
        self._sleep = sleep
        self._draining = False
        self._subscribed = False
        self.standby = False
        """Whether this process waits for the lease of its client id (see :attr:`IngestOptions.standby`)."""
        self.held = {"priority": 0, "bulk": 0}
        """Messages received and not yet acknowledged, per MQTT session."""
        self.metrics.subscriptions.set(self._subscriptions())
        self.metrics.in_flight.set_function(lambda: self.in_flight)
        self.metrics.paused.set_function(lambda: int(self.paused))

    def _subscriptions(self) -> int:
        return sum(len(s.filters) for s in self.subscribers)

    @property
    def batches(self) -> int:
        return sum(lane.batches for lane in self.lanes)

    async def run(self, stop: asyncio.Event) -> None:
        """Ingest until ``stop`` is set, then store and acknowledge what was received, and return.

        Raises ServiceError when another process runs with this client id, at start (unless this one
        is a standby: it then waits for that one to stop or die, or for ``stop``) or later."""
        loop = asyncio.get_running_loop()
        if not self.options.standby:
            await loop.run_in_executor(None, self.lease.acquire)
        elif not await wait_for_lease(self.lease, stop, lambda waiting: setattr(self, "standby", waiting)):
            return
        await loop.run_in_executor(None, self.sessions.expect)
        # The writers run first: a resumed session starts redelivering before start() returns.
        writers = [asyncio.create_task(self._write_loop(lane), name=f"ingest-{lane.name}") for lane in self.lanes]
        started: list[MqttSubscriber] = []
        try:
            for subscriber in self.subscribers:
                await subscriber.start()
                started.append(subscriber)
        except BaseException:
            for writer in writers:
                writer.cancel()
            for subscriber in started:
                await subscriber.stop()
            await loop.run_in_executor(None, self.lease.release)
            raise
        self._subscribed = True
        refresher = asyncio.create_task(self._refresh_registry(), name="ingest-registry")
        watching = asyncio.create_task(self.sessions.run(), name="ingest-sessions")
        o = self.options
        log.info(
            "ingesting as %s (events as %s), partition %d of %d (%d topic filter(s)), in-flight limit %d, "
            "batches of %d rows / %.0f ms",
            o.client_id,
            self.priority_subscriber.client_id,
            o.partition,
            o.partitions,
            len(self.subscriber.filters),
            o.max_in_flight,
            o.batch_rows,
            o.batch_wait_s * 1000,
            extra={"client_id": o.client_id, "partition": o.partition, "partitions": o.partitions},
        )
        stopping = asyncio.create_task(stop.wait())
        failures = [s.failed for s in self.subscribers if s.failed is not None]
        waiting: set[asyncio.Future[Any]] = {stopping, refresher, *writers, *failures}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not stopping.done():  # a bug in a writer, or a session or the lease lost for good: surface it
            stopping.cancel()
            for task in (refresher, watching, *writers):
                task.cancel()
            outcomes = await asyncio.gather(refresher, watching, *writers, return_exceptions=True)
            await self._stop_subscribers()
            self._close_stores()
            await loop.run_in_executor(None, self.lease.release)
            for failed in failures:
                if failed.done():
                    failed.result()
            for outcome in outcomes:
                if isinstance(outcome, Exception):  # a cancellation is a BaseException, not one of these
                    raise outcome
            return
        refresher.cancel()
        watching.cancel()
        self._draining = True
        for lane in self.lanes:
            lane.wake.set()
        try:
            await asyncio.wait_for(asyncio.gather(*writers), self.options.shutdown_timeout_s)
        except TimeoutError:
            log.error(
                "stopped with %d message(s) not stored (the database did not come back within %.0f s); "
                "they were not acknowledged, the broker will deliver them again",
                self.in_flight,
                self.options.shutdown_timeout_s,
            )
        await self._stop_subscribers()
        self._close_stores()
        await loop.run_in_executor(None, self.lease.release)
        counts = {
            "received": int(self.metrics.value("firewarden_ingest_received_total")),
            "stored": int(self.metrics.value("firewarden_ingest_stored_total")),
            "duplicates": int(self.metrics.value("firewarden_ingest_duplicates_total")),
            "rejected": sum(self.metrics.counts.rejected.values()),
            "rate_limited": int(self.metrics.value("firewarden_ingest_rate_limited_total")),
        }
        log.info(
            "stopped: %(received)d received, %(stored)d stored, %(duplicates)d duplicate(s), %(rejected)d rejected, "
            "%(rate_limited)d dropped by the rate limit",
            counts,
            extra=counts,
        )

    async def _stop_subscribers(self) -> None:
        for subscriber in self.subscribers:
            await subscriber.stop()

    def _close_stores(self) -> None:
        for lane in self.lanes:
            lane.close()

    @property
    def in_flight(self) -> int:
        return sum(lane.in_flight for lane in self.lanes)

    @property
    def ready(self) -> bool:
        """Subscribed (every SUBACK of both sessions in) and connected: messages flow; and no lost broker
        session waits for an operator (:class:`ingest.sessions.SessionWatch`)."""
        return self._subscribed and all(s.connected for s in self.subscribers) and not self.sessions.unsettled

    def _on_priority_delivery(self, delivery: Delivery) -> None:
        self._admit(self.priority, delivery, "priority")

    def _on_bulk_delivery(self, delivery: Delivery) -> None:
        if is_priority(delivery.topic):
            # The priority session's copy, or (rarely) the only one: stored once, in the priority lane.
            self.metrics.counts.lane_copies += 1
            self._admit(self.priority, delivery, "bulk")
        else:
            self._admit(self.bulk, delivery, "bulk")

    def _admit(self, lane: Lane, delivery: Delivery, session: str) -> None:
        # Sessions are told apart only where a message comes through both: in the priority lane.
        twins = lane is self.priority
        bulk_copy = twins and session == "bulk"
        admission = lane.batcher.add(delivery, session=session if twins else "", keep_dead_letter=not bulk_copy)
        lane.in_flight += 1
        self.held[session] += 1
        self._count(admission, bulk_copy)
        # Wake the writer when a batch opens (to time its age) and when one is due.
        if lane.batcher.pending == 1 or lane.batcher.due():
            lane.wake.set()

    def _count(self, admission: Admission, bulk_copy: bool) -> None:
        # A message of an event channel counts once: the twin of an admitted one, or of a repeat, is a
        # copy; the bulk session's refusals are the priority session's to count.
        if admission.verdict == "copy" or (bulk_copy and admission.verdict == "rejected"):
            return
        c = self.metrics.counts
        c.received += 1
        verdict = admission.verdict
        if verdict == "accepted":
            c.accepted += 1
        elif verdict == "duplicate":
            c.duplicates += 1
        elif verdict == "rate_limited":
            c.rate_limited += 1
        else:
            c.reject(admission.reason or "unknown")

    async def _write_loop(self, lane: Lane) -> None:
        batcher = lane.batcher
        while True:
            if not batcher.due() and not self._draining:
                lane.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), batcher.seconds_until_due())
                continue
            if self._draining and batcher.pending == 0 and not (batcher.summaries and batcher.limiter.dropping):
                return
            batch = batcher.take(self._now(), final=self._draining)
            result = await self._hand_off(lane, batch)
            if batch.replies:
                self._answer(batch, result)
            for subscriber in self.subscribers:
                subscriber.ack(batch.tokens)
            lane.in_flight -= batch.messages
            for session, count in batch.sessions.items():
                self.held[session] -= count
            if lane is self.bulk:
                self.held["bulk"] -= batch.messages
            lane.batches += 1

    @property
    def paused(self) -> bool:
        """The broker holds back: the bulk session's Receive Maximum is reached (copies of events included)."""
        return self.held["bulk"] >= self.options.max_in_flight

    def _answer(self, batch: Batch, result: WriteResult) -> None:
        """Confirm (command 3) each stored or duplicate GB/T 26875.3 frame of a stored batch, deny (6) each
        refused one, on the UITD's downlink topic."""
        now = self._now()
        tz = self.validator.policy.frame_timezone
        for reply in batch.replies:
            accept = reply.accept and reply.index not in result.conflicted
            frame = gb26875.reply(reply.frame, accept=accept, now=now, centre=self.options.centre_address, tz=tz)
            try:
                premises_id, device_id, _ = parse_topic(reply.topic)
            except DecodeError:
                continue
            if frame is None:
                continue
            self.priority_subscriber.publish(downlink_topic(premises_id, device_id), frame)
            self.metrics.replies.labels("confirm" if accept else "deny").inc()

    async def _hand_off(self, lane: Lane, batch: Batch) -> WriteResult:
        """Store the batch and hand its new records to the bus, both or neither, retrying until done."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()

        async def attempt() -> WriteResult:
            try:
                result: WriteResult = await loop.run_in_executor(lane.executor, lane.store.begin, batch)
            except DatabaseError:
                self.metrics.store_failures.inc()
                raise
            # A standalone process on the local bus has no reader: nothing to encode for nobody.
            messages = to_bus(result.records, lane.topic) if self.bus.has_readers(lane.topic) else []
            try:
                if messages:
                    await self.bus.publish(messages)
            except BusError:
                self.metrics.bus_failures.inc()
                await loop.run_in_executor(lane.executor, lane.store.rollback)
                raise
            try:
                await loop.run_in_executor(lane.executor, lane.store.commit)
            except DatabaseError:
                self.metrics.store_failures.inc()
                raise
            return result

        result = await retry(
            attempt,
            what=f"storing a batch of the {lane.name} lane ({lane.in_flight} message(s) held)",
            errors=(DatabaseError, BusError),
            backoff=Backoff(RETRY_FIRST_S, RETRY_CAP_S),
            sleep=self._sleep,
            log=log,
        )
        m = self.metrics
        m.stored.inc(result.stored)
        m.counts.duplicates += result.duplicates
        if result.conflicts:  # found by the database, after admission counted them as accepted
            m.counts.reject("seq_conflict", result.conflicts)
        for table, count in result.rows.items():
            m.rows_stored.labels(table).inc(count)
        m.batch_seconds.observe(time.perf_counter() - started)
        m.batch_rows.observe(batch.rows)
        return result

    async def _refresh_registry(self) -> None:
        # Devices and premises registered while ingest runs are known (and subscribed) within a refresh
        # period; the lease is renewed as often (it raises ServiceError once another process holds it).
        loop = asyncio.get_running_loop()
        o = self.options
        while True:
            await asyncio.sleep(o.registry_refresh_s)
            await loop.run_in_executor(None, self.lease.renew)
            try:
                index = await loop.run_in_executor(None, load_registry_index, self.database_url)
            except DatabaseError as error:
                log.warning("registry not refreshed: %s", error)
                continue
            self.validator.index = index
            added = self.subscriber.add_filters(topic_filters(index.premises, o.partitions, o.partition))
            if added:
                self.priority_subscriber.add_filters(priority_filters(added))
                log.info("subscribed to %d more premises", len(added))
                self.metrics.subscriptions.set(self._subscriptions())
