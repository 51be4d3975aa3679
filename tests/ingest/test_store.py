"""The record store against PostgreSQL and TimescaleDB: batches all or nothing, (device_id, seq) as the
identity of a message across restarts and writers, bounded dead letters, any input storable."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import connect
from core.errors import DatabaseError
from core.policy import IngestPolicy
from ingest.batching import Accepted, Batch, Batcher, Delivery
from ingest.dedup import RecentMessages
from ingest.limits import RateLimiter
from ingest.records import DeadLetter, EventRecord, Reading, Record, StatusRecord
from ingest.store import RecordStore
from ingest.validation import RegistryIndex, Validator
from tests.ingest.harness import FLEET, import_fleet
from tests.ports import free_port

NOW = datetime.now(UTC).replace(microsecond=0)


def _count(url: str, table: str) -> int:
    with connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(str(row[0]))


def _batch(*messages: tuple[Record, ...], dead_letters: tuple[DeadLetter, ...] = ()) -> Batch:
    accepted = [Accepted(f"fw/v1/{m[0].premises_id}/{m[0].device_id}/x", b"raw", NOW, m) for m in messages]
    return Batch(accepted=accepted, dead_letters=list(dead_letters), messages=len(messages) + len(dead_letters))


def _reading(seq: int, *, at: datetime = NOW, value: float = 2.5, device: str = "D-1") -> tuple[Record, ...]:
    return (
        Reading(at, "P-1", device, "tank_level_m", value, seq),
        Reading(at, "P-1", device, "temperature_c", 21.0, seq),
    )


def test_a_batch_is_stored_and_its_repetition_skipped(flavoured_url: str) -> None:
    batch = _batch(
        _reading(1),
        (EventRecord(NOW, "P-1", "D-2", 5, "fire_alarm", "smoke_detector", 1, 4, "3F", "note"),),
        (StatusRecord(NOW, "P-1", "D-3", 9, "online", 88.0, -70.0, "1.2.3"),),
        dead_letters=(DeadLetter(NOW, "fw/v1/x\x00y", b"\x00\xff raw", "bad_topic", "nul \x00 in detail"),),
    )
    with RecordStore(flavoured_url) as store:
        first = store.write(batch)
    assert first.rows == {"readings": 2, "events": 1, "device_status": 1, "dead_letters": 1}
    assert (first.stored, first.duplicates, len(first.records)) == (3, 0, 4)
    with RecordStore(flavoured_url) as restarted:  # nothing in memory: the database decides
        again = restarted.write(_batch(*(m.records for m in batch.accepted)))
    assert (again.stored, again.duplicates, again.records, again.rows) == (0, 3, [], {})
    with connect(flavoured_url) as conn:
        topic, payload = conn.execute("SELECT topic, payload FROM dead_letters").fetchone()  # type: ignore[misc]
    assert (topic, bytes(payload)) == ("fw/v1/x\\x00y", b"\x00\xff raw")  # the raw bytes kept exactly


def test_a_seq_sent_again_with_a_new_timestamp_after_a_restart_is_a_conflict(flavoured_url: str) -> None:
    with RecordStore(flavoured_url) as store:
        store.write(_batch(_reading(41), _reading(42)))
    with RecordStore(flavoured_url) as restarted:
        result = restarted.write(_batch(_reading(42, at=NOW + timedelta(minutes=3)), _reading(43)))
        changed = restarted.write(_batch(_reading(41, value=9.9)))  # the same time, another value
    assert (result.stored, result.conflicts, result.duplicates) == (1, 1, 0)
    assert [r.seq for r in result.records] == [43, 43]
    assert changed.conflicts == 1
    with connect(flavoured_url) as conn:
        seqs = [int(str(s)) for (s,) in conn.execute("SELECT DISTINCT seq FROM readings ORDER BY seq").fetchall()]
        letters = conn.execute("SELECT reason, detail, payload FROM dead_letters ORDER BY id").fetchall()
    assert seqs == [41, 42, 43]
    assert [(r, bytes(p)) for r, _, p in letters] == [("seq_conflict", b"raw"), ("seq_conflict", b"raw")]
    assert "already has a message with seq 42 and other content" in str(letters[0][1])


def test_repeats_within_one_batch_are_judged_by_what_they_say(flavoured_url: str) -> None:
    with RecordStore(flavoured_url) as store:
        result = store.write(_batch(_reading(7), _reading(7, at=NOW + timedelta(minutes=1)), _reading(7)))
    assert (result.stored, result.conflicts, result.duplicates) == (1, 1, 1)
    assert _count(flavoured_url, "readings") == 2


def test_a_late_message_below_the_highest_seq_is_stored(flavoured_url: str) -> None:
    with RecordStore(flavoured_url) as store:
        store.write(_batch(_reading(10)))
        late = store.write(_batch(_reading(7, at=NOW - timedelta(minutes=5))))  # out of order, never stored
    assert (late.stored, late.conflicts, late.duplicates) == (1, 0, 0)
    with connect(flavoured_url) as conn:
        high = conn.execute("SELECT high_seq FROM device_sequences WHERE device_id = 'D-1'").fetchone()
    assert high == (10,)


def test_nothing_is_stored_until_commit_and_a_rollback_leaves_the_batch_to_write_again(flavoured_url: str) -> None:
    batch = _batch(_reading(1))
    with RecordStore(flavoured_url) as store:
        assert store.begin(batch).stored == 1
        assert _count(flavoured_url, "readings") == 0  # another connection sees nothing yet
        store.rollback()
        assert _count(flavoured_url, "readings") == 0
        assert store.write(batch).stored == 1  # the bus refused it: written again, stored as new
    assert _count(flavoured_url, "readings") == 2


def test_two_writers_at_once_store_one_seq_once(flavoured_url: str) -> None:
    # Two ingest processes that both see one device (while partitions change hands) decide in turn.
    results = []
    with RecordStore(flavoured_url) as first, RecordStore(flavoured_url) as second:
        assert first.begin(_batch(_reading(5))).stored == 1
        later = _batch(_reading(5, at=NOW + timedelta(seconds=1)))
        racer = threading.Thread(target=lambda: results.append(second.write(later)))
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second writer did not wait for the device's lock"
        first.commit()
        racer.join(timeout=10)
    assert results[0].conflicts == 1 and results[0].stored == 0
    assert _count(flavoured_url, "readings") == 2


def test_an_oversize_payload_keeps_a_prefix_its_size_and_hash(flavoured_url: str) -> None:
    huge = bytes(range(256)) * 400  # 102,400 bytes, over the 65,536-byte limit
    with RecordStore(flavoured_url, IngestPolicy(oversize_prefix_bytes=1000)) as store:
        store.write(_batch(dead_letters=(DeadLetter(NOW, "fw/v1/P/D/telemetry", huge, "oversize", "too big"),)))
    with connect(flavoured_url) as conn:
        row = conn.execute("SELECT payload, payload_size, payload_sha256 FROM dead_letters").fetchone()
    assert row is not None
    assert (bytes(row[0]), row[1], bytes(row[2])) == (huge[:1000], len(huge), hashlib.sha256(huge).digest())


def test_an_unreachable_database_is_a_database_error_and_stores_nothing() -> None:
    with (
        RecordStore(f"postgresql://nobody@127.0.0.1:{free_port()}/none") as store,
        pytest.raises(DatabaseError, match="cannot connect"),
    ):
        store.write(_batch(_reading(1)))


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
        Validator(RegistryIndex.of(FLEET)),
        RecentMessages(100),
        RateLimiter(IngestPolicy()),
        max_rows=1000,
        max_messages=1000,
        max_wait_s=1,
    )
    for topic, payload in deliveries:
        batcher.add(Delivery(topic, payload, NOW))
    batch = batcher.take(NOW)
    assert batch.messages == len(deliveries)
    before = _count(fleet_url, "dead_letters")
    with RecordStore(fleet_url) as store:
        result = store.write(batch)  # never raises for anything a device can send
    assert _count(fleet_url, "dead_letters") == before + len(batch.dead_letters) + result.conflicts
