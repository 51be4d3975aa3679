"""paho-mqtt's client with two costs removed that carry no information for ingest.

Measured with py-spy on ingest draining a backlog, paho took half of the main thread, mostly for:

- **socket reads**: paho reads a packet in three or four ``recv`` calls (the command byte, each byte
  of the remaining length, the rest). :class:`IngestClient` reads up to 64 KiB at once and serves
  paho's small reads from that buffer, so one system call brings a few hundred packets;
- **PUBLISH decoding**: for MQTT 5, paho builds a ``Properties`` object (dozens of dict entries)
  and an ``MQTTMessage`` (with a ``threading.Condition``) for every message, even when the packet
  carries no property at all, as device messages do not. A QoS 0/1 PUBLISH with an empty property
  list goes straight to ``on_raw_publish(topic, payload, qos, mid)``; anything else (properties,
  QoS 2, automatic acknowledgement) takes paho's own path.

Everything else is paho's: connection, keep-alive, subscriptions, acknowledgements. The buffer is
emptied whenever a socket opens or closes (:meth:`IngestClient.drop_buffer`), so no byte of one
connection is read as the next one's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

READ_SIZE = 65_536
_PUBLISH = 0x30

RawPublish = Callable[[bytes, bytes, int, int], None]
"""(topic as sent, payload, QoS, packet id) of one PUBLISH."""


class IngestClient(mqtt.Client):
    def __init__(self, *args: Any, on_raw_publish: RawPublish, **kwargs: Any) -> None:
        self._read_buffer = b""
        self._read_pos = 0
        self._on_raw_publish = on_raw_publish
        super().__init__(*args, **kwargs)

    @property
    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed to paho: packets that readiness will not announce."""
        return len(self._read_buffer) - self._read_pos

    def drop_buffer(self) -> None:
        self._read_buffer = b""
        self._read_pos = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._read_pos >= len(self._read_buffer):
            data = super()._sock_recv(max(bufsize, READ_SIZE))  # BlockingIOError, OSError as paho expects
            if not data:
                return data  # the connection ended
            self._read_buffer, self._read_pos = data, 0
        start = self._read_pos
        end = min(start + bufsize, len(self._read_buffer))
        self._read_pos = end
        return self._read_buffer[start:end]

    def _handle_publish(self) -> MQTTErrorCode:
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if qos == 2 or not self._manual_ack or self._protocol != MQTTProtocolVersion.MQTTv5:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        end = 2 + int.from_bytes(packet[0:2], "big")
        topic = bytes(packet[2:end])
        mid = 0
        if qos:
            mid = int.from_bytes(packet[end : end + 2], "big")
            end += 2
        if end >= len(packet) or packet[end] != 0:  # properties (or a malformed packet): paho's way
            return super()._handle_publish()
        self._on_raw_publish(topic, bytes(packet[end + 1 :]), qos, mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS
