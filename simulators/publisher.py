"""Publishing a simulated stream over MQTT with paho-mqtt.

- **Connections.** Multiplexed (default): a few client connections share all devices; a device
  always uses the same one, so its messages stay in order. Per device: one connection each, client
  id and user name = device id, password from a template, for access-control tests (a thread per
  connection: meant for hundreds of devices, not tens of thousands).
- **Pacing.** Messages leave when their simulated time comes, scaled by ``speed`` (simulated seconds
  per wall second; 0 = as fast as possible), and never faster than ``rate`` messages/s when set.
- **Reconnect and resume.** A lost connection is retried with backoff (0.5 s doubling to 10 s);
  sessions are persistent (MQTT 5 session expiry, or clean_session off for 3.1.1), so QoS 1 messages
  not yet acknowledged are sent again after the reconnect.
- **Not delivered means retry.** A PUBACK whose reason code is not 0x00 (success) was not delivered:
  0x10 "no matching subscribers" (nobody was subscribed, so the broker dropped it) as much as
  0x87 "not authorized". The message is published again, as a device must (docs/protocol.md), with
  backoff (0.1 s doubling to 2 s) for up to ``retry_for_s``; then it counts as an error.
- **Backpressure.** No more than ``max_outstanding`` messages may be handed to paho and not yet
  written (QoS 0) or acknowledged (QoS 1); beyond that the publisher waits, so a broker that is
  down or slow stops the simulation instead of filling memory.
"""

from __future__ import annotations

import select
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.addresses import MqttUrl
from core.backoff import Backoff
from simulators.engine import Outgoing
from simulators.errors import PublishError

SESSION_EXPIRY_S = 3600
CONNECT_TIMEOUT_S = 15.0
KEEPALIVE_S = 30
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
RETRY_FIRST_S = 0.1
RETRY_CAP_S = 2.0
_LINK_DOWN = (mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST)


@dataclass(frozen=True, slots=True)
class PublishOptions:
    url: MqttUrl
    qos: Literal[0, 1] = 1
    protocol: Literal["5", "3.1.1"] = "5"
    connections: int = 4
    per_device: bool = False
    password_template: str | None = None  # "{device_id}" is replaced; per-device mode only
    speed: float = 1.0
    rate: float | None = None
    max_outstanding: int = 20_000
    client_prefix: str = "fw-sim"
    retry_for_s: float = 60.0

    def __post_init__(self) -> None:
        if self.connections < 1:
            raise ValueError("connections must be at least 1")
        if self.speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.retry_for_s < 0:
            raise ValueError("retry_for_s must be 0 (no retry) or positive")


@dataclass(slots=True)
class PublishStats:
    """Counts so far. ``sent`` = handed to the client library; ``done`` = finished: ``acknowledged``
    (written at QoS 0, a successful PUBACK at QoS 1) or given up as an ``error`` (refused by the client
    library, or by the broker with a failure reason for longer than the retry period); ``retries`` =
    publications again after a PUBACK that said "not delivered"."""

    sent: int = 0
    done: int = 0
    acknowledged: int = 0
    errors: int = 0
    retries: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    sim_time: float = 0.0

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


@dataclass(slots=True)
class _InFlight:
    """A QoS 1 message between publication and its successful PUBACK."""

    topic: str
    payload: bytes
    first_at: float
    backoff: Backoff
    retry_at: float = 0.0


