"""The MQTT edge of ingest: paho-mqtt driven by the asyncio loop, with manual acknowledgement.

- MQTT 5, plain (not shared) subscriptions at QoS 1 in a persistent session (``clean_start=False``
  and a session expiry). Brokers keep such a session's subscriptions across their own restarts
  (Mosquitto restores plain subscriptions from its persistence file, but not ``$share/...`` ones), so
  a message published while ingest is away or the broker has just restarted is queued for ingest
  instead of being answered "no matching subscribers" and dropped. Ingest processes divide the
  premises between them (see :func:`topic_filters`) instead of sharing one subscription.
- Manual acknowledgement: paho sends no PUBACK until :meth:`MqttSubscriber.ack` is called, which
  ingest does only after the message's batch is stored and on the bus. A crash means redelivery.
- Flow control is the broker's: ``Receive Maximum`` = the in-flight limit, and an MQTT 5 broker
  must not send more unacknowledged messages than that. The socket is read all the time, so control
  packets (SUBACK, PINGRESP, a broker's DISCONNECT, the end of a connection) are seen at once, also
  while ingest waits for the database.
- Ready (``start`` returns) only once the broker has acknowledged every subscription (SUBACK).

Acknowledgement tokens carry the subscriber and the connection they came from: after a reconnect the broker has already
redelivered every unacknowledged message and may reuse their packet ids, so a token of an older
connection is dropped instead of acknowledging a newer message by mistake.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from core.addresses import MqttUrl
from core.backoff import Backoff, Sleep, retry
from core.errors import ServiceError
from ingest.batching import Delivery
from ingest.mqtt_client import IngestClient

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = logging.getLogger(__name__)

ALL_TOPICS = "fw/v1/#"
KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0
RECONNECT_FIRST_S = 0.25
RECONNECT_CAP_S = 4.0
# Packets read per wake-up at most (~5-10 ms of work), so a flood cannot hold up the loop's other
# work: with ingest, scoring and alerts in one process (`firewarden up`), a fire's page takes several
# turns of the loop, each of which would otherwise wait for a burst of telemetry.
READ_BURST = 200
FILTERS_PER_SUBSCRIBE = 500
SESSION_TAKEN_OVER = 0x8E


def partition_of(premises_id: str, partitions: int) -> int:
    """Which of ``partitions`` ingest processes receives a premises' messages (CRC-32 of its id)."""
    return zlib.crc32(premises_id.encode()) % partitions


def topic_filters(premises: Iterable[str], partitions: int, partition: int) -> list[str]:
    """The subscriptions of ingest process ``partition`` of ``partitions``.

    One process subscribes to everything (``fw/v1/#``): messages of premises missing from the
    registry reach it and become dead letters. Several processes each subscribe to their premises
    (``fw/v1/<premises>/#``), so a premises' messages go to exactly one of them.
    """
    if partitions == 1:
        return [ALL_TOPICS]
    return sorted(f"fw/v1/{p}/#" for p in premises if partition_of(p, partitions) == partition)


@dataclass(frozen=True, slots=True)
class SessionLoss:
    """A broker that had no session where ingest expected one: messages from ``since`` to
    ``noticed_at`` (when ingest subscribed again) may be lost."""

    client_id: str
    since: datetime
    noticed_at: datetime


