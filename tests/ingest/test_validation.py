"""Validation against registry and clock, checked message by message and against the simulators' ground truth."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.gb26875 import encode_frame
from ingest.dedup import RecentMessages
from ingest.records import DeadLetter, EventRecord, Reading, StatusRecord
from ingest.validation import RegistryIndex, Validator
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.scenarios import KINDS, Scenario, apply_scenario

FLEET = generate_fleet(30, seed=21)
NOW = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)
VALIDATOR = Validator(RegistryIndex.of(FLEET))


def _device(kind: str) -> tuple[str, str]:
    device = next(d for d in FLEET.devices if d.type == kind)
    return device.premises, device.id


def _check(topic: str, body: object) -> list[object] | DeadLetter:
    payload = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return VALIDATOR.check(topic, payload, NOW)  # type: ignore[return-value]


def _reason(topic: str, body: object) -> str:
    result = _check(topic, body)
    assert isinstance(result, DeadLetter), result
    assert result.payload  # the raw bytes are kept
    return result.reason


MS = int(NOW.timestamp() * 1000)


def test_telemetry_becomes_one_reading_per_metric() -> None:
    p, d = _device("electrical_monitor")
    records = _check(f"fw/v1/{p}/{d}/telemetry", {"seq": 3, "ts": MS, "metrics": {"current_a": 12.5, "voltage_v": 229}})
    assert records == [  # received at NOW too, by _check
        Reading(NOW, p, d, "current_a", 12.5, 3, received_at=NOW),
        Reading(NOW, p, d, "voltage_v", 229.0, 3, received_at=NOW),
    ]


def test_events_and_status_become_records() -> None:
    p, d = _device("uitd")
    (event,) = _check(
        f"fw/v1/{p}/{d}/event",
        {
            "seq": 9,
            "ts": MS,
            "kind": "fire_alarm",
            "component": {"type": "smoke_detector", "loop": 1, "address": 4, "zone": "3F"},
        },
    )  # type: ignore[misc]
    assert event == EventRecord(NOW, p, d, 9, "fire_alarm", "smoke_detector", 1, 4, "3F", received_at=NOW)
    (status,) = _check(f"fw/v1/{p}/{d}/status", {"seq": 10, "ts": MS, "state": "online"})  # type: ignore[misc]
    assert status == StatusRecord(NOW, p, d, 10, "online", received_at=NOW)
    said = {"seq": 11, "ts": MS, "state": "offline", "detail": "gb26875 connection closed by the UITD"}
    (offline,) = _check(f"fw/v1/{p}/{d}/status", said)  # type: ignore[misc]
    assert offline == StatusRecord(NOW, p, d, 11, "offline", received_at=NOW, detail=said["detail"])


def test_a_gb26875_frame_becomes_events() -> None:
    p, d = _device("uitd")
    label = bytes((0, 30, 8, 5, 1, 26))
    obj = bytes((1, 1, 42)) + (1).to_bytes(2, "little") + (7).to_bytes(2, "little") + (2).to_bytes(2, "little")
    frame = encode_frame(1, 2, bytes((2, 1)) + obj + bytes(31) + label, sent_at=NOW)
    (event,) = _check(f"fw/v1/{p}/{d}/gb26875", frame)  # type: ignore[misc]
    assert (event.kind, event.component_type, event.loop, event.address, event.time) == (  # type: ignore[attr-defined]
        "fire_alarm",
        "smoke_detector",
        1,
        7,
        NOW,
    )


@pytest.mark.parametrize(
    ("kind", "channel", "body", "reason"),
    [
        ("tank_level", "event", {"seq": 1, "ts": MS, "kind": "fire_alarm"}, "channel_not_allowed"),
        ("tank_level", "telemetry", {"seq": 1, "ts": MS, "metrics": {"residual_current_ma": 5}}, "metric_not_allowed"),
        ("electrical_monitor", "event", {"seq": 1, "ts": MS, "kind": "supervisory"}, "event_not_allowed"),
        ("tank_level", "telemetry", {"seq": 1, "ts": MS + 3_600_000, "metrics": {"tank_level_m": 3}}, "ts_in_future"),
        (
            "tank_level",
            "telemetry",
            {"seq": 1, "ts": MS - 8 * 86_400_000, "metrics": {"tank_level_m": 3}},
            "ts_too_old",
        ),
        ("uitd", "gb26875", b"@@not a frame##", "bad_frame"),
        ("tank_level", "telemetry", b"{", "bad_json"),
    ],
)
def test_refusals(kind: str, channel: str, body: object, reason: str) -> None:
    p, d = _device(kind)
    assert _reason(f"fw/v1/{p}/{d}/{channel}", body) == reason


def test_unknown_device_and_wrong_premises() -> None:
    p, d = _device("tank_level")
    other = next(x.id for x in FLEET.premises if x.id != p)
    body = {"seq": 1, "ts": MS, "metrics": {"tank_level_m": 3}}
    assert _reason(f"fw/v1/{p}/GHOST-1/telemetry", body) == "unknown_device"
    assert _reason(f"fw/v1/{other}/{d}/telemetry", body) == "premises_mismatch"


def test_simulated_transport_faults_are_refused_with_the_reason_ground_truth_expects() -> None:
    start = NOW.timestamp()
    sim = Simulation(FLEET, seed=5, start=start, duration=2 * 3600)
    faults = [k for k, v in KINDS.items() if v.category == "transport_fault"]
    apply_scenario(sim, Scenario.model_validate({"random": dict.fromkeys(faults, 1)}))
    refused = {}
    accepted = 0
    for m in sim.messages():
        result = VALIDATOR.check(m.topic, m.payload, datetime.fromtimestamp(m.at, UTC))
        if isinstance(result, DeadLetter):
            refused[m.index] = result.reason
        else:
            accepted += 1
    # Ground truth fills in as the stream passes, so it is read afterwards.
    expected = {
        i: t.expected.removeprefix("dead_letter:")
        for t in sim.truths
        if t.expected.startswith("dead_letter:")
        for i in t.stream_indices
    }
    assert len(expected) >= 12
    assert refused == expected  # every refusal foreseen, every foreseen refusal made, with its reason
    assert accepted > 1000


def test_duplicates_are_remembered_within_capacity() -> None:
    recent = RecentMessages(capacity=4)  # always the last 2, never more than 4
    assert [recent.check("D", s, 0) for s in (1, 2, 1, 3)] == ["new", "new", "duplicate", "new"]
    assert recent.check("D", 4, 1) == "new"
    assert recent.check("D", 4, 0) == "again"  # the same (device, seq), other bytes: the store judges
    assert recent.check("D", 3, 0) == "duplicate"
    assert recent.check("E", 1, 0) == "new"
    assert recent.check("D", 2, 0) == "new"  # forgotten: four others were seen or repeated since
    assert 2 <= len(recent) <= 4
    for seq in range(100, 1000, 2):
        assert recent.check("F", seq, 0) == recent.check("F", seq + 1, 0) == "new"
        assert 2 <= len(recent) <= 4
        assert recent.check("F", seq, 0) == "duplicate"  # the last two seen are always there


def test_the_memory_costs_the_garbage_collector_nothing() -> None:
    """150,000 remembered pairs add no object a full collection walks: only the two outer dicts are
    tracked, one entry per device each (an OrderedDict of tuples cost 75 ms per full collection)."""
    import gc

    gc.collect()
    before = len(gc.get_objects())
    recent = RecentMessages(capacity=200_000)
    for seq in range(150_000):
        recent.check(f"P-{seq % 300:06d}-EM-01", seq, hash(str(seq)))
    gc.collect()
    assert len(gc.get_objects()) - before < 100
    assert not any(gc.is_tracked(seqs) for seqs in (*recent._young.values(), *recent._old.values()))
    assert len(gc.get_referents(recent._young)) + len(gc.get_referents(recent._old)) <= 4 * 300


@settings(max_examples=1000)
@given(
    topic=st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                f"fw/v1/{d.premises}/{d.id}/{c}"
                for d in FLEET.devices[:5]
                for c in ("telemetry", "event", "status", "gb26875")
            ]
        ),
    ),
    body=st.binary(max_size=200),
)
def test_any_bytes_on_any_topic_give_records_or_a_dead_letter(topic: str, body: bytes) -> None:
    result = VALIDATOR.check(topic, body, NOW)
    assert isinstance(result, DeadLetter | list)
    if isinstance(result, DeadLetter):
        assert (result.topic, result.payload, result.received_at) == (topic, body, NOW)
        assert result.reason and result.detail


def test_registry_index_from_database_rows() -> None:
    index = RegistryIndex.from_rows([("D-1", "P-1", "tank_level")])
    assert len(index) == 1
    assert index.get("D-1") is not None
    assert index.get("D-2") is None
