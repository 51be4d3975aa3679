"""The bus interface every stage codes against."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One message on the bus: ``key`` (a premises id) decides its partition, ``value`` is opaque bytes."""

    topic: str
    key: bytes
    value: bytes


class Bus(ABC):
    """Publishing side of the stream bus.

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

    def has_readers(self, topic: str) -> bool:
        """Whether anything reads ``topic`` at all, so a publisher may skip encoding for nobody. True
        unless the bus knows better: Kafka keeps a topic for whoever reads it later."""
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and disconnect; the bus is not used afterwards."""
