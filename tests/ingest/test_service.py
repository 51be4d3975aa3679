"""Ingest end to end in one process: real Mosquitto, real PostgreSQL, the local bus."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from core.addresses import MqttUrl
from core.bus import BusMessage, KafkaBus, LocalBus
from core.errors import BusError
from ingest.handoff import EVENTS_TOPIC, TOPICS, from_bus
from ingest.lanes import is_priority
from ingest.records import EventRecord
from ingest.service import Ingest
from simulators.engine import Outgoing
from tests.ingest.harness import (
    FLEET,
    dead_letter_reasons,
    import_fleet,
    mixed_stream,
    publish,
    running,
    stored_messages,
)
from tests.ingest.harness import make_ingest as _ingest
from tests.ingest.harness import until as _until

TIMEOUT_S = 60.0


def test_mixed_stream_is_stored_once_and_every_refusal_is_kept(mosquitto: MqttUrl, flavoured_url: str) -> None:
    migrated_url = flavoured_url
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC))
    assert stream.duplicates > 0 and len(stream.refusals) >= 19
    bus = LocalBus()
    on_bus: list[BusMessage] = []

    async def scenario() -> Ingest:
        queues = [bus.subscribe(*TOPICS, maxsize=0)]
        ingest = _ingest(mosquitto, migrated_url, bus, batch_rows=500)

        async def body() -> None:
            await asyncio.to_thread(publish, mosquitto, stream.messages)
            await _until(
                lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(stream.messages), "all"
            )
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")

        await running(ingest, body)
        for queue in queues:
            while not queue.empty():
                on_bus.append(queue.get_nowait())
        return ingest

    ingest = asyncio.run(scenario())
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(stored) == stream.valid
    assert dead_letter_reasons(migrated_url) == stream.refusals
    m = ingest.metrics
    assert m.value("firewarden_ingest_received_total") == len(stream.messages)
    assert m.value("firewarden_ingest_accepted_total") == len(stream.valid)
    assert m.value("firewarden_ingest_stored_total") == len(stream.valid)
    assert m.value("firewarden_ingest_duplicates_total") == stream.duplicates
    for reason, count in stream.refusals.items():
        assert m.value("firewarden_ingest_rejected_total", reason=reason) == count, reason
    # The bus saw every stored record once, keyed by its premises.
    records = [from_bus(message) for message in on_bus]
    assert all(message.key == record.premises_id.encode() for message, record in zip(on_bus, records, strict=True))
    assert {(r.device_id, r.seq) for r in records} == stream.valid
    # Events went by the priority lane, everything else by the bulk one.
    assert all(
        (message.topic == EVENTS_TOPIC) == isinstance(record, EventRecord)
        for message, record in zip(on_bus, records, strict=True)
    )
    readings = Counter(type(r).__name__ for r in records)["Reading"]
    assert readings == m.value("firewarden_ingest_rows_stored_total", table="readings")


def test_a_replay_is_stored_once_and_handed_on_once_across_restarts(mosquitto: MqttUrl, flavoured_url: str) -> None:
    # The memory of recent messages is empty after a restart: the database decides, and what it already
    # had is not handed to the bus again.
    migrated_url = flavoured_url
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=600)
    first = stream.messages[: len(stream.messages) // 2]

    async def run(messages: list[object]) -> tuple[Ingest, set[tuple[str, int]]]:
        bus = LocalBus()
        queue = bus.subscribe(*TOPICS, maxsize=0)
        ingest = _ingest(mosquitto, migrated_url, bus)

        async def body() -> None:
            await asyncio.to_thread(publish, mosquitto, messages)
            await _until(lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(messages), "all")
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")

        await running(ingest, body)
        handed_on = []
        while not queue.empty():
            handed_on.append(from_bus(queue.get_nowait()))
        return ingest, {(r.device_id, r.seq) for r in handed_on}

    _, before = asyncio.run(run(first))  # type: ignore[arg-type]
    again, after = asyncio.run(run(stream.messages))  # type: ignore[arg-type]
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored))
    assert set(stored) == stream.valid
    assert before and not before & after, "a replayed message was handed to the bus again"
    assert before | after == stream.valid
    assert again.metrics.value("firewarden_ingest_duplicates_total") >= len(before)
    assert again.metrics.value("firewarden_ingest_stored_total") == len(after)


def test_a_seq_resent_with_a_new_timestamp_is_a_conflict_within_a_run_and_after_a_restart(
    mosquitto: MqttUrl, flavoured_url: str
) -> None:
    import_fleet(flavoured_url)
    device = next(d for d in FLEET.devices if d.type == "tank_level")
    topic = f"fw/v1/{device.premises}/{device.id}/telemetry"
    now = datetime.now(UTC)

    def message(seq: int, seconds_ago: float, level: float = 2.5) -> Outgoing:
        ts = int((now.timestamp() - seconds_ago) * 1000)
        body = msgspec.json.encode({"seq": seq, "ts": ts, "metrics": {"tank_level_m": level}})
        return Outgoing(seq, now.timestamp(), topic, body, device.id, seq)

    async def run(messages: list[Outgoing]) -> Ingest:
        ingest = _ingest(mosquitto, flavoured_url, LocalBus())

        async def body() -> None:
            await asyncio.to_thread(publish, mosquitto, messages)
            await _until(lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(messages), "all")
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")

        await running(ingest, body)
        return ingest

    first = asyncio.run(run([message(1, 120), message(2, 60), message(2, 30)]))  # seq 2 re-sent, restamped
    second = asyncio.run(run([message(1, 120), message(1, 10), message(3, 0)]))  # after a restart: 1 again, twice
    assert first.metrics.value("firewarden_ingest_rejected_total", reason="seq_conflict") == 1
    assert second.metrics.value("firewarden_ingest_rejected_total", reason="seq_conflict") == 1
    assert second.metrics.value("firewarden_ingest_duplicates_total") == 1
    stored = stored_messages(flavoured_url)
    assert sorted(stored) == [(device.id, 1), (device.id, 2), (device.id, 3)]
    assert dead_letter_reasons(flavoured_url) == Counter({"seq_conflict": 2})


def test_stop_stores_what_was_received(mosquitto: MqttUrl, migrated_url: str, tmp_path: Path) -> None:
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=600)

    async def scenario() -> Ingest:
        # Batches that never fill and a long wait: only the stop can flush them (events go at once).
        ingest = _ingest(mosquitto, migrated_url, LocalBus(), batch_rows=100_000, batch_wait_s=3600)

        async def body() -> None:
            await asyncio.to_thread(publish, mosquitto, stream.messages)
            await _until(
                lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(stream.messages), "all"
            )
            events = {(m.device_id, m.seq) for m in stream.messages if is_priority(m.topic)}
            assert set(stored_messages(migrated_url)) <= events

        await running(ingest, body)
        assert ingest.in_flight == 0
        return ingest

    asyncio.run(scenario())
    assert set(stored_messages(migrated_url)) == stream.valid


class RefusingBus(LocalBus):
    """The local bus, refusing its first ``refusals`` batches as an unreachable Kafka would."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.accepted: list[BusMessage] = []

    def has_readers(self, topic: str) -> bool:
        return True  # as Kafka: a topic is kept for whoever reads it

    async def publish(self, messages: Sequence[BusMessage]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise BusError("the bus is away")
        self.accepted.extend(messages)


def test_a_refusing_bus_holds_acknowledgements_until_it_accepts(mosquitto: MqttUrl, migrated_url: str) -> None:
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=300)
    bus = RefusingBus(refusals=3)

    async def scenario() -> Ingest:
        ingest = _ingest(mosquitto, migrated_url, bus)

        async def body() -> None:
            await asyncio.to_thread(publish, mosquitto, stream.messages)
            await _until(
                lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(stream.messages), "all"
            )
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")

        await running(ingest, body)
        return ingest

    ingest = asyncio.run(scenario())
    assert ingest.metrics.value("firewarden_ingest_bus_failures_total") == 3
    assert {(r.device_id, r.seq) for r in map(from_bus, bus.accepted)} == stream.valid


