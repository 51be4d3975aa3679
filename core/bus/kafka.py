"""The Kafka bus: an idempotent aiokafka producer with ``acks=all``, and consumer groups.

Idempotence makes the broker drop the producer's own retries, so a retried send never appears
twice; ``acks=all`` means a message counts as accepted only once every in-sync replica has it.
Keys are hashed with Kafka's default partitioner (murmur2), the one faust workers expect.
Consumers commit by hand (:meth:`KafkaConsumer.commit`), after their work is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from core.bus.base import Bus, BusMessage, Consumer, Reader
from core.errors import BusError

log = logging.getLogger(__name__)


def _options(bootstrap_servers: list[str], group: str | None, buffer: int) -> dict[str, Any]:
    """An aiokafka consumer's options: ``group`` (None: no group), commits by hand, from the earliest
    message kept where nothing says otherwise, fetches sized for ``buffer`` messages."""
    return {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": max(1 << 20, buffer * 256),
    }


def _messages(batches: dict[Any, list[Any]]) -> list[BusMessage]:
    """What ``getmany`` returned, as bus messages (tombstones left out)."""
    return [
        BusMessage(tp.topic, m.key or b"", m.value, m.offset, tp.partition)
        for tp, messages in batches.items()
        for m in messages
        if m.value is not None
    ]


class KafkaConsumer(Consumer):
    """A member of a Kafka consumer group, joining at its first :meth:`get`."""

    def __init__(self, bootstrap_servers: list[str], topics: Sequence[str], group: str, buffer: int) -> None:
        self.where = ",".join(bootstrap_servers)
        self._options = _options(bootstrap_servers, group, buffer)
        self._topics = list(topics)
        self._consumer: AIOKafkaConsumer | None = None

    async def _joined(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(*self._topics, **self._options)
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        try:
            consumer = await self._joined()
            batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_messages)
        except KafkaError as error:
            raise BusError(f"reading from Kafka at {self.where} failed: {error}") from None
        return _messages(batches)

    async def commit(self) -> None:
        if self._consumer is None:
            return
        try:
            await self._consumer.commit()
        except KafkaError as error:
            raise BusError(f"committing to Kafka at {self.where} failed: {error}") from None

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()


class KafkaReader(Reader):
    """Every partition of one topic, assigned by hand (no group), from the positions given; opened at
    its first :meth:`get`. The topic must exist (``firewarden topics create``)."""

    def __init__(
        self,
        bootstrap_servers: list[str],
        topic: str,
        positions: Mapping[int, int],
        resume_group: str | None,
        buffer: int,
    ) -> None:
        self.where = ",".join(bootstrap_servers)
        self.topic = topic
        self.positions = dict(positions)
        self.resume_group = resume_group
        self._options = _options(bootstrap_servers, None, buffer)
        self._consumer: AIOKafkaConsumer | None = None

    async def _opened(self) -> AIOKafkaConsumer:
        if self._consumer is not None:
            return self._consumer
        consumer = AIOKafkaConsumer(**self._options)
        try:
            await consumer.start()
            await consumer.topics()  # the cluster's metadata, so that the topic's partitions are known
            partitions = sorted(consumer.partitions_for_topic(self.topic) or ())
            if not partitions:
                raise BusError(f"Kafka at {self.where} has no topic {self.topic} (run `firewarden topics create`)")
            start = {**await self._resumed(partitions), **self.positions}
            assigned = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(assigned)
            for tp in assigned:
                if tp.partition in start:
                    consumer.seek(tp, start[tp.partition])
        except BaseException:
            await consumer.stop()
            raise
        log.info("reading every partition of %s from %s", self.topic, start or "the earliest kept")
        self._consumer = consumer
        return consumer

    async def _resumed(self, partitions: list[int]) -> dict[int, int]:
        """Where :attr:`resume_group` committed the partitions that have no position yet."""
        missing = [p for p in partitions if p not in self.positions]
        if self.resume_group is None or not missing:
            return {}
        # asked as the group's consumers ask (OffsetFetch through the coordinator), without joining it
        group = AIOKafkaConsumer(**{**self._options, "group_id": self.resume_group})
        await group.start()
        try:
            committed = {p: await group.committed(TopicPartition(self.topic, p)) for p in missing}
        finally:
            await group.stop()
        return {p: offset for p, offset in committed.items() if offset is not None and offset >= 0}

    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        try:
            consumer = await self._opened()
            batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_messages)
        except KafkaError as error:
            raise BusError(f"reading {self.topic} from Kafka at {self.where} failed: {error}") from None
        return _messages(batches)

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()


class KafkaBus(Bus):
    """Publishing needs :meth:`start` first (it makes the producer); a bus that only hands out
    consumers never opens a producer connection."""

    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        *,
        client_id: str = "firewarden",
        idempotent: bool = True,
        linger_ms: int = 5,
    ) -> None:
        self.bootstrap_servers = list(bootstrap_servers)
        self.client_id = client_id
        self.idempotent = idempotent
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            enable_idempotence=self.idempotent,
            acks="all",
            linger_ms=self.linger_ms,
            max_batch_size=1 << 20,
        )
        try:
            await producer.start()
        except KafkaError as error:
            await producer.stop()
            raise BusError(f"Kafka at {','.join(self.bootstrap_servers)} is unreachable: {error}") from None
        self._producer = producer

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        producer = self._producer
        if producer is None:
            raise RuntimeError("KafkaBus.publish before start()")
        try:
            pending = [await producer.send(m.topic, m.value, key=m.key) for m in messages]
            await asyncio.gather(*pending)
        except KafkaError as error:
            raise BusError(f"Kafka refused a batch of {len(messages)} message(s): {error}") from None

    def consumer(self, topics: Sequence[str], group: str, *, buffer: int = 10_000) -> KafkaConsumer:
        return KafkaConsumer(self.bootstrap_servers, topics, group, buffer)

    def reader(
        self, topic: str, positions: Mapping[int, int], *, resume_group: str | None = None, buffer: int = 10_000
    ) -> KafkaReader:
        return KafkaReader(self.bootstrap_servers, topic, positions, resume_group, buffer)

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
