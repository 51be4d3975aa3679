"""The Kafka bus: an idempotent aiokafka producer with ``acks=all``, and consumer groups.

Idempotence makes the broker drop the producer's own retries, so a retried send never appears
twice; ``acks=all`` means a message counts as accepted only once every in-sync replica has it.
Keys are hashed with Kafka's default partitioner (murmur2), the one faust workers expect.
Consumers commit by hand (:meth:`KafkaConsumer.commit`), after their work is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from core.bus.base import Bus, BusMessage, Consumer
from core.errors import BusError


class KafkaConsumer(Consumer):
    """A member of a Kafka consumer group, started at its first :meth:`get`."""

    def __init__(self, bootstrap_servers: list[str], topics: Sequence[str], group: str, buffer: int) -> None:
        self.where = ",".join(bootstrap_servers)
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=max(1 << 20, buffer * 256),
        )
        self._started = False

    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        try:
            if not self._started:
                await self._consumer.start()
                self._started = True
            batches = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_messages)
        except KafkaError as error:
            raise BusError(f"reading from Kafka at {self.where} failed: {error}") from None
        return [
            BusMessage(tp.topic, m.key or b"", m.value)
            for tp, messages in batches.items()
            for m in messages
            if m.value is not None
        ]

    async def commit(self) -> None:
        if not self._started:
            return
        try:
            await self._consumer.commit()
        except KafkaError as error:
            raise BusError(f"committing to Kafka at {self.where} failed: {error}") from None

    async def close(self) -> None:
        if self._started:
            await self._consumer.stop()
            self._started = False


class KafkaBus(Bus):
    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        *,
        client_id: str = "firewarden",
        idempotent: bool = True,
        linger_ms: int = 5,
    ) -> None:
        self.bootstrap_servers = list(bootstrap_servers)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=client_id,
            enable_idempotence=idempotent,
            acks="all",
            linger_ms=linger_ms,
            max_batch_size=1 << 20,
        )

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as error:
            raise BusError(f"Kafka at {','.join(self.bootstrap_servers)} is unreachable: {error}") from None

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        try:
            pending = [await self._producer.send(m.topic, m.value, key=m.key) for m in messages]
            await asyncio.gather(*pending)
        except KafkaError as error:
            raise BusError(f"Kafka refused a batch of {len(messages)} message(s): {error}") from None

    def consumer(self, topics: Sequence[str], group: str, *, buffer: int = 10_000) -> KafkaConsumer:
        return KafkaConsumer(self.bootstrap_servers, topics, group, buffer)

    async def close(self) -> None:
        await self._producer.stop()
