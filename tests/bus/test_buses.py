"""The two buses behind one interface: in-process queues, and Kafka (tansu, a real Kafka-protocol broker)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from core.bus import BusMessage, KafkaBus, LocalBus
from core.errors import BusError
from tests.ports import free_port


def test_local_bus_delivers_in_order_to_every_subscriber() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        bus = LocalBus()
        first, second = bus.subscribe("fw.events"), bus.subscribe("fw.events")
        other = bus.subscribe("fw.readings")
        await bus.publish([BusMessage("fw.events", b"P-1", b"%d" % i) for i in range(5)])
        assert other.empty()
        return [first.get_nowait().value for _ in range(5)], [second.get_nowait().value for _ in range(5)]

    got_first, got_second = asyncio.run(scenario())
    assert got_first == got_second == [b"0", b"1", b"2", b"3", b"4"]


def test_local_bus_publish_waits_for_a_full_subscriber() -> None:
    async def scenario() -> None:
        bus = LocalBus()
        queue = bus.subscribe("fw.events", maxsize=2)
        publishing = asyncio.create_task(bus.publish([BusMessage("fw.events", b"P", b"x")] * 3))
        await asyncio.sleep(0.05)
        assert not publishing.done(), "publish returned although the subscriber had no room"
        assert queue.get_nowait().value == b"x"
        await asyncio.wait_for(publishing, timeout=5)
        assert queue.qsize() == 2

    asyncio.run(scenario())


def test_local_bus_without_subscribers_accepts() -> None:
    asyncio.run(LocalBus().publish([BusMessage("fw.events", b"P", b"x")]))


async def _create_topic(kafka: str, partitions: int) -> str:
    topic = f"test.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    return topic


async def _consume(kafka: str, topic: str, count: int) -> list[tuple[int, bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest", group_id=topic)
    await consumer.start()
    got: list[tuple[int, bytes, bytes]] = []
    try:
        while len(got) < count:
            batches = await consumer.getmany(timeout_ms=5000)
            if not batches:
                break
            for partition, messages in batches.items():
                got.extend((partition.partition, m.key, m.value) for m in messages)
    finally:
        await consumer.stop()
    return got


def test_kafka_bus_publishes_keyed_by_premises(kafka: str) -> None:
    # tansu cannot initialise an idempotent producer for aiokafka (it rejects InitProducerId v0, the
    # only version aiokafka sends), so this test turns idempotence off; acks=all is still in force.
    async def scenario() -> list[tuple[int, bytes, bytes]]:
        topic = await _create_topic(kafka, partitions=4)
        bus = KafkaBus([kafka], idempotent=False)
        await bus.start()
        try:
            await bus.publish([BusMessage(topic, f"P-{i % 7}".encode(), b"%d" % i) for i in range(700)])
        finally:
            await bus.close()
        return await _consume(kafka, topic, 700)

    got = asyncio.run(scenario())
    assert sorted(int(value) for _, _, value in got) == list(range(700))
    partitions_of: dict[bytes, set[int]] = {}
    for partition, key, _ in got:
        partitions_of.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_of.values()), "one premises spread over several partitions"
    assert len({p for ps in partitions_of.values() for p in ps}) > 1, "every premises landed in one partition"
    for key in partitions_of:  # in publishing order within a premises
        values = [int(v) for _, k, v in got if k == key]
        assert values == sorted(values)


def test_kafka_bus_unreachable_is_a_bus_error() -> None:
    async def scenario() -> None:
        bus = KafkaBus([f"127.0.0.1:{free_port()}"], idempotent=False)
        try:
            await bus.start()
        finally:
            await bus.close()

    with pytest.raises(BusError, match="unreachable"):
        asyncio.run(scenario())


def test_the_local_bus_knows_whether_a_topic_has_readers() -> None:
    bus = LocalBus()
    assert not bus.has_readers("fw.records")
    bus.subscribe("fw.records")
    assert bus.has_readers("fw.records") and not bus.has_readers("fw.decisions")
