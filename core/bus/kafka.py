"""The Kafka bus: an idempotent aiokafka producer with ``acks=all``.

Idempotence makes the broker drop the producer's own retries, so a retried send never appears
twice; ``acks=all`` means a message counts as accepted only once every in-sync replica has it.
Keys are hashed with Kafka's default partitioner (murmur2), the one faust workers expect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from core.bus.base import Bus, BusMessage
from core.errors import BusError


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

    async def close(self) -> None:
        await self._producer.stop()
