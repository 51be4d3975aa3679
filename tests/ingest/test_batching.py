"""Batching in memory, with a fake clock: when a batch is due, what it holds, what gets acknowledged,
which repeats are duplicates and which are conflicting re-sends."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from core.policy import IngestPolicy
from ingest.batching import Batcher, Delivery
from ingest.dedup import RecentMessages
from ingest.lanes import is_priority, priority_filters
from ingest.limits import RateLimiter
from ingest.validation import RegistryIndex, Validator
from tests.ingest.harness import FLEET

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MS = int(NOW.timestamp() * 1000)
TANK = next(d for d in FLEET.devices if d.type == "tank_level")
ELEC = next(d for d in FLEET.devices if d.type == "electrical_monitor")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _delivery(
    seq: int, token: int | None = None, *, device: object = TANK, metrics: object = None, ts: int = MS
) -> Delivery:
    d = device
    body = {"seq": seq, "ts": ts, "metrics": metrics or {"tank_level_m": 2.5}}
    topic = f"fw/v1/{d.premises}/{d.id}/telemetry"  # type: ignore[attr-defined]
    return Delivery(topic, msgspec.json.encode(body), NOW, token)


def _batcher(clock: FakeClock, **limits: float) -> Batcher:
    defaults = {"max_rows": 10, "max_messages": 100, "max_wait_s": 0.2} | limits
    limiter = RateLimiter(IngestPolicy())
    return Batcher(Validator(RegistryIndex.of(FLEET)), RecentMessages(1000), limiter, clock=clock, **defaults)  # type: ignore[arg-type]


def test_a_batch_is_due_by_age() -> None:
    clock = FakeClock()
    batcher = _batcher(clock)
    assert not batcher.due() and batcher.seconds_until_due() is None
    batcher.add(_delivery(1))
    assert not batcher.due()
    assert batcher.seconds_until_due() == pytest.approx(0.2)
    clock.now += 0.15
    batcher.add(_delivery(2))
    assert batcher.seconds_until_due() == pytest.approx(0.05)  # the first message's age counts
    clock.now += 0.05
    assert batcher.due()


def test_a_batch_is_due_by_rows_and_by_messages() -> None:
    clock = FakeClock()
    by_rows = _batcher(clock, max_rows=4)
    four = {"current_a": 1, "voltage_v": 230, "residual_current_ma": 3, "cable_temp_c": 30}
    by_rows.add(_delivery(1, device=ELEC, metrics=four))  # one message, four readings
    assert by_rows.due()
    by_messages = _batcher(clock, max_messages=2)
    by_messages.add(Delivery("fw/v1/nowhere", b"x", NOW, 1))
    assert not by_messages.due()
    by_messages.add(Delivery("fw/v1/nowhere", b"x", NOW, 2))
    assert by_messages.due()  # dead letters count too


def test_take_hands_over_records_dead_letters_and_every_token_in_order() -> None:
    batcher = _batcher(FakeClock())
    verdicts = [
        batcher.add(_delivery(1, token=11)).verdict,
        batcher.add(Delivery("fw/v1/P/D/nonsense", b"{}", NOW, 12)).verdict,
        batcher.add(_delivery(1, token=13)).verdict,  # a redelivery
        batcher.add(_delivery(2, token=None)).verdict,  # QoS 0: nothing to acknowledge
    ]
    assert verdicts == ["accepted", "rejected", "duplicate", "accepted"]
    batch = batcher.take(NOW)
    assert [m.records[0].seq for m in batch.accepted] == [1, 2]
    assert [d.reason for d in batch.dead_letters] == ["unknown_channel"]
    assert batch.tokens == [11, 12, 13]  # the duplicate is acknowledged with the batch that stores its first copy
    assert batch.messages == 4
    assert batcher.pending == 0 and batcher.take(NOW).messages == 0


def test_a_duplicate_in_a_later_batch_is_still_dropped() -> None:
    batcher = _batcher(FakeClock())
    batcher.add(_delivery(7, token=1))
    batcher.take(NOW)
    assert batcher.add(_delivery(7, token=2)).verdict == "duplicate"
    assert batcher.take(NOW).accepted == []


def test_a_seq_sent_again_with_other_bytes_goes_on_for_the_store_to_judge() -> None:
    # Only byte-identical repeats are dropped here; the store compares what the others say (a device may
    # re-serialise the same message) and files a re-send with other content as seq_conflict.
    batcher = _batcher(FakeClock())
    batcher.add(_delivery(7, token=1))
    restamped = batcher.add(_delivery(7, token=2, ts=MS + 60_000))  # the same seq, a new timestamp
    again = batcher.add(_delivery(7, token=3))  # the first one's bytes exactly
    assert (restamped.verdict, again.verdict) == ("accepted", "duplicate")
    batch = batcher.take(NOW)
    assert [m.records[0].time for m in batch.accepted] == [NOW, datetime.fromtimestamp(MS / 1000 + 60, UTC)]
    assert batch.tokens == [1, 2, 3]


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        _batcher(FakeClock(), max_rows=0)


def test_a_priority_batch_is_due_as_soon_as_it_holds_a_message() -> None:
    batcher = _batcher(FakeClock(), max_wait_s=0)
    assert not batcher.due()
    batcher.add(_delivery(1))
    assert batcher.due()


def test_the_other_sessions_twin_is_a_copy_and_a_devices_repeat_a_duplicate() -> None:
    batcher = _batcher(FakeClock())
    assert batcher.add(_delivery(1), session="priority").verdict == "accepted"
    assert batcher.add(_delivery(1), session="bulk").verdict == "copy"  # the same message through the bulk session
    # the device sent it again: each session delivers the repeat once more, one duplicate and its copy
    # (a UITD's repeated frame is confirmed once, not once per session)
    assert batcher.add(_delivery(1), session="priority").verdict == "duplicate"
    assert batcher.add(_delivery(1), session="bulk").verdict == "copy"
    assert batcher.add(_delivery(1), session="bulk").verdict == "duplicate"  # and again, the bulk copy first
    assert batcher.add(_delivery(1), session="priority").verdict == "copy"
    # the bulk session's copy may come first
    assert batcher.add(_delivery(2), session="bulk").verdict == "accepted"
    assert batcher.add(_delivery(2), session="priority").verdict == "copy"
    # without sessions (the bulk lane), a repeat is a duplicate
    assert batcher.add(_delivery(3)).verdict == "accepted"
    assert batcher.add(_delivery(3)).verdict == "duplicate"
    batch = batcher.take(NOW)
    assert len(batch.accepted) == 3 and batch.messages == 10
    assert batch.sessions == {"priority": 4, "bulk": 4}


def test_a_refused_copy_files_no_second_dead_letter() -> None:
    batcher = _batcher(FakeClock())
    bad = Delivery("fw/v1/NOWHERE/X/event", b"{}", NOW, None)
    assert batcher.add(bad, session="priority").verdict == "rejected"
    assert batcher.add(bad, session="bulk", keep_dead_letter=False).verdict == "rejected"
    assert len(batcher.take(NOW).dead_letters) == 1


@pytest.mark.parametrize(
    ("topic", "priority"),
    [
        ("fw/v1/P-1/D-1/event", True),
        ("fw/v1/P-1/D-1/gb26875", True),
        ("fw/v1/P-1/D-1/telemetry", False),
        ("fw/v1/P-1/D-1/status", False),
        ("fw/v1/P-1/event", False),  # too short: a bad topic, the bulk lane files it
        ("fw/v1/P-1/D-1/x/event", False),
        ("xx/v1/P-1/D-1/event", False),
    ],
)
def test_which_topics_take_the_priority_lane(topic: str, priority: bool) -> None:
    assert is_priority(topic) is priority


def test_the_priority_session_subscribes_to_the_event_channels_of_the_bulk_sessions_premises() -> None:
    assert priority_filters(["fw/v1/#"]) == ["fw/v1/+/+/event", "fw/v1/+/+/gb26875"]
    assert priority_filters(["fw/v1/P-1/#", "fw/v1/P-2/#"]) == [
        "fw/v1/P-1/+/event",
        "fw/v1/P-1/+/gb26875",
        "fw/v1/P-2/+/event",
        "fw/v1/P-2/+/gb26875",
    ]
