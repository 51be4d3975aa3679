"""What ingest puts on the stream bus: one message per record, JSON, keyed by premises id.

| topic | value: a JSON object with the fields of (:mod:`ingest.records`) |
|---|---|
| ``fw.readings`` | ``Reading`` |
| ``fw.events`` | ``EventRecord`` |
| ``fw.status`` | ``StatusRecord`` |

``time`` is RFC 3339 in UTC. Delivery is at least once (see :class:`firewarden.bus.Bus`): consumers
identify a record by (device_id, seq) and, for readings, the metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from firewarden.bus import BusMessage
from ingest.records import EventRecord, Reading, Record, StatusRecord

READINGS_TOPIC: Final = "fw.readings"
EVENTS_TOPIC: Final = "fw.events"
STATUS_TOPIC: Final = "fw.status"

_TOPIC_OF: Final[dict[type, str]] = {Reading: READINGS_TOPIC, EventRecord: EVENTS_TOPIC, StatusRecord: STATUS_TOPIC}
_TYPE_OF: Final[dict[str, type[Record]]] = {topic: kind for kind, topic in _TOPIC_OF.items()}
_encoder = msgspec.json.Encoder()


def to_bus(records: Iterable[Record]) -> list[BusMessage]:
    encode = _encoder.encode
    return [BusMessage(_TOPIC_OF[type(r)], r.premises_id.encode(), encode(r)) for r in records]


def from_bus(message: BusMessage) -> Record:
    """The record a bus message carries. Raises ``msgspec.ValidationError`` for a foreign value."""
    kind = _TYPE_OF.get(message.topic)
    if kind is None:
        raise ValueError(f"{message.topic!r} is not an ingest topic ({', '.join(_TYPE_OF)})")
    return msgspec.json.decode(message.value, type=kind)
