"""China Mobile OneNET's HTTP push (OneNET Studio, plain and safe mode) read as Firewarden's wire contract.

What a push is, from OneNET's documentation (open.iot.10086.cn, "数据推送", and its rule engine's
message formats):

- the platform first checks the URL with ``GET ?msg=…&nonce=…&signature=…`` and expects ``msg`` back;
- then it POSTs a JSON body ``{"msg": "<a JSON text>", "signature", "nonce", "time" (ms), "id"}``,
  ``signature`` = Base64(MD5(token + nonce + msg)) with the push instance's token, and sends again
  (the same ``id``) until it gets HTTP 200;
- in safe mode (安全模式, "AES, a key of 16 characters the platform generates") ``msg`` is that JSON
  text encrypted: Base64 of AES-128-CBC with PKCS#7 padding, the key's 16 characters as both key and
  initialisation vector, as OneNET's own receiver sample decrypts it (its ``Util.decryptMsg``, 2020);
  the signature is over ``msg`` as sent, as in plain mode;
- ``msg`` says ``productId``, ``deviceName`` and a ``messageType``: ``lifeCycle`` (``data.status``
  ``online``/``offline``, ``data.time``) or ``notify`` with ``notifyType`` ``property`` or ``event``
  (``data.params``: identifier → ``{"value", "time"}``).

How it maps: the device is the registry's whose ``platform_id`` is ``onenet:<productId>/<deviceName>``;
a property named as one of the device type's metrics is a reading, ``battery_pct`` (when its type
does not measure it) and ``rssi_dbm`` are its status; an event named as one of its type's event
kinds is that event; a lifeCycle is its status. Anything else is refused (an unknown name is a
mistake in the product's thing model, not data to drop in silence).

Safe mode was checked against OneNET's page and sample only, not against a live platform. Not covered:
OneNET's older multi-protocol push (``msg_signature``, ``enc_msg``, data streams named by LwM2M
resource). CTWing's push is :mod:`core.ctwing`'s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.domain import DEVICE_TYPES

STATUS_FIELDS = frozenset({"battery_pct", "rssi_dbm"})
MAX_EVENTS = 6
"""Events one push may carry (each takes a ``seq`` of its own below the next millisecond's)."""


class PushRefused(Exception):
    """A push that is not handed on: ``status`` is the HTTP answer, ``reason`` the dead letter's."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Push:
    msg: str
    nonce: str
    signature: str
    time_ms: int
    id: str


@dataclass(frozen=True, slots=True)
class Target:
    """The registry device a platform name stands for."""

    device_id: str
    premises_id: str
    type: str


def signature(token: str, nonce: str, msg: str) -> str:
    """Base64 of MD5 over token + nonce + msg: OneNET's signature of a push and of its URL check."""
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode()).digest()).decode()


def signed(token: str, nonce: str, msg: str, given: str) -> bool:
    return hmac.compare_digest(signature(token, nonce, msg), given)


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """``text`` read as a JSON object. Raises :class:`PushRefused` (400 ``malformed``) saying ``what`` is
    not one. Shared by OneNET's and CTWing's pushes."""
    try:
        found = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PushRefused(400, "malformed", f"{what} is not JSON: {error}") from None
    if not isinstance(found, dict):
        raise PushRefused(400, "malformed", f"{what} is not a JSON object")
    return found


def parse_push(body: bytes) -> Push:
    """The push's wrapper. Raises :class:`PushRefused` (400) naming what is wrong."""
    wrapper = json_object(body, "the body")
    missing = [k for k in ("msg", "signature", "nonce", "time", "id") if k not in wrapper]
    if missing:
        raise PushRefused(400, "malformed", f"the body lacks {', '.join(missing)}")
    msg, nonce, sig, at, ident = (wrapper[k] for k in ("msg", "nonce", "signature", "time", "id"))
    if not all(isinstance(v, str) for v in (msg, nonce, sig)) or not isinstance(at, int) or isinstance(at, bool):
        raise PushRefused(400, "malformed", "msg, signature and nonce must be strings and time an integer (ms)")
    return Push(msg, nonce, sig, at, str(ident))


def platform_id(message: dict[str, Any]) -> str:
    """The registry's ``platform_id`` of the device a message is about. Raises :class:`PushRefused`."""
    product, name = message.get("productId"), message.get("deviceName")
    if not isinstance(product, str) or not isinstance(name, str) or not product or not name:
        raise PushRefused(400, "malformed", "msg lacks productId or deviceName")
    return f"onenet:{product}/{name}"


AES_KEY_CHARS = 16
"""A safe-mode push instance's key: 16 characters, used as they are (AES-128)."""


def _cipher(key: str) -> Cipher[modes.CBC]:
    raw = key.encode()
    if len(raw) != AES_KEY_CHARS:
        raise ValueError(f"a OneNET safe-mode key is {AES_KEY_CHARS} characters, got {len(raw)} bytes")
    return Cipher(algorithms.AES(raw), modes.CBC(raw))


def encrypt(text: str, key: str) -> str:
    """``text`` as a safe-mode push carries it (what the platform does; for its stand-in and tests)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode()) + padder.finalize()
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(msg: str, key: str) -> str:
    """A safe-mode push's ``msg`` in clear. Raises :class:`PushRefused` (400 ``undecryptable``)."""
    try:
        sealed = base64.b64decode(msg, validate=True)
        decryptor = _cipher(key).decryptor()
        padded = decryptor.update(sealed) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except ValueError as error:  # not Base64, not whole blocks, bad padding, not UTF-8
        raise PushRefused(
            400, "undecryptable", f"msg does not decrypt with onenet_aes_key (is the instance in safe mode?): {error}"
        ) from None


