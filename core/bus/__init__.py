"""The stream bus between stages: one small interface (publish; consume with commit), two implementations.

- :class:`LocalBus`: in-process asyncio queues, for one machine and the embedded default;
- :class:`KafkaBus`: Kafka topics through an idempotent aiokafka producer and consumer groups, for scale-out.

A :class:`Reader` reads every partition of a topic without a group (the fire path: no rebalance holds it).

:func:`open_bus` picks one from the settings. Messages are keyed by premises id so that one
premises' messages stay in order in one partition (and one worker).
"""

from core.bus.base import Bus, BusMessage, Consumer, Reader
from core.bus.kafka import KafkaBus, KafkaConsumer, KafkaReader
from core.bus.local import LocalBus, LocalConsumer, LocalReader
from core.bus.opening import open_bus

__all__ = [
    "Bus", "BusMessage", "Consumer", "KafkaBus", "KafkaConsumer", "KafkaReader", "LocalBus", "LocalConsumer",
    "LocalReader", "Reader", "open_bus",
]  # fmt: skip
