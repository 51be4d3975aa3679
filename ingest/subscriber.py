"""The MQTT edge of ingest: paho-mqtt driven by the asyncio loop, with manual acknowledgement.

- MQTT 5, shared subscription ``$share/<group>/fw/v1/#`` at QoS 1: ingest processes in one group
  split the stream, each message goes to one of them.
- Persistent session (``clean_start=False`` and a session expiry): while ingest is down or
  restarting, the broker queues its messages and redelivers the unacknowledged ones.
- Manual acknowledgement: paho sends no PUBACK until :meth:`MqttSubscriber.ack` is called, which
  ingest does only after the message's batch is stored and on the bus. A crash means redelivery.
- ``Receive Maximum`` = the in-flight limit, so the broker itself stops sending at the limit; ingest
  also stops reading its socket (:meth:`pause`) as a second guard, for brokers that ignore it.

Acknowledgement tokens carry the connection they came from: after a reconnect the broker has already
redelivered every unacknowledged message and may reuse their packet ids, so a token of an older
connection is dropped instead of acknowledging a newer message by mistake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from firewarden.errors import ServiceError
from firewarden.settings import MqttUrl
from ingest.batching import Delivery

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = logging.getLogger(__name__)

TOPIC_FILTER = "fw/v1/#"
KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
# Packets read per wake-up at most, so a flood cannot starve the loop's other work (flushes, acks).
READ_BURST = 2000


class MqttSubscriber:
    def __init__(
        self,
        url: MqttUrl,
        *,
        client_id: str,
        group: str,
        receive_maximum: int,
        session_expiry_s: int,
        on_delivery: Callable[[Delivery], None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self.subscription = f"$share/{group}/{TOPIC_FILTER}"
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self._on_delivery = on_delivery
        self._now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: SocketLike | None = None
        self._reading = False
        self._paused = False
        self._closing = False
        self._generation = 0
        self._received = 0
        self._ready: asyncio.Future[None] | None = None
        self._misc_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self.connected = False

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if url.username is not None:
            client.username_pw_set(url.username, url.password)
        if url.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        self.client = client

    async def start(self) -> None:
        """Connect and subscribe; raises ServiceError if the broker cannot be reached or refuses."""
        self._loop = asyncio.get_running_loop()
        await self._connect()
        self._misc_task = asyncio.create_task(self._misc(), name="mqtt-keepalive")

    async def stop(self) -> None:
        """Disconnect cleanly; the session (and any unacknowledged message) stays with the broker."""
        self._closing = True
        for task in (self._misc_task, self._reconnect_task):
            if task is not None:
                task.cancel()
        if self.connected:
            self.client.disconnect()
            for _ in range(100):  # let the loop write DISCONNECT and see the socket close
                if self._sock is None:
                    break
                await asyncio.sleep(0.01)

    def ack(self, tokens: Iterable[Hashable]) -> int:
        """Acknowledge deliveries of the current connection; returns how many were acknowledged."""
        sent = 0
        for token in tokens:
            generation, mid = cast(tuple[int, int], token)
            if generation == self._generation and self.connected:
                self.client.ack(mid, 1)
                sent += 1
        return sent

    def pause(self) -> None:
        """Stop reading from the broker (it then stops sending once its TCP window fills)."""
        self._paused = True
        self._watch_reads(False)

    def resume(self) -> None:
        self._paused = False
        self._watch_reads(True)

    @property
    def paused(self) -> bool:
        return self._paused

    # -- connection ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        assert self._loop is not None
        self._ready = self._loop.create_future()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        properties.ReceiveMaximum = self.receive_maximum
        try:
            self.client.connect(
                self.url.host, self.url.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
            )
        except OSError as error:
            raise ServiceError(f"cannot reach the MQTT broker at {self.url}: {error}") from None
        try:
            await asyncio.wait_for(self._ready, self.connect_timeout_s)
        except TimeoutError:
            self.client.disconnect()
            raise ServiceError(
                f"the MQTT broker at {self.url} did not accept the connection within {self.connect_timeout_s:.0f} s; "
                "ingest needs MQTT 5 (Mosquitto 2, EMQX), and an MQTT 3.1.1-only broker such as amqtt stays silent"
            ) from None

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._settle(ServiceError(f"the MQTT broker at {self.url} refused the connection: {reason}"))
            return
        self._generation += 1
        self.connected = True
        log.info(
            "connected to %s (session %s), subscribing to %s",
            self.url,
            "resumed" if flags.session_present else "new",
            self.subscription,
        )
        client.subscribe(self.subscription, options=SubscribeOptions(qos=1))
        if flags.session_present:
            # The subscription lives in the session, and the broker may already be redelivering
            # ahead of the SUBACK: ready now, or a full in-flight window could hide the SUBACK.
            self._settle(None)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self._settle(ServiceError(f"the MQTT broker refused the subscription {self.subscription}: {failed[0]}"))
        else:
            self._settle(None)

    def _settle(self, error: ServiceError | None) -> None:
        if self._ready is not None and not self._ready.done():
            if error is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(error)
        elif error is not None:
            log.error("%s", error)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected, self.connected = self.connected, False
        if self._closing or self._loop is None:
            return
        if self._ready is not None and not self._ready.done():
            # Closed before CONNACK or SUBACK: an MQTT 3.1.1-only broker (amqtt) does this to MQTT 5.
            self._settle(
                ServiceError(
                    f"the MQTT broker at {self.url} closed the connection before accepting it ({reason}); "
                    "ingest needs MQTT 5 (Mosquitto 2, EMQX) and a client id and credentials it accepts"
                )
            )
            return
        if was_connected:
            log.warning("lost the MQTT broker at %s (%s); reconnecting", self.url, reason)
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._loop.create_task(self._reconnect(), name="mqtt-reconnect")

    async def _reconnect(self) -> None:
        delay = RECONNECT_MIN_S
        while not self._closing and not self.connected:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except ServiceError as error:
                log.warning("%s; next attempt in %.1f s", error, min(delay * 2, RECONNECT_MAX_S))
                delay = min(delay * 2, RECONNECT_MAX_S)

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.client.loop_misc()

    # -- reading ------------------------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._received += 1
        try:
            topic = message.topic
        except UnicodeDecodeError:
            # Brokers should refuse such topics; if one does not, validation files it as bad_topic.
            topic = message._topic.decode("utf-8", "backslashreplace")
        token = (self._generation, message.mid) if message.qos > 0 else None
        self._on_delivery(Delivery(topic, bytes(message.payload), self._now(), token))

    def _read(self) -> None:
        # paho reads one packet per loop_read(); read on while packets keep coming, up to a burst.
        for _ in range(READ_BURST):
            before = self._received
            self.client.loop_read()
            if self._received == before or self._paused or self._sock is None:
                break

    def _watch_reads(self, on: bool) -> None:
        if self._loop is None or self._sock is None or on == self._reading:
            return
        if on:
            self._loop.add_reader(self._sock, self._read)
        else:
            self._loop.remove_reader(self._sock)
        self._reading = on

    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        self._sock = sock
        self._reading = False
        self._watch_reads(not self._paused)

    def _on_socket_close(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._watch_reads(False)
        self._loop.remove_writer(sock)
        self._sock = None
        self._reading = False

    def _on_socket_register_write(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, client.loop_write)

    def _on_socket_unregister_write(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._loop.remove_writer(sock)
