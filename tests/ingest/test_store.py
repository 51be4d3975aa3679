"""The record store against PostgreSQL: batches all or nothing, duplicates skipped, any input storable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firewarden.db import connect
from firewarden.errors import DatabaseError
from ingest.batching import Batcher, Delivery
from ingest.dedup import RecentMessages
from ingest.records import DeadLetter, EventRecord, Reading, StatusRecord
from ingest.store import RecordStore
from ingest.validation import RegistryIndex, Validator
from tests.ingest.harness import FLEET, import_fleet
from tests.ports import free_port

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _count(url: str, table: str) -> int:
    with connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_a_batch_is_stored_and_its_repetition_skipped(migrated_url: str) -> None:
    store = RecordStore(migrated_url)
    records = [
        Reading(NOW, "P-1", "D-1", "tank_level_m", 2.5, 1),
        Reading(NOW, "P-1", "D-1", "temperature_c", 21.0, 1),
        EventRecord(NOW, "P-1", "D-2", 5, "fire_alarm", "smoke_detector", 1, 4, "3F", "note"),
        StatusRecord(NOW, "P-1", "D-3", 9, "online", 88.0, -70.0, "1.2.3"),
    ]
    letters = [DeadLetter(NOW, "fw/v1/x\x00y", b"\x00\xff raw", "bad_topic", "nul \x00 in detail")]
    first = store.write(records, letters)
    assert first.inserted == {"readings": 2, "events": 1, "device_status": 1, "dead_letters": 1}
    again = store.write(records, [])
    assert again.inserted == {"readings": 0, "events": 0, "device_status": 0}
    assert again.duplicates("readings") == 2
    with connect(migrated_url) as conn:
        topic, payload = conn.execute("SELECT topic, payload FROM dead_letters").fetchone()  # type: ignore[misc]
    assert (topic, bytes(payload)) == ("fw/v1/x\\x00y", b"\x00\xff raw")  # the raw bytes kept exactly
    store.close()


def test_an_unreachable_database_is_a_database_error_and_stores_nothing() -> None:
    store = RecordStore(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(DatabaseError, match="cannot connect"):
        store.write([Reading(NOW, "P", "D", "tank_level_m", 1.0, 1)], [])


@pytest.fixture
def fleet_url(migrated_url: str) -> str:
    import_fleet(migrated_url)
    return migrated_url


TOPICS = [
    f"fw/v1/{d.premises}/{d.id}/{c}" for d in FLEET.devices[:6] for c in ("telemetry", "event", "status", "gb26875")
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    deliveries=st.lists(
        st.tuples(st.one_of(st.text(max_size=80), st.sampled_from(TOPICS)), st.binary(max_size=300)),
        min_size=1,
        max_size=8,
    )
)
def test_any_bytes_on_any_topic_are_stored_or_dead_lettered(
    fleet_url: str, deliveries: list[tuple[str, bytes]]
) -> None:
    batcher = Batcher(
        Validator(RegistryIndex.of(FLEET)), RecentMessages(100), max_rows=1000, max_messages=1000, max_wait_s=1
    )
    for topic, payload in deliveries:
        batcher.add(Delivery(topic, payload, NOW))
    batch = batcher.take()
    assert batch.messages == len(deliveries)
    before = _count(fleet_url, "dead_letters")
    store = RecordStore(fleet_url)
    try:
        store.write(batch.records, batch.dead_letters)  # never raises for anything a device can send
    finally:
        store.close()
    assert _count(fleet_url, "dead_letters") == before + len(batch.dead_letters)
