"""A stand-in for China Telecom CTWing's subscription push: messages of NB-IoT devices POSTed, one per
request, to the subscription's URL (``…/ingest/ctwing/<token>``) and sent again until the receiver
answers 200. For tests and testers; the format is :mod:`core.ctwing`'s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from simulators.onenet import post_until_taken


def _base(product: str, device: str, kind: str, at_ms: int) -> dict[str, object]:
    return {"timestamp": at_ms, "tenantId": "10000000", "protocol": "lwm2m", "productId": product,
            "deviceId": device, "messageType": kind, "IMEI": "", "IMSI": ""}  # fmt: skip


def data_report(product: str, device: str, values: dict[str, float], at_ms: int) -> dict[str, object]:
    """A profile-mode data report: the thing model's properties, name → value."""
    return {**_base(product, device, "dataReport", at_ms), "upPacketSN": -1, "upDataSN": -1, "topic": "v1/up/ad",
            "serviceId": "", "payload": dict(values)}  # fmt: skip


def event_report(product: str, device: str, kind: str, at_ms: int, value: object = 1) -> dict[str, object]:
    """An event report (``fire_alarm``, ``fault``...), ``eventType`` 2 (alarm)."""
    return {**_base(product, device, "eventReport", at_ms), "serviceId": "", "eventType": 2,
            "eventContent": {kind: value}}  # fmt: skip


def online_report(product: str, device: str, online: bool, at_ms: int) -> dict[str, object]:
    return {**_base(product, device, "deviceOnlineOfflineReport", at_ms), "eventType": 1 if online else 0}


@dataclass
class CtwingPlatform:
    """Pushes to ``url`` (``…/ingest/ctwing/<token>``) as CTWing does: the same body again until 200, at
    most ``attempts`` times, ``wait_s`` apart."""

    url: str
    attempts: int = 5
    wait_s: float = 0.5
    answers: list[int] = field(default_factory=list)
    """Every answer's HTTP status, in order."""

    def push(self, message: dict[str, object]) -> int:
        """Push one message; the last answer's status."""
        body = json.dumps(message, ensure_ascii=False).encode()
        return post_until_taken(self.url, body, self.attempts, self.wait_s, self.answers)
