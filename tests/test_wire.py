"""Wire contract v1: the documented examples, round trips, and robustness against any input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import COMPONENT_TYPES, EVENT_KINDS, METRICS
from core.wire import (
    DECODE_REASONS,
    MAX_PAYLOAD_BYTES,
    Component,
    DecodeError,
    Event,
    RawFrame,
    Status,
    Telemetry,
    WireMessage,
    decode,
    encode,
    topic_for,
)

PROTOCOL = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
TOPIC = "fw/v1/P-1/D-1/telemetry"


def _documented_examples() -> list[tuple[str, bytes]]:
    text = PROTOCOL.read_text(encoding="utf-8")
    pairs = re.findall(r"```json\n(.*?)\n```\n\(topic `([^`]+)`\)", text, flags=re.DOTALL)
    return [(topic, body.encode()) for body, topic in pairs]


def test_every_channel_has_a_documented_example() -> None:
    channels = {topic.rsplit("/", 1)[1] for topic, _ in _documented_examples()}
    assert channels == {"telemetry", "event", "status"}


@pytest.mark.parametrize(("topic", "payload"), _documented_examples())
def test_documented_examples_decode(topic: str, payload: bytes) -> None:
    message = decode(topic, payload)
    assert message.ts is not None and message.ts.tzinfo is UTC
    assert decode(*encode(message)) == message


def test_decoded_fields() -> None:
    message = decode(
        "fw/v1/P-0001/D-0001-UITD/event",
        b'{"seq": 5, "ts": "2026-11-23T08:00:00+08:00", "kind": "fire_alarm",'
        b' "component": {"type": "manual_call_point", "loop": 1, "address": 4, "zone": "1F"}}',
    )
    assert (message.premises_id, message.device_id, message.channel, message.seq) == (
        "P-0001",
        "D-0001-UITD",
        "event",
        5,
    )
    assert message.ts == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert isinstance(message.payload, Event)
    assert message.payload.component == Component("manual_call_point", 1, 4, "1F")


def test_epoch_milliseconds_become_utc() -> None:
    message = decode(TOPIC, b'{"seq": 1, "ts": 1763877900123, "metrics": {"battery_pct": 50}}')
    assert message.ts == datetime(2025, 11, 23, 6, 5, 0, 123000, tzinfo=UTC)


def test_gb26875_frames_pass_through_whole() -> None:
    frame = b"@@\x01\x00" + bytes(range(256)) + b"##"
    message = decode("fw/v1/P-1/UITD-1/gb26875", frame)
    assert message.payload == RawFrame(frame)
    assert message.seq is None and message.ts is None


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "detail"),
    [
        ("fw/v2/P/D/telemetry", b"{}", "bad_topic", "is not fw/v1/"),
        ("fw/v1/P/D/telemetry/extra", b"{}", "bad_topic", "is not fw/v1/"),
        ("fw/v1/P 1/D/telemetry", b"{}", "bad_topic", "premises id 'P 1'"),
        ("fw/v1/P/" + "D" * 65 + "/telemetry", b"{}", "bad_topic", "device id"),
        ("fw/v1/P/D/alarm", b"{}", "unknown_channel", "channel 'alarm'"),
        (TOPIC, b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "oversize", "the limit is 65536"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {"battery_pct": 5\xff}}', "not_utf8", "at byte 48"),
        ("fw/v1/P/D/event", b'{"seq": 1, "ts": 1, "kind": "test", "detail": "caf\xe9"}', "not_utf8", "at byte 50"),
        ("fw/v1/P/D/event", b'{"seq": 1, "ts": 1, "kind": "test", "\xc3": 1}', "not_utf8", "at byte 37"),
        (TOPIC, b'{"seq": 1, "ts": 1, ', "bad_json", "truncated"),
        (TOPIC, b'{"seq": -1, "ts": 1, "metrics": {"battery_pct": 5}}', "schema", "`$.seq`"),
        (TOPIC, b'{"ts": 1, "metrics": {"battery_pct": 5}}', "schema", "missing required field `seq`"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {"battery_pct": "5"}}', "schema", "Expected `float`, got `str`"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {"battery_pct": 5}, "extra": 1}', "schema", "unknown field `extra`"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {}}', "schema", "no metrics"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {"battery": 5}}', "unknown_metric", "'battery'"),
        (TOPIC, b'{"seq": 1, "ts": 1, "metrics": {"battery_pct": 101}}', "out_of_range", "battery_pct = 101.0 %"),
        (TOPIC, b'{"seq": 1, "ts": "2026-11-23T08:00:00", "metrics": {"battery_pct": 5}}', "bad_timestamp", "timezone"),
        (
            TOPIC,
            b'{"seq": 1, "ts": 99999999999999999, "metrics": {"battery_pct": 5}}',
            "bad_timestamp",
            "representable",
        ),
        ("fw/v1/P/D/event", b'{"seq": 1, "ts": 1, "kind": "explosion"}', "schema", "`$.kind`"),
        (
            "fw/v1/P/D/event",
            b'{"seq": 1, "ts": 1, "kind": "test", "component": {"type": "toaster"}}',
            "schema",
            "`$.component.type`",
        ),
        ("fw/v1/P/D/status", b'{"seq": 1, "ts": 1, "state": "asleep"}', "schema", "`$.state`"),
    ],
)
def test_bad_messages_get_a_reason_and_say_where(topic: str, payload: bytes, reason: str, detail: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(topic, payload)
    assert caught.value.reason == reason
    assert detail in caught.value.detail


def test_topic_for_refuses_ids_outside_the_grammar() -> None:
    assert topic_for("P-1", "D_2", "status") == "fw/v1/P-1/D_2/status"
    with pytest.raises(ValueError, match="device id"):
        topic_for("P-1", "D/2", "status")


# --- properties ------------------------------------------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
seqs = st.integers(min_value=0, max_value=2**63 - 1)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
timestamps = st.one_of(aware_times, st.integers(min_value=0, max_value=7_000_000_000_000))


@st.composite
def metric_maps(draw: st.DrawFn) -> dict[str, float]:
    names = draw(st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=5, unique=True))
    return {n: draw(st.floats(min_value=METRICS[n].low, max_value=METRICS[n].high, allow_nan=False)) for n in names}


# Text fields refuse U+0000 (PostgreSQL text cannot hold it): see test_nul_in_text_is_refused.
NO_NUL = st.characters(codec="utf-8", exclude_characters="\x00")  # what a UTF-8 payload can carry, but NUL

components = st.builds(
    Component,
    type=st.sampled_from(COMPONENT_TYPES),
    loop=st.none() | st.integers(0, 2**31 - 1),
    address=st.none() | st.integers(0, 2**31 - 1),
    zone=st.none() | st.text(NO_NUL, min_size=1, max_size=64),
)
payloads = st.one_of(
    st.builds(Telemetry, seq=seqs, ts=timestamps, metrics=metric_maps()),
    st.builds(
        Event,
        seq=seqs,
        ts=timestamps,
        kind=st.sampled_from(EVENT_KINDS),
        component=st.none() | components,
        detail=st.none() | st.text(NO_NUL, max_size=200),
    ),
    st.builds(
        Status,
        seq=seqs,
        ts=timestamps,
        state=st.sampled_from(["online", "offline"]),
        battery_pct=st.none() | st.floats(0, 100),
        rssi_dbm=st.none() | st.floats(-150, 0),
        firmware=st.none() | st.text(NO_NUL, max_size=64),
    ),
)
_CHANNEL = {Telemetry: "telemetry", Event: "event", Status: "status"}


@settings(max_examples=300)
@given(premises=ids, device=ids, payload=payloads)
def test_round_trip(premises: str, device: str, payload: Telemetry | Event | Status) -> None:
    topic = topic_for(premises, device, _CHANNEL[type(payload)])
    message = decode(topic, msgspec.json.encode(payload))
    assert message.payload == payload
    assert (message.premises_id, message.device_id) == (premises, device)
    assert decode(*encode(message)) == message


topics = st.one_of(
    st.text(max_size=120),
    st.builds(
        lambda p, d, c: f"fw/v1/{p}/{d}/{c}",
        ids,
        ids,
        st.sampled_from(["telemetry", "event", "status", "gb26875", "other"]),
    ),
)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_like.map(lambda v: msgspec.json.encode(v) if v == v else b"NaN"),
    st.fixed_dictionaries(
        {"seq": json_like, "ts": json_like},
        optional={"metrics": json_like, "kind": json_like, "state": json_like, "component": json_like},
    ).map(msgspec.json.encode),
)


@settings(max_examples=1500)
@given(topic=topics, body=bodies)
def test_any_input_is_a_message_or_a_decode_error(topic: str, body: bytes) -> None:
    try:
        message = decode(topic, body)
    except DecodeError as error:
        assert error.reason in DECODE_REASONS
        assert error.detail
    else:
        assert isinstance(message, WireMessage)


@pytest.mark.parametrize(
    ("channel", "body"),
    [
        ("event", b'{"seq": 1, "ts": 1, "kind": "fault", "detail": "a\\u0000b"}'),
        ("event", b'{"seq": 1, "ts": 1, "kind": "fault", "component": {"type": "panel", "zone": "\\u0000"}}'),
        ("status", b'{"seq": 1, "ts": 1, "state": "online", "firmware": "1.0\\u0000"}'),
    ],
)
def test_nul_in_text_is_refused(channel: str, body: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(f"fw/v1/P-1/D-1/{channel}", body)
    assert caught.value.reason == "schema"
