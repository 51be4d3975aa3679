"""OneNET's push read as the wire contract (core/onenet.py), in memory."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess

import pytest

from core.onenet import (
    PushRefused,
    Target,
    decrypt,
    encrypt,
    parse_push,
    platform_id,
    read_message,
    signature,
    signed,
    translate,
)
from simulators.onenet import event_message, life_cycle_message, property_message, push_body

SMOKE = Target("D-1", "P-1", "smoke_alarm")
PRESSURE = Target("D-2", "P-1", "sprinkler_pressure")
MS = 1_796_000_000_000


def test_the_signature_is_base64_of_md5_over_token_nonce_and_msg() -> None:
    expected = base64.b64encode(hashlib.md5(b"tok" + b"n0nce" + b'{"a":1}').digest()).decode()
    assert signature("tok", "n0nce", '{"a":1}') == expected
    assert signed("tok", "n0nce", '{"a":1}', expected) and not signed("other", "n0nce", '{"a":1}', expected)


def test_a_push_body_is_read_back_and_names_its_device() -> None:
    push = parse_push(push_body("tok", property_message("PRD", "D-1", {"temperature_c": 21.5}, MS), MS, "id-1"))
    assert (push.time_ms, push.id) == (MS, "id-1") and signed("tok", push.nonce, push.msg, push.signature)
    assert platform_id(read_message(push)) == "onenet:PRD/D-1"


def test_properties_are_a_reading_and_a_status_with_seqs_of_their_own() -> None:
    message = property_message("PRD", "D-1", {"smoke_obscuration_pct_m": 0.4, "battery_pct": 80, "rssi_dbm": -70}, MS)
    (reading, status) = translate(message, SMOKE)
    assert reading == ("telemetry", {"seq": MS * 8, "ts": "2026-11-30T00:53:20+00:00",
                                     "metrics": {"smoke_obscuration_pct_m": 0.4, "battery_pct": 80}})  # fmt: skip
    assert status == ("status", {"seq": MS * 8 + 1, "ts": "2026-11-30T00:53:20+00:00", "state": "online",
                                 "rssi_dbm": -70})  # fmt: skip


def test_events_and_life_cycles() -> None:
    (event,) = translate(event_message("PRD", "D-1", "fire_alarm", MS, {"level": 2}), SMOKE)
    assert event == ("event", {"seq": MS * 8 + 2, "ts": "2026-11-30T00:53:20+00:00", "kind": "fire_alarm",
                               "detail": '{"level": 2}'})  # fmt: skip
    (gone,) = translate(life_cycle_message("PRD", "D-1", False, MS), SMOKE)
    assert gone[0] == "status" and gone[1]["state"] == "offline" and gone[1]["seq"] == MS * 8 + 1


@pytest.mark.parametrize(
    ("message", "target", "status", "reason"),
    [
        (property_message("PRD", "D-2", {"co2_ppm": 1}, MS), PRESSURE, 422, "unknown_property"),
        (event_message("PRD", "D-2", "fire_alarm", MS), PRESSURE, 422, "unknown_event"),  # a gauge emits none
        ({"messageType": "notify", "notifyType": "service", "data": {}}, SMOKE, 422, "unknown_message"),
        ({"messageType": "notify", "notifyType": "property", "data": {"params": {}}}, SMOKE, 400, "malformed"),
        (property_message("PRD", "D-1", {"temperature_c": 1}, 0), SMOKE, 400, "malformed"),  # no time
    ],
)
def test_what_the_device_type_does_not_know_is_refused(
    message: dict[str, object], target: Target, status: int, reason: str
) -> None:
    with pytest.raises(PushRefused) as refused:
        translate(message, target)
    assert (refused.value.status, refused.value.reason) == (status, reason)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        json.dumps({"msg": "{}", "nonce": "n"}).encode(),
        json.dumps({"msg": 1, "signature": "s", "nonce": "n", "time": 1, "id": "i"}).encode(),
    ],
)
def test_a_malformed_wrapper_is_a_400(body: bytes) -> None:
    with pytest.raises(PushRefused) as refused:
        parse_push(body)
    assert (refused.value.status, refused.value.reason) == (400, "malformed")


KEY = "0123456789abcdef"  # a safe-mode instance's key: 16 characters


def test_safe_mode_is_aes_128_cbc_with_the_key_as_its_iv_as_openssl_makes_it() -> None:
    text = json.dumps(property_message("PRD", "D-1", {"smoke_obscuration_pct_m": 0.4}, MS), separators=(",", ":"))
    made = subprocess.run(
        ["openssl", "enc", "-aes-128-cbc", "-K", KEY.encode().hex(), "-iv", KEY.encode().hex(), "-a", "-A"],
        input=text.encode(), capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    assert encrypt(text, KEY) == made
    assert decrypt(made, KEY) == text


def test_a_safe_mode_push_is_signed_over_its_ciphertext_and_read_with_the_key() -> None:
    message = event_message("PRD", "D-1", "fire_alarm", MS)
    push = parse_push(push_body("tok", message, MS, "id-2", aes_key=KEY))
    assert signed("tok", push.nonce, push.msg, push.signature)
    assert not push.msg.startswith("{")  # not the message in clear
    assert read_message(push, KEY) == message
    with pytest.raises(PushRefused) as wrong_key:
        read_message(push, "fedcba9876543210")
    assert (wrong_key.value.status, wrong_key.value.reason) == (400, "undecryptable")
    plain = parse_push(push_body("tok", message, MS, "id-3"))
    with pytest.raises(PushRefused) as in_clear:  # an instance in plain mode while the gateway expects safe
        read_message(plain, KEY)
    assert (in_clear.value.status, in_clear.value.reason) == (400, "undecryptable")
