"""The ingest service: MQTT in, PostgreSQL and the bus out, acknowledgement last.

One asyncio loop. The subscriber feeds deliveries to the :class:`~ingest.batching.Batcher`; one
writer task takes due batches in order, stores each (in a worker thread, so reading and validating
go on meanwhile), hands its records to the bus, and only then acknowledges its messages. A failed
write or hand-off is retried with backoff, never skipped, so a message is acknowledged only once it
is stored and on the bus, and a crash at any point means redelivery, not loss.

Memory is bounded by the in-flight limit: at ``max_in_flight`` unacknowledged messages the broker
stops sending (MQTT 5 Receive Maximum) and ingest stops reading, until the writer catches up.

Stopping (SIGTERM or SIGINT): reading stops, every received message is stored and acknowledged, then
ingest disconnects. If the database stays away longer than ``shutdown_timeout_s`` (or a second
signal comes), ingest exits without acknowledging the rest; the broker redelivers it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from firewarden.bus import Bus
from firewarden.errors import BusError, DatabaseError
from firewarden.settings import MqttUrl, Settings
from ingest.batching import Batch, Batcher, Delivery
from ingest.dedup import RecentMessages
from ingest.handoff import to_bus
from ingest.metrics import IngestMetrics
from ingest.store import RecordStore, load_registry_index
from ingest.subscriber import MqttSubscriber
from ingest.validation import RegistryIndex, ValidationPolicy, Validator

log = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class IngestOptions:
    client_id: str
    group: str = "ingest"
    max_in_flight: int = 20_000
    batch_rows: int = 5_000
    batch_wait_s: float = 0.2
    session_expiry_s: int = 7 * 24 * 3600
    dedup_capacity: int = 1_000_000
    registry_refresh_s: float = 60.0
    shutdown_timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestOptions:
        return cls(
            client_id=settings.ingest_client_id or default_client_id(),
            group=settings.ingest_group,
            max_in_flight=settings.ingest_max_in_flight,
            batch_rows=settings.ingest_batch_rows,
            batch_wait_s=settings.ingest_batch_ms / 1000,
            session_expiry_s=settings.ingest_session_expiry_s,
            dedup_capacity=settings.ingest_dedup_capacity,
        )


def default_client_id() -> str:
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:40]
    return f"firewarden-ingest-{host or 'host'}"


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
        policy: ValidationPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.options = options
        self.database_url = database_url
        self.bus = bus
        self.metrics = metrics or IngestMetrics()
        self.validator = Validator(index, policy)
        # Half the in-flight limit per batch, so one batch is written while the next fills.
        self.batcher = Batcher(
            self.validator,
            RecentMessages(options.dedup_capacity),
            max_rows=options.batch_rows,
            max_messages=max(1, options.max_in_flight // 2),
            max_wait_s=options.batch_wait_s,
        )
        self.store = RecordStore(database_url)
        self.subscriber = MqttSubscriber(
            mqtt_url,
            client_id=options.client_id,
            group=options.group,
            receive_maximum=options.max_in_flight,
            session_expiry_s=options.session_expiry_s,
            on_delivery=self._on_delivery,
            now=now,
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store")
        self._wake = asyncio.Event()
        self._draining = False
        self._in_flight = 0
        self.batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Ingest until ``stop`` is set, then store and acknowledge what was received, and return."""
        # The writer runs first: a resumed session starts redelivering before start() returns.
        writer = asyncio.create_task(self._write_loop(), name="ingest-writer")
        try:
            await self.subscriber.start()
        except BaseException:
            writer.cancel()
            raise
        refresher = asyncio.create_task(self._refresh_registry(), name="ingest-registry")
        o = self.options
        log.info(
            "ingesting %s as %s (in-flight limit %d, batches of %d rows / %.0f ms)",
            self.subscriber.subscription,
            o.client_id,
            o.max_in_flight,
            o.batch_rows,
            o.batch_wait_s * 1000,
            extra={"client_id": o.client_id, "subscription": self.subscriber.subscription},
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({stopping, writer}, return_when=asyncio.FIRST_COMPLETED)
        refresher.cancel()
        if writer.done():  # the writer only ends early on a bug: surface it
            stopping.cancel()
            await self.subscriber.stop()
            writer.result()
            return
        self.subscriber.pause()
        self._draining = True
        self._wake.set()
        try:
            await asyncio.wait_for(writer, self.options.shutdown_timeout_s)
        except TimeoutError:
            log.error(
                "stopped with %d message(s) not stored (the database did not come back within %.0f s); "
                "they were not acknowledged, the broker will deliver them again",
                self._in_flight,
                self.options.shutdown_timeout_s,
            )
        await self.subscriber.stop()
        self._close_store()
        counts = {
            "received": int(self.metrics.value("firewarden_ingest_received_total")),
            "accepted": int(self.metrics.value("firewarden_ingest_accepted_total")),
            "duplicates": int(self.metrics.value("firewarden_ingest_duplicates_total")),
            "rejected": int(
                sum(s.value for m in self.metrics.rejected.collect() for s in m.samples if s.name.endswith("_total"))
            ),
        }
        log.info(
            "stopped: %(received)d received, %(accepted)d accepted, %(duplicates)d duplicate(s), %(rejected)d rejected",
            counts,
            extra=counts,
        )

    def _close_store(self) -> None:
        self._executor.submit(self.store.close).result()
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _on_delivery(self, delivery: Delivery) -> None:
        m = self.metrics
        m.received.inc()
        admission = self.batcher.add(delivery)
        if admission.verdict == "accepted":
            m.accepted.inc()
        elif admission.verdict == "duplicate":
            m.duplicates.inc()
        else:
            m.rejected.labels(admission.reason).inc()
        self._in_flight += 1
        m.in_flight.set(self._in_flight)
        # Wake the writer when a batch opens (to time its age) and when one is due.
        if self.batcher.pending == 1 or self.batcher.due():
            self._wake.set()
        if self._in_flight >= self.options.max_in_flight and not self.subscriber.paused:
            self.subscriber.pause()
            m.paused.set(1)

    async def _write_loop(self) -> None:
        while True:
            if not self.batcher.due() and not self._draining:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.batcher.seconds_until_due())
                continue
            if self._draining and self.batcher.pending == 0:
                return
            batch = self.batcher.take()
            await self._hand_off(batch)
            self.subscriber.ack(batch.tokens)
            self._in_flight -= batch.messages
            self.batches += 1
            self.metrics.in_flight.set(self._in_flight)
            if self.subscriber.paused and not self._draining and self._in_flight < self.options.max_in_flight:
                self.subscriber.resume()
                self.metrics.paused.set(0)

    async def _hand_off(self, batch: Batch) -> None:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        delay = RETRY_MIN_S
        while True:
            try:
                result = await loop.run_in_executor(self._executor, self.store.write, batch.records, batch.dead_letters)
                break
            except DatabaseError as error:
                self.metrics.store_failures.inc()
                log.warning(
                    "%s; retrying in %.1f s (%d message(s) held)",
                    error,
                    delay,
                    self._in_flight,
                    extra={"held": self._in_flight, "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
        for table, count in result.inserted.items():
            self.metrics.rows_stored.labels(table).inc(count)
            duplicates = result.duplicates(table)
            if duplicates:
                self.metrics.duplicate_rows.labels(table).inc(duplicates)
        messages = to_bus(batch.records)
        delay = RETRY_MIN_S
        while messages:
            try:
                await self.bus.publish(messages)
                break
            except BusError as error:
                self.metrics.bus_failures.inc()
                log.warning("%s; retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_rows.observe(batch.rows)

    async def _refresh_registry(self) -> None:
        # Devices registered while ingest runs are known within a refresh period.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.options.registry_refresh_s)
            try:
                index = await loop.run_in_executor(None, load_registry_index, self.database_url)
            except DatabaseError as error:
                log.warning("registry not refreshed: %s", error)
                continue
            self.validator.index = index