class MqttSubscriber:
    def __init__(
        self,
        url: MqttUrl,
        *,
        client_id: str,
        filters: Iterable[str],
        receive_maximum: int,
        session_expiry_s: int,
        on_delivery: Callable[[Delivery], None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self.filters: list[str] = list(dict.fromkeys(filters))
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self._on_delivery = on_delivery
        self._now = now
        self._sleep = sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: SocketLike | None = None
        self._reading = False
        self._closing = False
        self._generation = 0
        self._received = 0
        self._burst_at: datetime | None = None
        self._ever_connected = False
        self.on_session_lost: Callable[[SessionLoss], None] | None = None
        """Told of a lost session (ingest's :class:`ingest.sessions.SessionWatch` sets it)."""
        self.expected_since: datetime | None = None
        """Set while the broker should hold a session for this client id: the last moment it was known
        connected (a reconnect of this process, or a session its predecessor had, see ingest's store)."""
        self._ready: asyncio.Future[None] | None = None
        self._accepted: asyncio.Future[None] | None = None
        self._suback_pending: set[int] = set()
        self._misc_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self.failed: asyncio.Future[None] | None = None
        """Set with a ServiceError when the subscriber cannot go on (another process took its session)."""
        self.connected = False

        client = IngestClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
            on_raw_publish=self._on_raw_publish,
        )
        url.secure(client)
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
        """Connect and subscribe; returns once every subscription is acknowledged. Raises ServiceError
        if the broker cannot be reached or refuses."""
        self._loop = asyncio.get_running_loop()
        self.failed = self._loop.create_future()
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

    def add_filters(self, filters: Iterable[str]) -> list[str]:
        """Subscribe to more topic filters (premises new in the registry); returns those that were new."""
        known = set(self.filters)
        new = [f for f in dict.fromkeys(filters) if f not in known]
        if new:
            self.filters.extend(new)
            if self.connected:
                self._subscribe(new)
        return new

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 on this session (the centre's answers to UITDs). While disconnected, paho
        keeps the message and sends it once the session is back."""
        self.client.publish(topic, payload, qos=1)

    def ack(self, tokens: Iterable[Hashable]) -> int:
        """Acknowledge this subscriber's deliveries of its current connection (tokens of other
        subscribers are passed over); returns how many were acknowledged."""
        sent = 0
        for token in tokens:
            owner, generation, mid = cast(tuple[MqttSubscriber, int, int], token)
            if owner is self and generation == self._generation and self.connected:
                self.client.ack(mid, 1)
                sent += 1
        return sent

    # -- connection ---------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Connect, subscribe, and return once every SUBACK is in. The timeout covers the broker's
        answer to CONNECT only: on a resumed session the broker may send a full in-flight window of
        queued messages before the SUBACKs, and reading those (slowly, on a loaded machine) is
        progress, not silence; a connection that dies meanwhile ends the wait with an error."""
        assert self._loop is not None
        self._ready = self._loop.create_future()
        self._accepted = self._loop.create_future()
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
            await asyncio.wait_for(asyncio.shield(self._accepted), self.connect_timeout_s)
        except TimeoutError:
            self._ready.cancel()  # nobody waits for it any more
            self.client.disconnect()
            hint = (
                "; ingest needs MQTT 5 (Mosquitto 2, EMQX), and an MQTT 3.1.1-only broker such as amqtt stays silent"
                if not self._ever_connected
                else ""
            )
            raise ServiceError(
                f"the MQTT broker at {self.url} did not answer the connection "
                f"within {self.connect_timeout_s:.0f} s{hint}"
            ) from None
        await self._ready

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._answered()
        if reason.is_failure:
            self._settle(ServiceError(f"the MQTT broker at {self.url} refused the connection: {reason}"))
            return
        self._generation += 1
        self.connected = True
        self._ever_connected = True
        expected, self.expected_since = self.expected_since, None
        if expected is not None and not flags.session_present and self.session_expiry_s > 0:
            self._session_lost(expected)
        log.info(
            "connected to %s as %s (session %s), subscribing to %d topic filter(s)",
            self.url,
            self.client_id,
            "resumed" if flags.session_present else "new",
            len(self.filters),
        )
        # Always subscribe again: a broker without persistence, or one whose session expired, has no
        # subscription left; on a resumed session it replaces each subscription by itself, harmlessly.
        self._suback_pending.clear()
        self._subscribe(self.filters)
        if not self._suback_pending:
            self._settle(None)

    def _session_lost(self, since: datetime) -> None:
        """The broker answered "no session" where it should have kept one (its persistence lost or not
        written, or the session expired): what it received for this client id from ``since`` until the
        subscriptions are back was dropped, acknowledged to the devices or not."""
        loss = SessionLoss(self.client_id, since, self._now())
        log.error(
            "the MQTT broker at %s had no session for %s: messages published to its topics from %s until it "
            "subscribed again (%s) may be lost; check that the broker's persistence is written "
            "(docs/operations.md \"A lost broker session\")",
            self.url, self.client_id, loss.since.isoformat(timespec="seconds"),
            loss.noticed_at.isoformat(timespec="seconds"),
            extra={"client_id": self.client_id, "lost_from": loss.since.isoformat(),
                   "lost_until": loss.noticed_at.isoformat()},
        )  # fmt: skip
        if self.on_session_lost is not None:
            self.on_session_lost(loss)

    def _subscribe(self, filters: list[str]) -> None:
        # Retain handling 1: retained messages only for a subscription that did not exist yet.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        for start in range(0, len(filters), FILTERS_PER_SUBSCRIBE):
            chunk = filters[start : start + FILTERS_PER_SUBSCRIBE]
            rc, mid = self.client.subscribe([(f, options) for f in chunk])
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._suback_pending.add(mid)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._suback_pending.discard(mid)
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self._settle(ServiceError(f"the MQTT broker at {self.url} refused a subscription: {failed[0]}"))
        elif not self._suback_pending:
            self._settle(None)

    def _answered(self) -> None:
        if self._accepted is not None and not self._accepted.done():
            self._accepted.set_result(None)

    def _settle(self, error: ServiceError | None) -> None:
        if self._ready is not None and not self._ready.done():
            if error is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(error)
        elif error is not None:
            log.error("%s", error)

    def _fail(self, error: ServiceError) -> None:
        self._closing = True
        if self.failed is not None and not self.failed.done():
            self.failed.set_exception(error)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected, self.connected = self.connected, False
        if was_connected and self.session_expiry_s > 0:
            self.expected_since = self._now()  # the broker keeps the session from here, or it has lost it
        self._answered()  # the connection ended: whatever waits for the broker's answer learns it from _ready
        if self._closing or self._loop is None:
            return
        if reason.value == SESSION_TAKEN_OVER:
            # Two processes with one client id would take the session from each other forever.
            self._fail(
                ServiceError(
                    f"another MQTT client connected as {self.client_id} and took over this ingest process's "
                    "session: every ingest process needs its own FIREWARDEN_INGEST_PARTITION (or client id)"
                )
            )
            return
        if self._ready is not None and not self._ready.done():
            if self._ever_connected and was_connected:
                self._settle(ServiceError(f"the MQTT broker at {self.url} closed the connection ({reason})"))
            else:
                # Closed before CONNACK: an MQTT 3.1.1-only broker (amqtt) does this to MQTT 5.
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
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_CAP_S)
        await self._sleep(backoff.next())  # the broker that just went away is rarely back at once

        async def attempt() -> None:
            if not self._closing and not self.connected:
                await self._connect()

        await retry(attempt, what="reconnecting to the MQTT broker", errors=(ServiceError,), backoff=backoff,
                    sleep=self._sleep, log=log)  # fmt: skip

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.client.loop_misc()

    # -- reading ------------------------------------------------------------------------------

    def _on_raw_publish(self, topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        """A PUBLISH without properties (every device message), from :class:`~ingest.mqtt_client.IngestClient`."""
        self._received += 1
        try:
            text = topic.decode()
        except UnicodeDecodeError:
            # Brokers should refuse such topics; if one does not, validation files it as bad_topic.
            text = topic.decode("utf-8", "backslashreplace")
        received_at = self._burst_at or self._now()
        self._on_delivery(Delivery(text, payload, received_at, (self, self._generation, mid) if qos else None))

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        """A PUBLISH with properties, decoded by paho."""
        self._on_raw_publish(message._topic, bytes(message.payload), message.qos, message.mid)

    def _read(self) -> None:
        # paho reads one packet per loop_read(); read on while messages keep coming or bytes are
        # buffered, up to a burst. A control packet ends the burst: the loop calls again at once if
        # more bytes are waiting in the socket. Bytes left in the client's buffer are announced by no
        # readiness, so a burst that ends with some continues as soon as the loop has run the others.
        client = self.client
        self._burst_at = self._now()  # one time of receipt for the packets of one burst (a few ms)
        try:
            for _ in range(READ_BURST):
                before = self._received
                client.loop_read()
                if self._sock is None or (self._received == before and not client.buffered):
                    return
            if client.buffered and self._loop is not None:
                self._loop.call_soon(self._read)
        finally:
            self._burst_at = None

    def _watch_reads(self, on: bool) -> None:
        if self._loop is None or self._sock is None or on == self._reading:
            return
        if on:
            self._loop.add_reader(self._sock, self._read)
        else:
            self._loop.remove_reader(self._sock)
        self._reading = on

    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        self.client.drop_buffer()
        self._sock = sock
        self._reading = False
        self._watch_reads(True)

    def _on_socket_close(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._watch_reads(False)
        self._loop.remove_writer(sock)
        self.client.drop_buffer()
        self._sock = None
        self._reading = False

    def _on_socket_register_write(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, client.loop_write)

    def _on_socket_unregister_write(self, client: mqtt.Client, userdata: object, sock: SocketLike) -> None:
        assert self._loop is not None
        self._loop.remove_writer(sock)
