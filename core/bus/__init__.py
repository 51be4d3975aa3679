"""The stream bus between stages: one small interface, two implementations.

- :class:`LocalBus`: in-process asyncio queues, for one machine and the embedded default;
- :class:`KafkaBus`: Kafka topics through an idempotent aiokafka producer, for scale-out.

:func:`open_bus` picks one from the settings. Messages are keyed by premises id so that one
premises' messages stay in order in one partition (and one worker).
"""

from core.bus.base import Bus, BusMessage
from core.bus.kafka import KafkaBus
from core.bus.local import LocalBus
from core.bus.opening import open_bus

__all__ = ["Bus", "BusMessage", "KafkaBus", "LocalBus", "open_bus"]
