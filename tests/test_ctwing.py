"""CTWing's subscription pushes read as the wire contract (core/ctwing.py): each message type, the seq a
push makes (the same again for the same push), and what is refused, with which reason."""

from __future__ import annotations

import json

import pytest

from core.ctwing import parse_push, platform_id, translate
from core.onenet import PushRefused, Target
from simulators.ctwing import data_report, event_report, online_report

SMOKE = Target("S-1", "P-1", "smoke_alarm")
AT = 1_780_000_000_123


def _read(message: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    pushed = parse_push(json.dumps(message).encode())
    return translate(pushed, SMOKE)


def test_a_data_report_is_a_reading_and_a_status_stamped_by_the_push() -> None:
    values = {"smoke_obscuration_pct_m": 0.4, "rssi_dbm": -80}
    out = _read(data_report("15009999", "dev", values, AT))
    ts = "2026-05-28T20:26:40.123000+00:00"
    assert out == [
        ("telemetry", {"seq": AT * 8, "ts": ts, "metrics": {"smoke_obscuration_pct_m": 0.4}}),
        ("status", {"seq": AT * 8 + 1, "ts": ts, "state": "online", "rssi_dbm": -80}),
    ]
    assert out == _read(data_report("15009999", "dev", values, AT))  # the same push again: the same seqs


def test_online_offline_and_events() -> None:
    assert _read(online_report("p", "d", False, AT))[0][1]["state"] == "offline"
    assert _read(online_report("p", "d", True, AT))[0][1]["state"] == "online"
    ((channel, event),) = _read(event_report("p", "d", "fire_alarm", AT))
    assert channel == "event" and event["kind"] == "fire_alarm" and event["seq"] == AT * 8 + 2


def test_the_platform_name_is_product_and_device() -> None:
    assert platform_id({"productId": 15009999, "deviceId": "abc"}) == "ctwing:15009999/abc"
    with pytest.raises(PushRefused, match="productId or deviceId"):
        platform_id({"productId": "15009999"})


@pytest.mark.parametrize(
    ("message", "status", "reason"),
    [
        ({**data_report("p", "d", {}, AT), "payload": {"APPdata": "UFUA"}}, 422, "transparent"),
        (data_report("p", "d", {"co2_ppm": 1.0}, AT), 422, "unknown_property"),
        ({**data_report("p", "d", {}, AT), "payload": {"temperature_c": "warm"}}, 400, "malformed"),
        (event_report("p", "d", "explosion", AT), 422, "unknown_event"),
        ({**online_report("p", "d", True, AT), "eventType": 7}, 422, "unknown_state"),
        ({**online_report("p", "d", True, AT), "messageType": "commandResponse"}, 422, "unknown_message"),
        ({**online_report("p", "d", True, AT), "timestamp": "yesterday"}, 400, "malformed"),
    ],
)
def test_what_is_refused_says_why(message: dict[str, object], status: int, reason: str) -> None:
    with pytest.raises(PushRefused) as refused:
        _read(message)
    assert (refused.value.status, refused.value.reason) == (status, reason)
