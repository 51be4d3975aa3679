"""What ingest puts on the stream bus: one message per record on ``fw.records``, keyed by premises id.

The value is the record (:mod:`ingest.records`) as a JSON object with a ``type`` tag: ``reading``,
``event`` or ``status``. One topic rather than one per type, so a premises' records reach scoring in
the order ingest accepted them: Kafka keeps order only within a partition of one topic.

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

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Record] = msgspec.json.Decoder(Record)


def to_bus(records: Iterable[Record]) -> list[BusMessage]:
    encode = _encoder.encode
    return [BusMessage(RECORDS_TOPIC, r.premises_id.encode(), encode(r)) for r in records]


def from_bus(message: BusMessage) -> Record:
    """The record a bus message carries. Raises ``msgspec.ValidationError`` for a foreign value."""
    if message.topic != RECORDS_TOPIC:
        raise ValueError(f"{message.topic!r} is not ingest's topic {RECORDS_TOPIC!r}")
    return record_from_json(message.value)


def record_from_json(value: bytes) -> Record:
    """Decode a record from its bus value. Raises ``msgspec.ValidationError`` (a ``ValueError``)."""
    return _decoder.decode(value)
