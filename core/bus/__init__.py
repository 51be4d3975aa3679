"""The stream bus between stages: one small interface (publish; consume with commit), two implementations.

- :class:`LocalBus`: in-process asyncio queues, for one machine and the embedded default;
- :class:`KafkaBus`: Kafka topics through an idempotent aiokafka producer and consumer groups, for scale-out.

:func:`open_bus` picks one from the settings. Messages are keyed by premises id so that one
premises' messages stay in order in one partition (and one worker).
"""

from core.bus.base import Bus, BusMessage, Consumer
from core.bus.kafka import KafkaBus, KafkaConsumer
from core.bus.local import LocalBus, LocalConsumer
from core.bus.opening import open_bus

__all__ = ["Bus", "BusMessage", "Consumer", "KafkaBus", "KafkaConsumer", "LocalBus", "LocalConsumer", "open_bus"]