class _Connection:
    """One paho client, driven from the publishing thread (no network thread: no lock contention)."""

    def __init__(
        self,
        options: PublishOptions,
        client_id: str,
        username: str | None,
        password: str | None,
        stats: PublishStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        protocol = mqtt.MQTTv5 if options.protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            clean_session=None if protocol == mqtt.MQTTv5 else False,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        if username is not None:
            self.client.username_pw_set(username, password)
        options.url.tls_on(self.client)
        self.connected = False
        self.refused: str | None = None
        self._url = options.url
        self._stats = stats
        self._clock = clock
        self._retry_for_s = options.retry_for_s
        self._in_flight: dict[int, _InFlight] = {}
        self._retrying: list[_InFlight] = []
        self._ever_connected = False
        self._retry_at = 0.0
        self._backoff = RECONNECT_MIN_S
        self._protocol = protocol
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        if options.qos == 1:
            # QoS 0 needs no callback: a message is done once paho has written it (see Publisher._send);
            # paho's callback would build two objects per message.
            self.client.on_publish = self._on_publish

    def start(self) -> None:
        """Connect and wait for the broker's answer."""
        try:
            if self._protocol == mqtt.MQTTv5:
                properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                properties.SessionExpiryInterval = SESSION_EXPIRY_S
                self.client.connect(
                    self._url.host, self._url.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
                )
            else:
                self.client.connect(self._url.host, self._url.port, keepalive=KEEPALIVE_S)
        except OSError as exc:
            raise PublishError(f"cannot reach the MQTT broker at {self._url}: {exc}") from None
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not self.connected and self.refused is None and time.monotonic() < deadline:
            self._pump(0.05)

    def publish(self, topic: str, payload: bytes, qos: int) -> int:
        """Hand a message to paho; returns paho's result code. A QoS 1 message is kept until acknowledged."""
        info = self.client.publish(topic, payload, qos=qos)
        if qos == 1 and info.rc in (mqtt.MQTT_ERR_SUCCESS, *_LINK_DOWN):
            # paho keeps it (and sends it again after a reconnect) under this mid until its PUBACK.
            self._in_flight[info.mid] = _InFlight(topic, payload, self._clock(), Backoff(RETRY_FIRST_S, RETRY_CAP_S))
        return info.rc

    def service(self, now: float, timeout: float = 0.0) -> None:
        """Read acknowledgements, write what is pending, keep the connection alive, publish again what
        the broker did not deliver; reconnect when lost."""
        if self.connected:
            if self._pump(timeout):
                self._publish_again(now)
                return
            self.connected = False
            self._retry_at = now
        if now >= self._retry_at:
            try:
                self.client.reconnect()
                self._pump(0.05)
            except OSError:
                self._retry_at = now + self._backoff
                self._backoff = min(RECONNECT_MAX_S, self._backoff * 2)
                return
        if not self.connected and timeout > 0:
            time.sleep(min(timeout, 0.05))

    def pending_writes(self) -> bool:
        return self.client.want_write()

    def _pump(self, timeout: float) -> bool:
        """One turn of paho's external loop (select, read, write, keep-alive). False when the link is lost.

        The external loop, rather than ``loop()``, spares paho's wake-up socket pair: one system call
        less per message.
        """
        sock = self.client.socket()
        if sock is None:
            return False
        try:
            readable, writable, _ = select.select([sock], [sock] if self.client.want_write() else [], [], timeout)
        except (OSError, ValueError):  # the socket was closed under us
            return False
        ok = mqtt.MQTT_ERR_SUCCESS
        if readable and self.client.loop_read() != ok:
            return False
        if writable and self.client.loop_write() != ok:
            return False
        return self.client.loop_misc() == ok

    def stop(self) -> None:
        if self.connected:
            self.client.disconnect()
            self._pump(0.05)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            return
        if self._ever_connected:
            self._stats.reconnects += 1
        self._ever_connected = True
        self.connected = True
        self._backoff = RECONNECT_MIN_S

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected = False

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        entry = self._in_flight.pop(mid, None)
        if reason.value == 0 or entry is None:
            self._stats.done += 1
            self._stats.acknowledged += 1
            return
        # Not delivered: 0x10 "no matching subscribers", or a refusal such as 0x87 "not authorized".
        now = self._clock()
        if now - entry.first_at >= self._retry_for_s:
            self._stats.done += 1
            self._stats.errors += 1
            return
        entry.retry_at = now + entry.backoff.next()
        self._retrying.append(entry)

    def _publish_again(self, now: float) -> None:
        if not self._retrying:
            return
        due = [e for e in self._retrying if e.retry_at <= now]
        if not due:
            return
        self._retrying = [e for e in self._retrying if e.retry_at > now]
        for entry in due:
            info = self.client.publish(entry.topic, entry.payload, qos=1)
            self._stats.retries += 1
            self._in_flight[info.mid] = entry


class Publisher:
    """Sends :class:`Outgoing` messages; use as a context manager so every connection is closed.

    Single-threaded: it services its connections between messages, while it waits for a message's
    time or for room, and while it drains, so paho needs no network thread of its own.
    """

    SERVICE_EVERY = 256  # messages between two services of the connections when nothing else waits

    def __init__(
        self,
        options: PublishOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.stats = PublishStats(started=clock())
        self._clock = clock
        self._sleep = sleep
        self._shared: list[_Connection] = []
        self._per_device: dict[str, _Connection] = {}

    def __enter__(self) -> Publisher:
        if not self.options.per_device:
            for n in range(self.options.connections):
                url = self.options.url  # shared connections log in as the URL's user (a tester's account)
                self._shared.append(self._open(f"{self.options.client_prefix}-{n}", url.username, url.password))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._connections():
            connection.stop()
        self._shared.clear()
        self._per_device.clear()

    def publish(
        self,
        messages: Iterable[Outgoing],
        *,
        sim_start: float,
        progress: Callable[[PublishStats], None] | None = None,
        progress_every_s: float = 1.0,
    ) -> PublishStats:
        """Send every message at its time; then wait until all are written or acknowledged."""
        speed, rate = self.options.speed, self.options.rate
        wall_start = self._clock()
        next_slot = wall_start
        next_progress = wall_start + progress_every_s
        for count, message in enumerate(messages, start=1):
            if speed > 0:
                self._wait_until(wall_start + (message.at - sim_start) / speed)
            if rate is not None:
                next_slot = max(next_slot, self._clock()) + 1.0 / rate
                self._wait_until(next_slot)
            if count % self.SERVICE_EVERY == 0:
                self._service()
            self._wait_for_room()
            self._send(message)
            self.stats.sim_time = message.at
            if progress is not None and count % self.SERVICE_EVERY == 0 and self._clock() >= next_progress:
                progress(self.stats)
                next_progress = self._clock() + progress_every_s
        self._drain()
        if progress is not None:
            progress(self.stats)
        return self.stats

    def _connections(self) -> list[_Connection]:
        return [*self._shared, *self._per_device.values()]

    def _service(self, timeout: float = 0.0) -> None:
        now = self._clock()
        for connection in self._connections():
            connection.service(now, timeout)

    def _wait_until(self, due: float) -> None:
        """Keep the connections serviced until ``due`` on the publisher's clock."""
        while True:
            left = due - self._clock()
            if left <= 0.001:
                return
            self._service()
            self._sleep(min(left, 0.5))

    def _open(self, client_id: str, username: str | None, password: str | None) -> _Connection:
        connection = _Connection(self.options, client_id, username, password, self.stats, self._clock)
        connection.start()
        if connection.refused is not None:
            connection.stop()
            raise PublishError(
                f"the MQTT broker at {self.options.url} refused client {client_id!r}: {connection.refused}"
            )
        if not connection.connected:
            connection.stop()
            raise PublishError(f"no answer from the MQTT broker at {self.options.url} within {CONNECT_TIMEOUT_S:.0f} s")
        return connection

    def _connection_for(self, message: Outgoing) -> _Connection:
        key = message.device_id or message.topic
        if not self.options.per_device:
            return self._shared[zlib.crc32(key.encode()) % len(self._shared)]
        connection = self._per_device.get(key)
        if connection is None:
            template = self.options.password_template
            password = template.replace("{device_id}", key) if template is not None else None
            connection = self._open(key, key, password)
            self._per_device[key] = connection
        return connection

    def _send(self, message: Outgoing) -> None:
        connection = self._connection_for(message)
        while True:
            while self.options.qos == 0 and not connection.connected:
                # QoS 0 is not kept by paho while disconnected: wait for the reconnect instead of losing it.
                connection.service(self._clock(), timeout=0.1)
            rc = connection.publish(message.topic, message.payload, self.options.qos)
            if rc in _LINK_DOWN:
                connection.connected = False  # paho found out while writing; service() reconnects
                if self.options.qos == 0:
                    continue  # not stored by paho: send it again once reconnected
            elif rc != mqtt.MQTT_ERR_SUCCESS:
                self.stats.errors += 1
                return
            break
        self.stats.sent += 1  # at QoS 1 paho keeps it, and sends it again after a reconnect
        if self.options.qos == 0:
            self.stats.done += 1  # handed to the socket, or waiting in paho's buffer (see _wait_for_room)
            self.stats.acknowledged += 1
            if connection.pending_writes():
                self._unblock(connection)

    def _unblock(self, connection: _Connection) -> None:
        """QoS 0 backpressure: when the socket is full, write before taking another message."""
        while connection.pending_writes():
            connection.service(self._clock(), timeout=0.01)

    def _wait_for_room(self) -> None:
        while self.stats.sent - self.stats.done >= self.options.max_outstanding:
            self._service(timeout=0.01)

    def _drain(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.stats.done < self.stats.sent or any(c.pending_writes() for c in self._connections()):
            if time.monotonic() > deadline:
                raise PublishError(
                    f"{self.stats.sent - self.stats.done} message(s) not acknowledged by the broker "
                    f"within {timeout_s:.0f} s"
                )
            self._service(timeout=0.01)
