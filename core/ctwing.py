"""China Telecom CTWing (AEP) HTTP subscription pushes read as Firewarden's wire contract.

What a push is: a JSON object POSTed to the subscription's URL, one message each, with ``messageType``,
``productId``, ``deviceId`` (the platform's device id), ``timestamp`` (epoch ms) and, by type:

- ``deviceOnlineOfflineReport``: ``eventType`` 1 online, 0 offline;
- ``dataReport``: ``payload``, the thing model's properties as name → value (a product in "profile"
  mode); a transparent product's ``payload.APPdata`` (the device's own bytes, Base64) is not read;
- ``eventReport``: ``eventContent``, name → value, with ``eventType`` (1 information, 2 alarm, 3 fault).

Sources: CTWing's documentation was not reachable from here. The format above is what public
integrations' code and their recorded sample pushes show (Java and Python receivers of AEP
subscription pushes on GitHub: their message-type constants, DTOs and logged bodies). What those
sources do not show is a signature: a push is authenticated by a secret in its URL
(``/ingest/ctwing/<token>``, ``FIREWARDEN_CTWING_TOKEN``), which the platform's subscription is given;
use HTTPS. ``commandResponse`` and ``dataReportTupUnion`` pushes are not covered (refused as
``unknown_message``), nor transparent ``APPdata``.

How it maps, as for OneNET (:mod:`core.onenet`): the device is the registry's whose ``platform_id`` is
``ctwing:<productId>/<deviceId>``; a property named as one of its type's metrics is a reading,
``battery_pct`` (when its type does not measure it) and ``rssi_dbm`` are its status; an event field named
as one of its type's event kinds is that event; an online/offline report is its status. Anything else is
refused. ``seq`` is the push's millisecond times 8 plus 0 (reading), 1 (status), 2-7 (events): a push
sent again makes the same ones, stored once.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from core.domain import DEVICE_TYPES
from core.onenet import (
    PushRefused,
    Target,
    event_messages,
    json_object,
    property_messages,
    refuse_unknown_properties,
    stamp,
)

MESSAGE_TYPES = ("dataReport", "eventReport", "deviceOnlineOfflineReport")


def parse_push(body: bytes) -> dict[str, Any]:
    """The push as a JSON object. Raises :class:`PushRefused` (400) naming what is wrong."""
    message = json_object(body, "the body")
    at = message.get("timestamp")
    if not isinstance(at, int) or isinstance(at, bool) or at <= 0:
        raise PushRefused(400, "malformed", f"timestamp must be epoch milliseconds, got {at!r}")
    return message


def platform_id(message: dict[str, Any]) -> str:
    """The registry's ``platform_id`` of the device a push is about. Raises :class:`PushRefused`."""
    product, device = message.get("productId"), message.get("deviceId")
    if isinstance(product, int) and not isinstance(product, bool):
        product = str(product)
    if not isinstance(product, str) or not isinstance(device, str) or not product or not device:
        raise PushRefused(400, "malformed", "the push lacks productId or deviceId")
    return f"ctwing:{product}/{device}"


def translate(message: dict[str, Any], target: Target) -> list[tuple[str, dict[str, Any]]]:
    """The wire messages (channel, JSON payload) one push makes. Raises :class:`PushRefused`: 422 for
    a message type or a name the device's type does not know, 400 for a malformed one."""
    kind, at = message.get("messageType"), message["timestamp"]
    spec = DEVICE_TYPES[target.type]
    if kind == "deviceOnlineOfflineReport":
        event_type = message.get("eventType")
        state = {1: "online", 0: "offline"}.get(event_type) if isinstance(event_type, int) else None
        if state is None:
            raise PushRefused(422, "unknown_state", f"eventType must be 1 (online) or 0 (offline), got "
                              f"{message.get('eventType')!r}")  # fmt: skip
        return [("status", {**stamp(at, 1), "state": state, "detail": "ctwing online/offline report"})]
    if kind == "dataReport":
        payload = message.get("payload")
        if not isinstance(payload, dict) or not payload:
            raise PushRefused(400, "malformed", "a dataReport's payload must map property names to values")
        if "APPdata" in payload:
            raise PushRefused(422, "transparent", "a transparent product's APPdata is the device's own bytes: "
                              "give the product a thing model (profile mode)")  # fmt: skip
        return _properties(payload, spec.metrics, target, at)
    if kind == "eventReport":
        content = message.get("eventContent")
        if not isinstance(content, dict) or not content:
            raise PushRefused(400, "malformed", "an eventReport's eventContent must map event names to values")
        return _events(content, spec.event_kinds, target, at)
    raise PushRefused(
        422, "unknown_message", f"messageType {kind!r} is not covered; covered: {', '.join(MESSAGE_TYPES)}"
    )


def _properties(
    payload: dict[str, Any], metrics: frozenset[str], target: Target, at: int
) -> list[tuple[str, dict[str, Any]]]:
    refuse_unknown_properties(payload, metrics, target)
    bad = sorted(k for k, v in payload.items() if not isinstance(v, Real) or isinstance(v, bool))
    if bad:
        raise PushRefused(400, "malformed", f"property {', '.join(bad)} is not a number")
    return property_messages(payload, at, metrics)


def _events(
    content: dict[str, Any], kinds: frozenset[str], target: Target, at: int
) -> list[tuple[str, dict[str, Any]]]:
    return event_messages({name: (value, at) for name, value in content.items()}, kinds, target)
