"""The MQTT edge on its own: brokers ingest cannot work with are refused with a reason, subscriptions
divide the premises and are acknowledged before ingest is ready."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.addresses import MqttUrl
from core.errors import ServiceError
from core.services import embedded_broker
from core.services.mqtt import AMQTT
from ingest.batching import Delivery
from ingest.subscriber import ALL_TOPICS, READ_BURST, MqttSubscriber, partition_of, topic_filters
from simulators.engine import Outgoing
from simulators.publisher import Publisher, PublishOptions
from tests.ports import free_port


def _start(url: MqttUrl) -> None:
    async def scenario() -> None:
        subscriber = MqttSubscriber(
            url,
            client_id="probe",
            filters=[ALL_TOPICS],
            receive_maximum=10,
            session_expiry_s=0,
            on_delivery=lambda delivery: None,
            connect_timeout_s=2,
        )
        try:
            await subscriber.start()
        finally:
            await subscriber.stop()

    asyncio.run(scenario())


def test_an_mqtt_3_only_broker_is_refused_with_the_reason(tmp_path: Path) -> None:
    with embedded_broker(tmp_path, port=free_port(), program=AMQTT) as url, pytest.raises(ServiceError, match="MQTT 5"):
        _start(url)


def test_no_broker_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="cannot reach"):
        _start(MqttUrl("127.0.0.1", free_port(), tls=False))


def test_partitions_divide_the_premises_and_one_process_takes_everything() -> None:
    premises = [f"P-{n:05d}" for n in range(1000)]
    assert topic_filters(premises, 1, 0) == ["fw/v1/#"]
    shares = [topic_filters(premises, 3, p) for p in range(3)]
    assert sorted(f for share in shares for f in share) == sorted(f"fw/v1/{p}/#" for p in premises)
    assert all(250 < len(share) < 420 for share in shares)  # CRC-32 spreads them
    assert all(partition_of(p, 3) == n for n, share in enumerate(shares) for p in (f.split("/")[2] for f in share))


def _subscriber(url: MqttUrl, client_id: str, filters: list[str], got: list[Delivery]) -> MqttSubscriber:
    return MqttSubscriber(
        url,
        client_id=client_id,
        filters=filters,
        receive_maximum=100,
        session_expiry_s=60,
        on_delivery=got.append,
        connect_timeout_s=5,
    )


def test_ready_means_every_subscription_is_acknowledged(mosquitto: MqttUrl) -> None:
    # 3,000 premises take six SUBSCRIBE packets; a message published the moment start() returns
    # must find its subscription (an MQTT 5 publisher would hear "no matching subscribers" otherwise).
    premises = [f"P-{n:05d}" for n in range(20_000)]
    got: list[Delivery] = []

    async def scenario() -> None:
        subscriber = _subscriber(mosquitto, "ready-probe", [f"fw/v1/{p}/#" for p in premises], got)
        await subscriber.start()
        try:
            last = [Outgoing(n, 0.0, f"fw/v1/{p}/D/status", b"{}", "D", n) for n, p in enumerate(premises[-50:])]
            options = PublishOptions(url=mosquitto, speed=0, connections=1, retry_for_s=0)
            stats = await asyncio.to_thread(_publish, options, last)
            assert (stats.done, stats.errors) == (50, 0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while len(got) < 50 and loop.time() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await subscriber.stop()

    asyncio.run(scenario())
    assert len(got) == 50


def _publish(options: PublishOptions, messages: list[Outgoing]) -> object:
    with Publisher(options) as publisher:
        return publisher.publish(messages, sim_start=0.0)


def test_a_resumed_session_flooding_in_before_the_suback_is_not_mistaken_for_silence(mosquitto: MqttUrl) -> None:
    # The broker sends a full window of queued messages before the SUBACK; on a slow machine reading
    # them takes longer than the connect timeout, which covers the broker's answer to CONNECT only.
    got: list[Delivery] = []

    async def scenario() -> None:
        first = _subscriber(mosquitto, "resumed-probe", [ALL_TOPICS], [])
        await first.start()
        await first.stop()  # the session, with its subscription, stays with the broker
        topic = "fw/v1/P-{}/D-{}/status"
        queued = [Outgoing(n, 0.0, topic.format(n % 7, n % 11), b"{}", f"D-{n % 11}", n) for n in range(20_000)]
        stats = await asyncio.to_thread(_publish, PublishOptions(url=mosquitto, speed=0, connections=2), queued)
        assert stats.acknowledged == 20_000  # type: ignore[attr-defined]

        def slowly(delivery: Delivery) -> None:
            time.sleep(0.0002)  # 20,000 messages: 4 s of reading, four times the connect timeout
            got.append(delivery)

        second = MqttSubscriber(
            mosquitto, client_id="resumed-probe", filters=[ALL_TOPICS], receive_maximum=20_000,
            session_expiry_s=60, on_delivery=slowly, connect_timeout_s=1,
        )  # fmt: skip
        await second.start()
        try:
            assert second.connected
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while len(got) < 20_000 and loop.time() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await second.stop()

    asyncio.run(scenario())
    assert len(got) == 20_000


def test_every_publish_arrives_whole_with_or_without_properties_and_in_order(mosquitto: MqttUrl) -> None:
    """The buffered reads and the fast PUBLISH path of IngestClient: 3,000 messages of sizes from 0 bytes
    to 300 kB (one read holds many, one message spans many reads), some with MQTT 5 properties (paho's own
    path), at QoS 0 and 1, all arrive byte for byte in publish order."""
    rng = random.Random(5)
    sizes = [0, 1, 127, 128, 16_383, 16_384, 300_000] + [rng.randrange(0, 400) for _ in range(2993)]
    payloads = [bytes(rng.randrange(256) for _ in range(min(n, 64))) * (n // 64 + 1) for n in sizes]
    payloads = [p[:n] for p, n in zip(payloads, sizes, strict=True)]
    got: list[Delivery] = []

    async def scenario() -> None:
        subscriber = MqttSubscriber(
            mosquitto,
            client_id="whole",
            filters=["fw/v1/#"],
            receive_maximum=65_000,
            session_expiry_s=0,
            on_delivery=got.append,
        )
        await subscriber.start()
        try:
            publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="whole-pub", protocol=mqtt.MQTTv5)
            publisher.max_inflight_messages_set(0)
            publisher.connect(mosquitto.host, mosquitto.port)
            publisher.loop_start()
            for n, payload in enumerate(payloads):
                properties = None
                if n % 7 == 0:
                    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    properties.UserProperty = ("n", str(n))
                publisher.publish(f"fw/v1/P/D/{n}", payload, qos=n % 2, properties=properties)
            deadline = time.monotonic() + 30
            while len(got) < len(payloads) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            publisher.loop_stop()
            publisher.disconnect()
            subscriber.ack([d.token for d in got if d.token is not None])
        finally:
            await subscriber.stop()

    asyncio.run(scenario())
    assert [d.topic for d in got] == [f"fw/v1/P/D/{n}" for n in range(len(payloads))]
    assert [d.payload for d in got] == payloads
    assert [d.token is not None for d in got] == [n % 2 == 1 for n in range(len(payloads))]


def test_packets_left_in_the_read_buffer_after_a_burst_are_read_without_new_bytes(mosquitto: MqttUrl) -> None:
    """A queued backlog arrives in a few large reads; a burst stops after READ_BURST packets with the rest
    in the client's buffer, which no socket readiness announces: they must still be read at once, not
    when the next byte (a keep-alive answer, 30 s on) arrives."""
    got: list[Delivery] = []
    count = 100 * READ_BURST

    async def scenario() -> float:
        first = _subscriber(mosquitto, "buffered-probe", [ALL_TOPICS], [])
        await first.start()
        await first.stop()
        queued = [Outgoing(n, 0.0, "fw/v1/P/D/status", b"{}", "D", n) for n in range(count)]
        stats = await asyncio.to_thread(_publish, PublishOptions(url=mosquitto, speed=0, connections=1), queued)
        assert stats.acknowledged == count  # type: ignore[attr-defined]
        second = MqttSubscriber(
            mosquitto, client_id="buffered-probe", filters=[ALL_TOPICS], receive_maximum=65_000,
            session_expiry_s=60, on_delivery=got.append,
        )  # fmt: skip
        started = time.monotonic()
        await second.start()  # the SUBACK comes after the backlog: it too would wait
        try:
            while len(got) < count and time.monotonic() - started < 10:
                await asyncio.sleep(0.01)
            return time.monotonic() - started
        finally:
            await second.stop()

    took = asyncio.run(scenario())
    assert len(got) == count
    assert took < 5, f"{count} queued messages took {took:.1f} s"
