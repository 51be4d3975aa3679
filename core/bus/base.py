"""The bus interface every stage codes against: publish, and consume with commit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One message on the bus: ``key`` (a premises id) decides its partition, ``value`` is opaque bytes."""

    topic: str
    key: bytes
    value: bytes
    offset: int | None = None
    """Its position in its partition, as a consumer received it from Kafka; None on the local bus and
    when publishing. A premises always lives in one partition of each topic, so a consumer that keeps
    per-premises state can tell a message it already applied (redelivered after a crash) by it."""
    partition: int | None = None
    """Its partition, as a consumer or reader received it from Kafka; None on the local bus."""


class Consumer(ABC):
    """One reader of some topics, as a member of a consumer group.

    Messages of one key (one premises) come in the order they were published. Delivery is at least
    once: what a consumer was handed and did not :meth:`commit` before it stopped or crashed is
    handed to the group again.
    """

    durable: bool = True
    """Whether the bus keeps what this consumer did not commit (Kafka); the local bus keeps nothing, so
    a consumer that stops must first take and handle what was published to it."""

    @abstractmethod
    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        """Up to ``max_messages`` messages, waiting at most ``timeout_s`` for the first (0: only what
        is there already); an empty list when none came. Raises BusError when the bus is unreachable."""

    @abstractmethod
    async def commit(self) -> None:
        """Every message handed out so far is done: the group will not hand it out again."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Leave the group; uncommitted messages go to another member, or to this one's successor."""


class Reader(ABC):
    """Every message of one topic, from every partition, with no consumer group: any number of readers
    each get everything, and none waits for a rebalance when another starts or dies.

    Where a reader starts is the caller's to keep (each message names its partition and offset); a
    reader commits nothing. A partition added to the topic later is not read.
    """

    durable: bool = True
    """Whether the bus keeps the topic for a reader that starts later (Kafka); the local bus does not."""

    @abstractmethod
    async def get(self, max_messages: int, timeout_s: float) -> list[BusMessage]:
        """As :meth:`Consumer.get`."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Stop reading."""


class Bus(ABC):
    """The stream bus: publishing, and consumers (:meth:`consumer`).

    Delivery is at least once: a publisher that crashed between handing a message over and
    recording that it did will publish it again, so consumers treat (device_id, seq) as the identity
    of a message, never its arrival.
    """

    async def start(self) -> None:  # noqa: B027 - optional hook, a no-op where nothing needs starting
        """Connect; called once before the first :meth:`publish`."""

    @abstractmethod
    async def publish(self, messages: Sequence[BusMessage]) -> None:
        """Return once every message is accepted (Kafka: written to all in-sync replicas).

        Waits while consumers or the broker are slow, which is how backpressure reaches the publisher.
        Raises :class:`~core.errors.BusError` if any message was refused; the caller keeps
        the whole batch and publishes it again.
        """

    @abstractmethod
    def consumer(self, topics: Sequence[str], group: str, *, buffer: int = 10_000) -> Consumer:
        """A consumer of ``topics`` in ``group``. On Kafka, the group's members share the topics'
        partitions; on the local bus, a group has one member, which gets every message published
        from now on, holding at most ``buffer`` of them (then publishers wait)."""

    @abstractmethod
    def reader(
        self, topic: str, positions: Mapping[int, int], *, resume_group: str | None = None, buffer: int = 10_000
    ) -> Reader:
        """A :class:`Reader` of every partition of ``topic``, each from its offset in ``positions``
        (partition → the next offset to read). A partition not in ``positions`` starts where
        ``resume_group`` committed it, if it did (a consumer group this reader takes over from), else at
        the earliest message kept. On the local bus: every message published from now on."""

    def has_readers(self, topic: str) -> bool:
        """Whether anything reads ``topic`` at all, so a publisher may skip encoding for nobody. True
        unless the bus knows better: Kafka keeps a topic for whoever reads it later."""
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and disconnect; the bus is not used afterwards."""
