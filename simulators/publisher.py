"""Publishing a simulated stream over MQTT with paho-mqtt.

- **Connections.** Multiplexed (default): a few client connections share all devices; a device
  always uses the same one, so its messages stay in order. Per device: one connection each, client
  id and user name = device id, password from a template, for access-control tests (a thread per
  connection: meant for hundreds of devices, not tens of thousands).
- **Pacing.** Messages leave when their simulated time comes, scaled by ``speed`` (simulated seconds
  per wall second; 0 = as fast as possible), and never faster than ``rate`` messages/s when set.
- **Reconnect and resume.** paho reconnects on its own; sessions are persistent (MQTT 5 session
  expiry, or clean_session off for 3.1.1), so QoS 1 messages not yet acknowledged are sent again.
- **Backpressure.** No more than ``max_outstanding`` messages may be handed to paho and not yet
  written (QoS 0) or acknowledged (QoS 1); beyond that the publisher waits, so a broker that is
  down or slow stops the simulation instead of filling memory.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firewarden.errors import FirewardenError
from firewarden.settings import MqttUrl
from simulators.engine import Outgoing

SESSION_EXPIRY_S = 3600
CONNECT_TIMEOUT_S = 15.0


class PublishError(FirewardenError):
    """The broker could not be reached, or refused the connection."""


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

    def __post_init__(self) -> None:
        if self.connections < 1:
            raise ValueError("connections must be at least 1")
        if self.speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")


@dataclass(slots=True)
class PublishStats:
    """Counts so far. ``sent`` = handed to the client library; ``done`` = written (QoS 0) or acknowledged
    (QoS 1); ``errors`` = refused by the client library or, under MQTT 5, by the broker."""

    sent: int = 0
    done: int = 0
    errors: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    sim_time: float = 0.0

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


class _Connection:
    def __init__(
        self,
        options: PublishOptions,
        client_id: str,
        username: str | None,
        password: str | None,
        stats: PublishStats,
        done: threading.Condition,
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
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        if username is not None:
            self.client.username_pw_set(username, password)
        if options.url.tls:
            self.client.tls_set()
        self.connected = threading.Event()
        self.refused: str | None = None
        self._stats = stats
        self._done = done
        self._ever_connected = False
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._protocol = protocol

    def start(self, url: MqttUrl) -> None:
        properties = None
        if self._protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            if self._protocol == mqtt.MQTTv5:
                self.client.connect(url.host, url.port, keepalive=30, clean_start=False, properties=properties)
            else:
                self.client.connect(url.host, url.port, keepalive=30)
        except OSError as exc:
            raise PublishError(f"cannot reach the MQTT broker at {url}: {exc}") from None
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            self.connected.set()  # wake the waiter, which reads `refused`
            return
        if self._ever_connected:
            self._stats.reconnects += 1
        self._ever_connected = True
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._done:
            self._stats.done += 1
            if reason.is_failure:  # MQTT 5 PUBACK refusing it, e.g. "Not authorized" by an ACL
                self._stats.errors += 1
            self._done.notify_all()


class Publisher:
    """Sends :class:`Outgoing` messages; use as a context manager so every connection is closed."""

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
        self._done = threading.Condition()
        self._shared: list[_Connection] = []
        self._per_device: dict[str, _Connection] = {}

    def __enter__(self) -> Publisher:
        if not self.options.per_device:
            for n in range(self.options.connections):
                self._shared.append(self._open(f"{self.options.client_prefix}-{n}", None, None))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for connection in [*self._shared, *self._per_device.values()]:
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
        for message in messages:
            now = self._clock()
            if speed > 0:
                due = wall_start + (message.at - sim_start) / speed
                if due - now > 0.001:
                    self._sleep(due - now)
                    now = self._clock()
            if rate is not None:
                next_slot = max(next_slot, now) + 1.0 / rate
                if next_slot - now > 0.001:
                    self._sleep(next_slot - now)
            self._wait_for_room()
            self._send(message)
            self.stats.sim_time = message.at
            if progress is not None and now >= next_progress:
                progress(self.stats)
                next_progress = now + progress_every_s
        self._drain()
        if progress is not None:
            progress(self.stats)
        return self.stats

    def _open(self, client_id: str, username: str | None, password: str | None) -> _Connection:
        connection = _Connection(self.options, client_id, username, password, self.stats, self._done)
        connection.start(self.options.url)
        if not connection.connected.wait(CONNECT_TIMEOUT_S):
            connection.stop()
            raise PublishError(f"no answer from the MQTT broker at {self.options.url} within {CONNECT_TIMEOUT_S:.0f} s")
        if connection.refused is not None:
            connection.stop()
            raise PublishError(
                f"the MQTT broker at {self.options.url} refused client {client_id!r}: {connection.refused}"
            )
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
        if self.options.qos == 0:
            # QoS 0 is not queued by paho while disconnected: wait for the reconnect instead of losing it.
            connection.connected.wait()
        info = connection.client.publish(message.topic, message.payload, qos=self.options.qos)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            self.stats.errors += 1
            return
        self.stats.sent += 1

    def _wait_for_room(self) -> None:
        with self._done:
            while self.stats.sent - self.stats.done >= self.options.max_outstanding:
                self._done.wait(timeout=1.0)

    def _drain(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self._done:
            while self.stats.done < self.stats.sent:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PublishError(
                        f"{self.stats.sent - self.stats.done} message(s) not acknowledged by the broker "
                        f"within {timeout_s:.0f} s"
                    )
                self._done.wait(timeout=min(1.0, left))
