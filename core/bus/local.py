"""The in-process bus: a bounded asyncio queue per subscriber and topic.

A topic with no subscriber accepts and forgets its messages, as a Kafka topic nobody reads would
keep them for nobody: the records are already stored in PostgreSQL by then.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence

from core.bus.base import Bus, BusMessage, Consumer, Reader


class _Queued:
    """A bounded queue that receives every message published on its topics from its creation on."""

    durable = False

    def __init__(self, queue: asyncio.Queue[BusMessage]) -> None:
        self.queue = queue

    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        queue = self.queue
        if queue.empty():
            if timeout_s <= 0:
                return []
            try:
                first = await asyncio.wait_for(queue.get(), timeout_s)
            except TimeoutError:
                return []
            out = [first]
        else:
            out = []
        while len(out) < max_messages and not queue.empty():
            out.append(queue.get_nowait())
        return out


class LocalConsumer(_Queued, Consumer):
    """A consumer group of one member: its queue."""

    async def commit(self) -> None:
        """Nothing to do: a process that stops loses its local bus with it."""

    def pending(self) -> int:
        """Messages published and not yet handed out."""
        return self.queue.qsize()


class LocalReader(_Queued, Reader):
    """A reader of one topic: its queue."""


class LocalBus(Bus):
    def __init__(self) -> None:
        self._queues: defaultdict[str, list[asyncio.Queue[BusMessage]]] = defaultdict(list)

    def subscribe(self, *topics: str, maxsize: int = 10_000) -> asyncio.Queue[BusMessage]:
        """A queue that receives every message later published on any of ``topics``, in publish order.

        When it holds ``maxsize`` messages, :meth:`publish` waits for the subscriber to catch up.
        """
        queue: asyncio.Queue[BusMessage] = asyncio.Queue(maxsize)
        for topic in topics:
            self._queues[topic].append(queue)
        return queue

    def consumer(self, topics: Sequence[str], group: str, *, buffer: int = 10_000) -> LocalConsumer:
        return LocalConsumer(self.subscribe(*topics, maxsize=buffer))

    def reader(
        self, topic: str, positions: Mapping[int, int], *, resume_group: str | None = None, buffer: int = 10_000
    ) -> LocalReader:
        return LocalReader(self.subscribe(topic, maxsize=buffer))

    def has_readers(self, topic: str) -> bool:
        return bool(self._queues.get(topic))

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        for message in messages:
            for queue in self._queues.get(message.topic, ()):
                await queue.put(message)
