"""A stand-in for China Mobile OneNET's HTTP push (OneNET Studio, plain or safe mode): messages of
NB-IoT devices wrapped (encrypted with the instance's AES key in safe mode), signed with the push
instance's token and POSTed as the platform does, sent again (with the same id) until the receiver
answers 200. For tests and testers; the format is :mod:`core.onenet`'s."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field

import httpx

from core.onenet import encrypt, signature


def property_message(product: str, device: str, values: dict[str, float], at_ms: int) -> dict[str, object]:
    """A thing-model property report: each value stamped ``at_ms``."""
    params: dict[str, object] = {name: {"value": value, "time": at_ms} for name, value in values.items()}
    return _notify(product, device, "property", params, at_ms)


def event_message(product: str, device: str, kind: str, at_ms: int, value: object = None) -> dict[str, object]:
    """A thing-model event report (``fire_alarm``, ``fault``...)."""
    params: dict[str, object] = {
        kind: {"value": value if value is not None else {}, "time": at_ms, "eventType": "alert"}
    }
    return _notify(product, device, "event", params, at_ms)


def life_cycle_message(product: str, device: str, online: bool, at_ms: int) -> dict[str, object]:
    return {"productId": product, "deviceName": device, "deviceId": 0, "messageType": "lifeCycle",
            "data": {"status": "online" if online else "offline", "time": at_ms}}  # fmt: skip


def _notify(product: str, device: str, kind: str, params: dict[str, object], at_ms: int) -> dict[str, object]:
    return {"productId": product, "deviceName": device, "deviceId": 0, "messageType": "notify",
            "notifyType": kind, "data": {"id": str(at_ms), "version": "1.0", "params": params}}  # fmt: skip


def push_body(
    token: str,
    message: dict[str, object],
    at_ms: int | None = None,
    ident: str | None = None,
    aes_key: str | None = None,
) -> bytes:
    """The body OneNET POSTs for ``message``: msg (the message as JSON text, encrypted with ``aes_key`` in
    safe mode), signature (over msg as sent), nonce, time, id."""
    msg = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    if aes_key is not None:
        msg = encrypt(msg, aes_key)
    nonce = secrets.token_urlsafe(6)[:8]
    body = {
        "msg": msg,
        "signature": signature(token, nonce, msg),
        "nonce": nonce,
        "time": at_ms if at_ms is not None else int(time.time() * 1000),
        "id": ident or secrets.token_hex(16),
    }
    return json.dumps(body, ensure_ascii=False).encode()


@dataclass
class OneNetPlatform:
    """Pushes to ``url`` (``…/ingest/onenet``) as OneNET does: the same body again until 200, at most
    ``attempts`` times, ``wait_s`` apart."""

    url: str
    token: str
    aes_key: str | None = None
    """The instance's key in safe mode; None: plain mode."""
    attempts: int = 5
    wait_s: float = 0.5
    answers: list[int] = field(default_factory=list)
    """Every answer's HTTP status, in order."""

    def push(self, message: dict[str, object], at_ms: int | None = None) -> int:
        """Push one message; the last answer's status."""
        body = push_body(self.token, message, at_ms, aes_key=self.aes_key)
        return post_until_taken(self.url, body, self.attempts, self.wait_s, self.answers)


def post_until_taken(url: str, body: bytes, attempts: int, wait_s: float, answers: list[int]) -> int:
    """POST ``body`` as a platform does: again (the same bytes) until answered 200 or refused for good
    (4xx), at most ``attempts`` times, ``wait_s`` apart; each answer's status appended to ``answers``
    (0: no answer). The last answer's status."""
    status = 0
    for attempt in range(attempts):
        try:
            status = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=10).status_code
        except httpx.HTTPError:
            status = 0
        answers.append(status)
        if status == 200 or 400 <= status < 500:
            return status  # taken, or refused for good
        if attempt + 1 < attempts:
            time.sleep(wait_s)
    return status
