"""paho-mqtt's client with two costs removed that carry no information for ingest.

Measured with py-spy on ingest draining a backlog, paho took half of the main thread, mostly for:

- **socket reads**: paho reads a packet in three or four ``recv`` calls (the command byte, each byte
  of the remaining length, the rest), each with its bookkeeping. :class:`IngestClient` reads up to
  64 KiB at once; a packet that lies whole in that buffer is cut out of it in one step, and only a
  packet split across reads goes through paho's own reader (which the buffer serves too), so one
  system call brings a few hundred packets;
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
from paho.mqtt.exception import MalformedPacket

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
            with self._msgtime_mutex:  # what paho notes per read, for its keep-alive
                self._last_bytes_received = mqtt.time_func()
        start = self._read_pos
        end = min(start + bufsize, len(self._read_buffer))
        self._read_pos = end
        return self._read_buffer[start:end]

    def _packet_read(self) -> MQTTErrorCode:
        """One packet: cut out of the buffer when it lies there whole, else read by paho."""
        if self._in_packet["command"] == 0:
            buffer, start = self._read_buffer, self._read_pos
            size = len(buffer)
            # The fixed header: the command byte, then the remaining length in 1 to 4 bytes.
            length, shift, at = 0, 0, start + 1
            while at < size and at <= start + 4:
                byte = buffer[at]
                at += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    if at + length <= size:
                        self._read_pos = at + length
                        return self._handle_packet(buffer[start], buffer[at : at + length])
                    break
        return super()._packet_read()

    def _handle_packet(self, command: int, packet: bytes) -> MQTTErrorCode:
        if command & 0xF0 == _PUBLISH and self._publish(command, packet):
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        # paho's handlers read the packet where its reader leaves it, and find the reader reset after
        state = self._in_packet
        state["command"], state["packet"], state["remaining_length"] = command, bytearray(packet), len(packet)
        try:
            return self._packet_handle()
        except MalformedPacket:
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            state["command"], state["packet"], state["remaining_length"] = 0, bytearray(), 0

    def _handle_publish(self) -> MQTTErrorCode:
        if self._publish(self._in_packet["command"], self._in_packet["packet"]):
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_publish()

    def _publish(self, header: int, packet: bytes | bytearray) -> bool:
        """Hand a QoS 0/1 PUBLISH without properties to ``on_raw_publish``; False for anything else."""
        qos = (header & 0x06) >> 1
        if qos == 2 or not self._manual_ack or self._protocol != MQTTProtocolVersion.MQTTv5 or len(packet) < 3:
            return False
        end = 2 + int.from_bytes(packet[0:2], "big")
        mid = 0
        if qos:
            mid = int.from_bytes(packet[end : end + 2], "big")
            end += 2
        if end >= len(packet) or packet[end] != 0:  # properties (or a malformed packet): paho's way
            return False
        self._on_raw_publish(bytes(packet[2 : end - 2 if qos else end]), bytes(packet[end + 1 :]), qos, mid)
        return True
