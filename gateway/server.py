"""``firewarden gateway gb26875``: UITDs connect over TCP, as they do in the field, and the gateway
bridges each connection to the MQTT wire contract (docs/protocol.md "GB/T 26875.3 over TCP").

- **Uplink.** Frames are cut out of the connection's bytes (:class:`~core.gb26875.FrameCutter`).
  A frame's source address names the UITD (the registry's ``gb26875_address``); the frame is
  published as it is, QoS 1, on the UITD's ``fw/v1/{premises}/{device}/gb26875`` topic, the one an
  MQTT-speaking UITD publishes on. A connection whose first frame comes from an address the registry
  does not know is closed (counted); a later frame from another address is dropped (counted).
- **The confirm comes from ingest**, after the frame is stored: ingest answers every frame on the
  UITD's downlink topic (confirm, or deny for a frame it refuses), and the gateway writes what comes
  there to the UITD's open connection. So a UITD sees a confirm only for a stored frame; a gateway
  killed in between costs a repeat, which is stored once (a frame's records are identified by its
  time label and serial). While the broker is away, frames are not taken on (counted): no confirm
  comes, and the UITD sends them again.
- **Downlink.** Everything on ``fw/down/v1/+/+/gb26875`` (answers, and the operators' duty checks and
  clock syncs) goes to the UITD's connection on this gateway, the latest one when it has reconnected;
  several gateways each get every downlink message and write those of their own connections, so a
  UITD may reconnect to any of them. A message for a UITD connected nowhere is dropped (counted).
- A connection silent for ``gateway_idle_s`` is closed, and so is one that does not read what is
  written to it (more than :data:`MAX_UNREAD_BYTES` waiting).
- **Connection state is the UITD's status**: a UITD's first connection to this gateway is published
  as its ``status`` ``online``, and the end of its connection (closed by it, lost, or silent) as
  ``offline`` with the reason in ``detail``, the way an MQTT device's last will says it. A gateway
  that stops says nothing: its UITDs reconnect to another.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from prometheus_client import CollectorRegistry, Counter, Gauge

from core.addresses import MqttUrl
from core.gb26875 import FrameCutter, connection_seq, header_of
from core.wire import DOWNLINK_ROOT, topic_for
from gateway.broker import BrokerClient

log = logging.getLogger(__name__)

DOWNLINK_FILTER = f"{DOWNLINK_ROOT}/+/+/gb26875"
READ_BYTES = 4096
MAX_UNREAD_BYTES = 64 * 1024
_PREFIX = "firewarden_gateway"


@dataclass(frozen=True, slots=True)
class Uitd:
    premises_id: str
    device_id: str


Addresses = Mapping[str, Uitd]
"""12 hex digits (a frame's source address, as sent) → the UITD the registry gives it."""


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.connections = Gauge(f"{_PREFIX}_connections", "UITD connections open", registry=r)
        self.frames = Counter(f"{_PREFIX}_frames", "frames published to the broker", registry=r)
        self.refused = Counter(
            f"{_PREFIX}_refused",
            "frames or connections not taken on, by reason (unknown_address, other_address, broker_away)",
            ["reason"],
            registry=r,
        )
        self.garbage = Counter(f"{_PREFIX}_garbage_bytes", "bytes that were no frame", registry=r)
        self.closed = Counter(f"{_PREFIX}_closed", "connections the gateway closed, by reason", ["reason"], registry=r)
        self.downlink = Counter(f"{_PREFIX}_downlink", "downlink frames, by outcome", ["outcome"], registry=r)


class Bridge(BrokerClient):
    """The gateway's MQTT client: publishes the UITDs' frames and hands the downlink to ``on_downlink``
    (called in the event loop)."""

    lost_message = (
        "gateway lost the MQTT broker at %s (%s); frames are not taken on until it is back (UITDs send them again)"
    )

    def __init__(self, broker: MqttUrl, client_id: str, on_downlink: Callable[[str, bytes], None]) -> None:
        super().__init__(broker, client_id)
        self._loop = asyncio.get_running_loop()
        self._on_downlink = on_downlink
        self.client.on_message = self._message

    def publish_status(self, uitd: Uitd, state: str, detail: str) -> bool:
        """The UITD's connection state as its status (QoS 1), the way an MQTT device's last will says it;
        False while the broker is away (then nothing is said: scoring's silence timer still tells)."""
        if not self.connected.is_set():
            return False
        now = datetime.now(UTC)
        payload = {"seq": connection_seq(now, state), "ts": now.isoformat(), "state": state, "detail": detail}
        info = self.client.publish(topic_for(uitd.premises_id, uitd.device_id, "status"), json.dumps(payload), qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish(self, uitd: Uitd, frame: bytes) -> bool:
        """Hand a frame to the broker (QoS 1); False while the broker is away (the frame is not taken on)."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic_for(uitd.premises_id, uitd.device_id, "gb26875"), frame, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def on_connected(self, client: mqtt.Client) -> None:
        client.subscribe(DOWNLINK_FILTER, qos=1)
        log.info("gateway connected to %s, reading %s", self.broker, DOWNLINK_FILTER)

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")  # fw/down/v1/{premises}/{device}/gb26875
        if len(parts) == 6:
            self._loop.call_soon_threadsafe(self._on_downlink, parts[4], bytes(message.payload))


class Gateway:
    """The TCP server and its connections, one per UITD (the latest when it reconnects)."""

    def __init__(self, addresses: Addresses, idle_s: float, metrics: Metrics) -> None:
        self.addresses = addresses
        self.idle_s = idle_s
        self.metrics = metrics
        self.bridge: Bridge | None = None
        self._links: dict[str, asyncio.StreamWriter] = {}
        self._stopping = False

    def downlink(self, device_id: str, frame: bytes) -> None:
        writer = self._links.get(device_id)
        if writer is None or writer.is_closing():
            self.metrics.downlink.labels("not_connected").inc()
            return
        writer.write(frame)
        self.metrics.downlink.labels("written").inc()
        if writer.transport.get_write_buffer_size() > MAX_UNREAD_BYTES:
            log.warning("gb26875 %s reads nothing of what is written to it: closing its connection", device_id)
            self.metrics.closed.labels("slow_reader").inc()
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One UITD's connection, until it closes, idles, or sends from an address the registry lacks."""
        peer = writer.get_extra_info("peername")
        cutter = FrameCutter()
        uitd: Uitd | None = None
        why = "gb26875 connection closed by the UITD"
        self.metrics.connections.inc()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_BYTES), self.idle_s)
                except TimeoutError:
                    self.metrics.closed.labels("idle").inc()
                    log.info("gb26875 %s silent for %.0f s: closing its connection", uitd or peer, self.idle_s)
                    why = f"gb26875 connection silent for {self.idle_s:.0f} s: closed by the gateway"
                    return
                if not data:
                    return
                before = cutter.garbage
                frames = cutter.feed(data)
                self.metrics.garbage.inc(cutter.garbage - before)
                for frame in frames:
                    uitd = self._take(frame, uitd, writer, peer)
                    if uitd is None:
                        return
        except ConnectionError as exc:
            why = f"gb26875 connection lost: {type(exc).__name__}"
            return
        finally:
            self.metrics.connections.dec()
            if uitd is not None and self._links.get(uitd.device_id) is writer:
                del self._links[uitd.device_id]
                log.info("gb26875 %s disconnected (%s)", uitd.device_id, why)
                if not self._stopping and self.bridge is not None:  # a stopping gateway's UITDs move to another
                    self.bridge.publish_status(uitd, "offline", why)
            writer.close()

    def _take(self, frame: bytes, uitd: Uitd | None, writer: asyncio.StreamWriter, peer: object) -> Uitd | None:
        """One frame of a connection whose UITD is ``uitd`` (None before its first frame) to the broker;
        the connection's UITD, or None when the connection is to be closed (an unknown first address)."""
        header = header_of(frame)
        assert header is not None  # the cutter gives whole frames only
        source = header[1].hex()
        found = self.addresses.get(source)
        if uitd is None:
            if found is None:
                self.metrics.refused.labels("unknown_address").inc()
                log.warning("gb26875 connection from %s: address %s is no UITD of the registry; closed", peer, source)
                return None
            uitd = found
            self._adopt(uitd, writer, peer)
        elif found != uitd:
            self.metrics.refused.labels("other_address").inc()
            log.warning("gb26875 %s sent a frame from address %s: dropped", uitd.device_id, source)
            return uitd
        if self.bridge is None or not self.bridge.publish(uitd, frame):
            self.metrics.refused.labels("broker_away").inc()
        else:
            self.metrics.frames.inc()
        return uitd

    def _adopt(self, uitd: Uitd, writer: asyncio.StreamWriter, peer: object) -> None:
        older = self._links.get(uitd.device_id)
        self._links[uitd.device_id] = writer
        if older is not None and older is not writer:
            self.metrics.closed.labels("replaced").inc()
            older.close()
        elif self.bridge is not None:
            self.bridge.publish_status(uitd, "online", f"gb26875 connection from {_host(peer)}")
        log.info("gb26875 %s (premises %s) connected from %s", uitd.device_id, uitd.premises_id, peer)

    def close_all(self) -> None:
        """Close every connection, saying nothing of it: the UITDs reconnect to another gateway."""
        self._stopping = True
        for writer in list(self._links.values()):
            writer.close()

    @property
    def connected(self) -> int:
        return len(self._links)


def _host(peer: object) -> str:
    """A peer's address as a person writes it (``10.0.0.7:50112``)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