def test_records_reach_kafka_keyed_by_premises(mosquitto: MqttUrl, migrated_url: str, own_kafka: str) -> None:
    kafka = own_kafka
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=300)

    async def scenario() -> list[tuple[int, bytes, bytes, str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(t, 3, 1) for t in TOPICS])
        finally:
            await admin.close()
        bus = KafkaBus([kafka], idempotent=False)  # see tests/bus: tansu cannot init an idempotent aiokafka producer
        await bus.start()
        try:
            ingest = _ingest(mosquitto, migrated_url, bus)

            async def body() -> None:
                await asyncio.to_thread(publish, mosquitto, stream.messages)
                await _until(
                    lambda: (
                        ingest.in_flight == 0
                        and ingest.metrics.value("firewarden_ingest_received_total") >= len(stream.messages)
                    ),
                    "all",
                )

            await running(ingest, body)
        finally:
            await bus.close()
        consumer = AIOKafkaConsumer(
            *TOPICS,
            bootstrap_servers=kafka,
            auto_offset_reset="earliest",
            group_id="check",
        )
        await consumer.start()
        got: list[tuple[int, bytes, bytes, str]] = []
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=3000)
                if not batches:
                    break
                for tp, messages in batches.items():
                    got.extend((tp.partition, m.key, m.value, tp.topic) for m in messages)
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(scenario())
    records = [from_bus(BusMessage(topic, key, value)) for _, key, value, topic in got]
    assert {(r.device_id, r.seq) for r in records} == stream.valid
    assert all(key == r.premises_id.encode() for (_, key, _, _), r in zip(got, records, strict=True))
    partitions: dict[bytes, set[int]] = {}
    for partition, key, _, _ in got:
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values()), "a premises' records spread over partitions"
