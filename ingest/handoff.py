"""What ingest puts on the stream bus: one message per record, keyed by premises id, on one of two topics.

- ``fw.events``: the records of messages on the event channels (``event``, ``gb26875``): the
  priority lane (:mod:`ingest.lanes`), which scoring reads first;
- ``fw.records``: everything else (readings and status).

The value is the record (:mod:`ingest.records`) as a JSON object with a ``type`` tag: ``reading``,
``event`` or ``status``. Within a topic, a premises' records reach scoring in the order ingest
accepted them: Kafka keeps order within a partition of one topic.

``time`` is RFC 3339 in UTC. Delivery is at least once (see :class:`core.bus.Bus`): consumers
identify a record by (device_id, seq) and, for readings, the metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from core.bus import BusMessage
from ingest.records import Record

RECORDS_TOPIC: Final = "fw.records"
EVENTS_TOPIC: Final = "fw.events"
TOPICS: Final = (EVENTS_TOPIC, RECORDS_TOPIC)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Record] = msgspec.json.Decoder(Record)


def to_bus(records: Iterable[Record], topic: str = RECORDS_TOPIC) -> list[BusMessage]:
    encode = _encoder.encode
    return [BusMessage(topic, r.premises_id.encode(), encode(r)) for r in records]


def from_bus(message: BusMessage) -> Record:
    """The record a bus message carries. Raises ``msgspec.ValidationError`` for a foreign value."""
    if message.topic not in TOPICS:
        raise ValueError(f"{message.topic!r} is none of ingest's topics {TOPICS}")
    return record_from_json(message.value)


def record_from_json(value: bytes) -> Record:
    """Decode a record from its bus value. Raises ``msgspec.ValidationError`` (a ``ValueError``)."""
    return _decoder.decode(value)
