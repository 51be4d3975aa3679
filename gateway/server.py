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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import paho.mqtt.client as mqtt
from prometheus_client import CollectorRegistry, Counter, Gauge

from core.addresses import MqttUrl
from core.gb26875 import FrameCutter, connection_seq, header_of
from core.wire import DOWNLINK_ROOT, topic_for
from gateway.broker import BrokerClient

log = logging.getLogger(__name__)

DOWNLINK_FILTER = f"{DOWNLINK_ROOT}/+/+/gb26875"
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


class Link(asyncio.Protocol):
    """One UITD's TCP connection: bytes in are cut into frames for the gateway to take on; the UITD is
    known from its first frame. A protocol object rather than a stream and a task per connection: a few
    objects each, no timer per read, so 10,000 connections cost the collector little (idle connections
    are found by :meth:`Gateway.sweep`)."""

    __slots__ = ("_gateway", "cutter", "last_read", "peer", "transport", "uitd", "why")

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.cutter = FrameCutter()
        self.uitd: Uitd | None = None
        self.transport: asyncio.Transport | None = None
        self.peer: object = None
        self.last_read = 0.0
        self.why = "gb26875 connection closed by the UITD"
        """What ended the connection, as its ``offline`` status says (set before the gateway closes it)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        self._gateway.opened(self)

    def data_received(self, data: bytes) -> None:
        self._gateway.received(self, data)

    def eof_received(self) -> bool:
        return False  # the UITD closed its side: close ours

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.why == "gb26875 connection closed by the UITD":
            self.why = f"gb26875 connection lost: {type(exc).__name__}"
        self._gateway.lost(self)
        self.transport = None

    def write(self, frame: bytes) -> bool:
        """Write ``frame`` to the UITD; False when the connection is closing or was closed as a slow reader."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(frame)
        if transport.get_write_buffer_size() > MAX_UNREAD_BYTES:
            log.warning("gb26875 %s reads nothing of what is written to it: closing its connection", self)
            self._gateway.metrics.closed.labels("slow_reader").inc()
            self.close("gb26875 connection not reading what the centre writes: closed by the gateway")
        return True

    def close(self, why: str | None = None) -> None:
        """Close the connection; at once when bytes wait to be written (a UITD that reads nothing, or is
        gone, would hold a graceful close open until TCP gives up)."""
        if why is not None:
            self.why = why
        transport = self.transport
        if transport is not None:
            transport.abort() if transport.get_write_buffer_size() else transport.close()

    def __str__(self) -> str:
        return self.uitd.device_id if self.uitd is not None else _host(self.peer)


class Gateway:
    """The TCP server's connections, one :class:`Link` per UITD (the latest when it reconnects), the
    frames they bring to the broker and the downlink they take back."""

    def __init__(
        self, addresses: Addresses, idle_s: float, metrics: Metrics, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.addresses = addresses
        self.idle_s = idle_s
        self.metrics = metrics
        self.bridge: Bridge | None = None
        self._clock = clock
        self._links: dict[str, Link] = {}
        """Device id → its connection."""
        self._open: dict[Link, None] = {}
        """Every open connection, the least recently read first (a read moves it to the end)."""
        self._stopping = False

    def protocol(self) -> Link:
        """A new connection's protocol (the factory for ``loop.create_server``)."""
        return Link(self)

    def opened(self, link: Link) -> None:
        link.last_read = self._clock()
        self._open[link] = None
        self.metrics.connections.inc()

    def received(self, link: Link, data: bytes) -> None:
        link.last_read = self._clock()
        if self._open.pop(link, False) is None:  # to the end: read last
            self._open[link] = None
        cutter = link.cutter
        before = cutter.garbage
        frames = cutter.feed(data)
        if cutter.garbage != before:
            self.metrics.garbage.inc(cutter.garbage - before)
        for frame in frames:
            if not self._take(frame, link):
                return

    def lost(self, link: Link) -> None:
        self._open.pop(link, None)
        self.metrics.connections.dec()
        uitd = link.uitd
        if uitd is not None and self._links.get(uitd.device_id) is link:
            del self._links[uitd.device_id]
            log.info("gb26875 %s disconnected (%s)", uitd.device_id, link.why)
            if not self._stopping and self.bridge is not None:  # a stopping gateway's UITDs move to another
                self.bridge.publish_status(uitd, "offline", link.why)

    def sweep(self) -> None:
        """Close every connection silent for ``idle_s``."""
        silent_since = self._clock() - self.idle_s
        while self._open:
            link = next(iter(self._open))
            if link.last_read > silent_since:
                break  # the rest were read later
            del self._open[link]  # closing may take a moment (TLS): not swept twice
            self.metrics.closed.labels("idle").inc()
            log.info("gb26875 %s silent for %.0f s: closing its connection", link, self.idle_s)
            link.close(f"gb26875 connection silent for {self.idle_s:.0f} s: closed by the gateway")

    async def sweep_forever(self) -> None:
        """:meth:`sweep` a few times per idle period, until cancelled."""
        while True:
            await asyncio.sleep(min(1.0, self.idle_s / 4))
            self.sweep()

    def downlink(self, device_id: str, frame: bytes) -> None:
        link = self._links.get(device_id)
        if link is None or not link.write(frame):
            self.metrics.downlink.labels("not_connected").inc()
            return
        self.metrics.downlink.labels("written").inc()

    def _take(self, frame: bytes, link: Link) -> bool:
        """One frame of ``link`` to the broker; False when the connection is closed for it (an unknown
        first address)."""
        header = header_of(frame)
        assert header is not None  # the cutter gives whole frames only
        source = header[1].hex()
        found = self.addresses.get(source)
        uitd = link.uitd
        if uitd is None:
            if found is None:
                self.metrics.refused.labels("unknown_address").inc()
                log.warning("gb26875 connection from %s: address %s is no UITD of the registry; closed", link, source)
                link.close()
                return False
            uitd = link.uitd = found
            self._adopt(link)
        elif found != uitd:
            self.metrics.refused.labels("other_address").inc()
            log.warning("gb26875 %s sent a frame from address %s: dropped", uitd.device_id, source)
            return True
        if self.bridge is None or not self.bridge.publish(uitd, frame):
            self.metrics.refused.labels("broker_away").inc()
        else:
            self.metrics.frames.inc()
        return True

    def _adopt(self, link: Link) -> None:
        uitd = link.uitd
        assert uitd is not None
        older = self._links.get(uitd.device_id)
        self._links[uitd.device_id] = link
        if older is not None:
            self.metrics.closed.labels("replaced").inc()
            older.close("gb26875 connection replaced by a newer one")
        elif self.bridge is not None:
            self.bridge.publish_status(uitd, "online", f"gb26875 connection from {_host(link.peer)}")
        log.info("gb26875 %s (premises %s) connected from %s", uitd.device_id, uitd.premises_id, _host(link.peer))

    def close_all(self) -> None:
        """Close every connection, saying nothing of it: the UITDs reconnect to another gateway."""
        self._stopping = True
        for link in list(self._open):
            link.close()

    @property
    def connected(self) -> int:
        return len(self._links)


def _host(peer: object) -> str:
    """A peer's address as a person writes it (``10.0.0.7:50112``)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
