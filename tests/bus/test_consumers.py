"""The consuming side of the bus: local queues, and Kafka consumer groups on tansu (a real
Kafka-protocol broker), with commit, redelivery of what was not committed, and the group sharing
partitions. ``firewarden topics create`` makes the topics, as an operator would."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.bus import BusMessage, KafkaBus, LocalBus
from core.bus.admin import TopicSpec, create_topics
from core.bus.base import Consumer
from core.errors import BusError
from tests.fix_kafka import Tansu
from tests.ports import free_port
from tests.test_cli import firewarden


async def _drain(consumer: Consumer, count: int, timeout_s: float = 20.0) -> list[BusMessage]:
    got: list[BusMessage] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < count and asyncio.get_running_loop().time() < deadline:
        got.extend(await consumer.get(count - len(got), 0.5))
    return got


def _messages(topic: str, count: int, premises: int = 7) -> list[BusMessage]:
    return [BusMessage(topic, f"P-{i % premises}".encode(), b"%d" % i) for i in range(count)]


# -- local ------------------------------------------------------------------------------------


def test_a_local_consumer_gets_what_was_published_after_it_joined_in_order_in_batches() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], list[bytes]]:
        bus = LocalBus()
        await bus.publish(_messages("fw.records", 3))  # before anyone joined: nobody keeps it
        consumer = bus.consumer(["fw.records", "fw.feedback"], "g")
        await bus.publish([*_messages("fw.records", 5), BusMessage("fw.feedback", b"P-1", b"fb")])
        first = await consumer.get(4, 0.0)
        rest = await consumer.get(100, 0.0)
        await consumer.commit()
        empty = await consumer.get(100, 0.05)
        return [m.value for m in first], [m.value for m in rest], [m.value for m in empty]

    first, rest, empty = asyncio.run(scenario())
    assert first == [b"0", b"1", b"2", b"3"]
    assert rest == [b"4", b"fb"]
    assert empty == []


def test_a_full_local_consumer_holds_the_publisher_back() -> None:
    async def scenario() -> None:
        bus = LocalBus()
        consumer = bus.consumer(["fw.decisions"], "alerts", buffer=10)
        publishing = asyncio.create_task(bus.publish(_messages("fw.decisions", 25)))
        await asyncio.sleep(0.05)
        assert not publishing.done(), "publish returned although the consumer's buffer was full"
        got = await _drain(consumer, 25, timeout_s=5)
        await asyncio.wait_for(publishing, 5)
        assert [int(m.value) for m in got] == list(range(25))

    asyncio.run(scenario())


def test_the_local_bus_says_its_consumers_keep_nothing_after_they_stop() -> None:
    assert LocalBus().consumer(["fw.records"], "g").durable is False


# -- kafka ------------------------------------------------------------------------------------


async def _topic(kafka: str, partitions: int) -> str:
    name = f"test.{uuid.uuid4().hex[:12]}"
    states = await create_topics([kafka], [TopicSpec(name, partitions, 1)])
    assert states[0].outcome == "created"
    return name


async def _publish(kafka: str, messages: list[BusMessage]) -> None:
    bus = KafkaBus([kafka], idempotent=False)  # tansu cannot init aiokafka's idempotent producer
    await bus.start()
    try:
        await bus.publish(messages)
    finally:
        await bus.close()


def test_a_kafka_consumer_hands_out_again_what_was_not_committed(kafka: str) -> None:
    async def scenario() -> None:
        topic = await _topic(kafka, 3)
        group = f"g-{uuid.uuid4().hex[:8]}"
        await _publish(kafka, _messages(topic, 300))
        bus = KafkaBus([kafka], idempotent=False)

        first = bus.consumer([topic], group)
        got = await _drain(first, 300)
        assert sorted(int(m.value) for m in got) == list(range(300))
        await first.close()  # crashed before commit, as far as the group knows

        second = bus.consumer([topic], group)
        again = await _drain(second, 300)
        assert sorted(int(m.value) for m in again) == list(range(300)), "uncommitted messages were not redelivered"
        await second.commit()
        await second.close()

        await _publish(kafka, [BusMessage(topic, b"P-1", b"300")])
        third = bus.consumer([topic], group)
        after = await _drain(third, 1)
        assert [m.value for m in after] == [b"300"], "committed messages came back"
        assert await third.get(100, 1.0) == []
        await third.close()

    asyncio.run(scenario())


def test_members_of_a_kafka_group_share_the_partitions_each_premises_in_one_member_in_order(kafka: str) -> None:
    async def scenario() -> tuple[list[BusMessage], list[BusMessage]]:
        topic = await _topic(kafka, 4)
        group = f"g-{uuid.uuid4().hex[:8]}"
        bus = KafkaBus([kafka], idempotent=False)
        a, b = bus.consumer([topic], group), bus.consumer([topic], group)
        # both join before anything is published, so the group settles with two members
        await asyncio.gather(a.get(1, 0.5), b.get(1, 0.5))
        await asyncio.sleep(3.5)
        await asyncio.gather(a.get(1, 0.5), b.get(1, 0.5))
        await _publish(kafka, _messages(topic, 400, premises=16))
        got_a: list[BusMessage] = []
        got_b: list[BusMessage] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(got_a) + len(got_b) < 400 and asyncio.get_running_loop().time() < deadline:
            more_a, more_b = await asyncio.gather(a.get(400, 0.3), b.get(400, 0.3))
            got_a += more_a
            got_b += more_b
        await asyncio.gather(a.commit(), b.commit())
        await asyncio.gather(a.close(), b.close())
        return got_a, got_b

    got_a, got_b = asyncio.run(scenario())
    assert sorted(int(m.value) for m in got_a + got_b) == list(range(400)), "a message was lost or doubled"
    assert got_a and got_b, "one member of the group got every partition"
    keys_a, keys_b = {m.key for m in got_a}, {m.key for m in got_b}
    assert not keys_a & keys_b, "a premises was split between two members"
    for got in (got_a, got_b):
        for key in {m.key for m in got}:
            values = [int(m.value) for m in got if m.key == key]
            assert values == sorted(values), f"{key!r} out of order"


def test_kafka_readers_each_get_every_partition_from_their_positions_or_where_a_group_committed(kafka: str) -> None:
    """Readers (the fire path) have no group: two read everything at once, a joining one disturbs
    nobody, and one that starts resumes from the positions it is given, or from the group it replaces."""

    async def scenario() -> None:
        topic = await _topic(kafka, 3)
        await _publish(kafka, _messages(topic, 90, premises=9))
        bus = KafkaBus([kafka], idempotent=False)
        a, b = bus.reader(topic, {}), bus.reader(topic, {})
        got_a, got_b = await asyncio.gather(_drain(a, 90), _drain(b, 90))
        assert sorted(int(m.value) for m in got_a) == sorted(int(m.value) for m in got_b) == list(range(90))
        assert {m.partition for m in got_a} == {0, 1, 2}
        assert all(m.offset is not None for m in got_a)

        # from positions: what came after them, and nothing before
        positions = {p: 1 + max(m.offset or 0 for m in got_a if m.partition == p) for p in (0, 1, 2)}
        await _publish(kafka, _messages(topic, 9, premises=9))
        later = bus.reader(topic, positions)
        after = await _drain(later, 9)
        assert sorted(int(m.value) for m in after) == list(range(9))
        assert await later.get(100, 0.5) == []

        # a reader with no position takes over from a consumer group's commits
        group = f"g-{uuid.uuid4().hex[:8]}"
        member = bus.consumer([topic], group)
        assert len(await _drain(member, 99)) == 99
        await member.commit()
        await member.close()
        await _publish(kafka, [BusMessage(topic, b"P-1", b"1000")])
        resumed = bus.reader(topic, {}, resume_group=group)
        assert [m.value for m in await _drain(resumed, 1)] == [b"1000"]
        assert await resumed.get(100, 0.5) == []
        for reader in (a, b, later, resumed):
            await reader.close()

    asyncio.run(scenario())


def test_a_broker_killed_and_restarted_keeps_its_log_and_the_groups_commits(durable_kafka: Tansu) -> None:
    """tansu on S3, killed with SIGKILL between a commit and the rest: after its restart the group gets
    exactly what it had not committed, a reader everything, and publishing goes on."""
    kafka = durable_kafka.address

    async def scenario() -> None:
        topic = await _topic(kafka, 3)
        group = f"g-{uuid.uuid4().hex[:8]}"
        await _publish(kafka, _messages(topic, 120))
        bus = KafkaBus([kafka], idempotent=False)
        first = bus.consumer([topic], group)
        got = await _drain(first, 120)
        assert sorted(int(m.value) for m in got) == list(range(120))
        await first.commit()
        await first.close()
        await _publish(kafka, [BusMessage(topic, b"P-1", b"%d" % i) for i in range(120, 150)])

        await asyncio.to_thread(durable_kafka.kill9)
        await asyncio.to_thread(durable_kafka.start)

        again = bus.consumer([topic], group)
        rest = await _drain(again, 30)
        assert sorted(int(m.value) for m in rest) == list(range(120, 150)), "commits or messages lost"
        assert await again.get(100, 1.0) == []
        await again.close()
        reader = bus.reader(topic, {})
        assert sorted(int(m.value) for m in await _drain(reader, 150)) == list(range(150))
        await reader.close()
        await _publish(kafka, [BusMessage(topic, b"P-2", b"150")])

    asyncio.run(scenario())


def test_a_kafka_reader_of_a_missing_topic_says_to_create_it(kafka: str) -> None:
    async def scenario() -> None:
        reader = KafkaBus([kafka], idempotent=False).reader(f"missing-{uuid.uuid4().hex[:8]}", {})
        with pytest.raises(BusError, match="topics create"):
            await reader.get(10, 0.1)

    asyncio.run(scenario())


def test_an_unreachable_kafka_is_a_bus_error_when_consuming() -> None:
    async def scenario() -> None:
        consumer = KafkaBus([f"127.0.0.1:{free_port()}"]).consumer(["fw.records"], "g")
        with pytest.raises(BusError, match="Kafka"):
            await consumer.get(10, 0.1)

    asyncio.run(scenario())


# -- topics -----------------------------------------------------------------------------------


def test_topics_create_makes_the_bus_topics_once_and_reports_them(own_kafka: str) -> None:
    env = {"FIREWARDEN_BUS": f"kafka://{own_kafka}"}
    made = firewarden("topics", "create", "--partitions", "4", env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        "fw.events: created, 4 partition(s), 1 replica(s)",
        "fw.records: created, 4 partition(s), 1 replica(s)",
        "fw.feedback: created, 4 partition(s), 1 replica(s)",
        "fw.alarms: created, 4 partition(s), 1 replica(s)",
        "fw.decisions: created, 4 partition(s), 1 replica(s)",
        "firewarden-scoring-premises-state-changelog: created, 4 partition(s), 1 replica(s)",
    ]
    again = firewarden("topics", "create", "--partitions", "4", env=env)
    assert again.returncode == 0, again.stderr
    assert all(": exists, 4 partition(s)" in line for line in again.stdout.splitlines())
    more = firewarden("topics", "create", env=env)  # scoring_partitions: 12
    assert more.returncode == 1
    assert "fw.records: exists with fewer partitions, 4 partition(s)" in more.stdout
    assert "fewer partitions than 12" in more.stdout


def test_topics_create_needs_the_kafka_bus() -> None:
    result = firewarden("topics", "create")
    assert result.returncode == 2
    assert "topics create needs the kafka bus" in result.stderr