def read_message(push: Push, aes_key: str | None = None) -> dict[str, Any]:
    """The push's message, decrypted first when the instance is in safe mode (``aes_key`` set)."""
    return json_object(push.msg if aes_key is None else decrypt(push.msg, aes_key), "msg")


def _ts(ms: object) -> str:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
        raise PushRefused(400, "malformed", f"a time must be epoch milliseconds, got {ms!r}")
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def translate(message: dict[str, Any], target: Target) -> list[tuple[str, dict[str, Any]]]:
    """The wire messages (channel, JSON payload) one OneNET message makes. ``seq`` is the message's
    millisecond times 8, plus 0 for its reading, 1 for its status and 2-7 for its events: the same push
    sent again makes the same ones (stored once). Raises :class:`PushRefused` (422) for a message whose
    names the device's type does not know."""
    kind = message.get("messageType")
    data = message.get("data")
    if not isinstance(data, dict):
        raise PushRefused(400, "malformed", "msg lacks its data object")
    if kind == "lifeCycle":
        state = data.get("status")
        if state not in ("online", "offline"):
            raise PushRefused(422, "unknown_state", f"a lifeCycle status must be online or offline, got {state!r}")
        at = data.get("time")
        return [("status", {**stamp(at, 1), "state": state, "detail": "onenet lifeCycle"})]
    if kind != "notify" or message.get("notifyType") not in ("property", "event"):
        raise PushRefused(
            422, "unknown_message", f"messageType {kind!r} / notifyType {message.get('notifyType')!r} is not covered"
        )
    params = data.get("params")
    if not isinstance(params, dict) or not params or not all(isinstance(v, dict) for v in params.values()):
        raise PushRefused(400, "malformed", "data.params must map each identifier to {value, time}")
    spec = DEVICE_TYPES[target.type]
    if message["notifyType"] == "property":
        return _properties(params, spec.metrics, target)
    return _events(params, spec.event_kinds, target)


def _properties(params: dict[str, Any], metrics: frozenset[str], target: Target) -> list[tuple[str, dict[str, Any]]]:
    refuse_unknown_properties(params, metrics, target)
    at = max(p.get("time", 0) for p in params.values())
    return property_messages({k: p.get("value") for k, p in params.items()}, at, metrics)


def _events(params: dict[str, Any], kinds: frozenset[str], target: Target) -> list[tuple[str, dict[str, Any]]]:
    return event_messages({name: (p.get("value"), p.get("time")) for name, p in params.items()}, kinds, target)


def refuse_unknown_properties(names: dict[str, Any], metrics: frozenset[str], target: Target) -> None:
    """Raises :class:`PushRefused` (422) for a property that is neither a metric of the device's type nor
    a status field."""
    unknown = sorted(set(names) - metrics - STATUS_FIELDS)
    if unknown:
        raise PushRefused(422, "unknown_property", f"a {target.type} has no property {', '.join(unknown)}")


def property_messages(values: dict[str, Any], at: object, metrics: frozenset[str]) -> list[tuple[str, dict[str, Any]]]:
    """A platform's properties (name → value, all at ``at``, epoch ms) as the wire's messages: the
    metrics as a reading, ``battery_pct`` and ``rssi_dbm`` (when not metrics of the type) as a status.
    Shared by OneNET's and CTWing's pushes (:mod:`core.ctwing`)."""
    out: list[tuple[str, dict[str, Any]]] = []
    readings = {k: v for k, v in values.items() if k in metrics}
    if readings:
        out.append(("telemetry", {**stamp(at, 0), "metrics": readings}))
    status = {k: v for k, v in values.items() if k in STATUS_FIELDS - metrics}
    if status:
        out.append(("status", {**stamp(at, 1), "state": "online", **status}))
    return out


def event_messages(
    content: dict[str, tuple[object, object]], kinds: frozenset[str], target: Target
) -> list[tuple[str, dict[str, Any]]]:
    """A platform's events (name → (value, time in epoch ms)) as the wire's event messages, in name
    order, each its own ``seq``. Raises :class:`PushRefused` (422) for a kind the device's type does not
    emit or too many of them. Shared by OneNET's and CTWing's pushes."""
    unknown = sorted(set(content) - kinds)
    if unknown:
        raise PushRefused(422, "unknown_event", f"a {target.type} emits no event {', '.join(unknown)}")
    if len(content) > MAX_EVENTS:
        raise PushRefused(422, "too_many_events", f"{len(content)} events in one push; at most {MAX_EVENTS}")
    out: list[tuple[str, dict[str, Any]]] = []
    for n, (name, (value, at)) in enumerate(sorted(content.items())):
        event: dict[str, Any] = {**stamp(at, 2 + n), "kind": name}
        if value not in (None, {}, ""):
            event["detail"] = json.dumps(value, ensure_ascii=False)[:1024]
        out.append(("event", event))
    return out


def stamp(ms: object, code: int) -> dict[str, Any]:
    """A wire message's ``seq`` and ``ts`` from a message's time in epoch milliseconds (see :func:`translate`)."""
    ts = _ts(ms)
    assert isinstance(ms, int)
    return {"seq": ms * 8 + code, "ts": ts}
