"""``firewarden gateway nbiot``: NB-IoT devices as their carrier's IoT platform pushes them.

``POST /ingest/ctwing/<token>`` takes China Telecom CTWing's subscription push the same way
(:mod:`core.ctwing`): the URL's token is its proof (401 otherwise), dead letters on
``http:/ingest/ctwing``; with no ``id`` in a CTWing push, a push sent again is published again and
stored once by its ``seq``.

``POST /ingest/onenet`` takes China Mobile OneNET's HTTP push (:mod:`core.onenet`): the signature
is checked with the push instance's token, a push stamped outside ``onenet_max_age_s`` of the
gateway's clock is refused as a replay, the device is the registry's by its ``platform_id``, and the
push becomes wire-contract messages published QoS 1 on the device's topics. **The answer is 200 only
once the broker has acknowledged every one of them**: a push answered otherwise is sent again by the
platform, and the same push makes the same ``seq``s, so ingest stores it once. A push whose ``id``
was already handed on is answered 200 and not published again.

A push that cannot be handed on is a 4xx and a dead letter (table ``dead_letters``, topic
``http:/ingest/onenet``, the body kept): a malformed body (400), a forged signature (401), an unknown
device (404), a stale or replayed stamp (409), a name the device's type does not know (422). With no
broker, the answer is 503 and nothing is kept: the platform sends again.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter

from core import ctwing
from core.errors import DatabaseError
from core.onenet import PushRefused, Target, parse_push, platform_id, read_message, signed, translate
from core.wire import DecodeError, decode, topic_for
from gateway.broker import BrokerClient
from gateway.store import keep_dead_letter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
ACK_TIMEOUT_S = 10.0
DEAD_LETTER_TOPIC = "http:/ingest/onenet"
CTWING_DEAD_LETTER_TOPIC = "http:/ingest/ctwing"


class Publisher(BrokerClient):
    """The NB-IoT gateway's MQTT client."""

    lost_message = "NB-IoT gateway lost the MQTT broker at %s (%s); pushes are answered 503 until it is back"

    def publish_all(self, messages: list[tuple[str, bytes]]) -> bool:
        """Publish each (topic, payload) QoS 1 and wait for the broker's acknowledgement of every one;
        False when the broker is away or does not acknowledge within :data:`ACK_TIMEOUT_S`."""
        if not self.connected.is_set():
            return False
        sent = [self.client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + ACK_TIMEOUT_S
        for info in sent:
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                return False
            if not info.is_published():
                return False
        return True


class Pushes:
    """What the gateway answers each push, and what it keeps of it."""

    def __init__(
        self,
        token: str | None,
        max_age_s: float,
        targets: Mapping[str, Target],
        publisher: Publisher,
        database_url: str,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
        ctwing_token: str | None = None,
        ctwing_max_age_s: float = 300.0,
        onenet_aes_key: str | None = None,
    ) -> None:
        self.token = token
        self.aes_key = onenet_aes_key
        """Set when the OneNET push instance is in safe mode: each push's msg is decrypted with it."""
        self.max_age_s = max_age_s
        self.ctwing_token = ctwing_token
        self.ctwing_max_age_s = ctwing_max_age_s
        self.targets = targets
        self.publisher = publisher
        self.database_url = database_url
        self.clock = clock
        self.outcomes = Counter(
            "firewarden_nbiot_pushes", "Platform pushes by outcome", ["platform", "outcome"], registry=registry
        )
        self._handed_on: OrderedDict[str, float] = OrderedDict()
        """Push ids answered 200 within the replay window, oldest first."""

    def verify_url(self, msg: str, nonce: str, signature: str) -> Response:
        """OneNET's URL check: ``msg`` back when the signature is the token's."""
        if self.token is None:
            return PlainTextResponse("no onenet_token is set", status_code=503)
        if not signed(self.token, nonce, msg, signature):
            self.outcomes.labels("onenet", "url_check_refused").inc()
            return PlainTextResponse("the signature is not the token's", status_code=401)
        return PlainTextResponse(msg)

    async def take(self, body: bytes) -> Response:
        if self.token is None:
            return JSONResponse({"error": "no onenet_token is set: pushes are not taken"}, status_code=503)
        try:
            return await self._take(body, self.token)
        except PushRefused as refused:
            return await self._refuse("onenet", body, refused, DEAD_LETTER_TOPIC)

    async def _take(self, body: bytes, token: str) -> Response:
        _refuse_oversize(body)
        push = parse_push(body)
        if not signed(token, push.nonce, push.msg, push.signature):
            raise PushRefused(401, "forged", "the signature is not the token's over nonce and msg")
        now = self.clock()
        _refuse_stale(now - push.time_ms / 1000, self.max_age_s)
        self._forget(now)
        if push.id in self._handed_on:
            self.outcomes.labels("onenet", "again").inc()
            return JSONResponse({"id": push.id, "handed_on": 0, "again": True})
        message = read_message(push, self.aes_key)
        target = self._target(platform_id(message))
        wire = self._wire(translate(message, target), target)
        if not await self._hand_on("onenet", wire):
            return _broker_away()
        self._handed_on[push.id] = push.time_ms / 1000
        return JSONResponse({"id": push.id, "handed_on": len(wire), "again": False})

    async def take_ctwing(self, body: bytes, token: str) -> Response:
        """A CTWing push to ``/ingest/ctwing/<token>``: the token is its only proof (:mod:`core.ctwing`)."""
        if self.ctwing_token is None:
            return JSONResponse({"error": "no ctwing_token is set: pushes are not taken"}, status_code=503)
        try:
            if not hmac.compare_digest(token.encode(), self.ctwing_token.encode()):
                raise PushRefused(401, "forged", "the URL's token is not the gateway's")
            return await self._take_ctwing(body)
        except PushRefused as refused:
            return await self._refuse("ctwing", body, refused, CTWING_DEAD_LETTER_TOPIC)

    async def _take_ctwing(self, body: bytes) -> Response:
        _refuse_oversize(body)
        message = ctwing.parse_push(body)
        _refuse_stale(self.clock() - message["timestamp"] / 1000, self.ctwing_max_age_s)
        target = self._target(ctwing.platform_id(message))
        wire = self._wire(ctwing.translate(message, target), target)
        if not await self._hand_on("ctwing", wire):
            return _broker_away()
        return JSONResponse({"handed_on": len(wire)})

    def _target(self, name: str) -> Target:
        target = self.targets.get(name)
        if target is None:
            raise PushRefused(404, "unknown_device", f"no registry device has platform_id {name}")
        return target

    async def _hand_on(self, platform: str, wire: list[tuple[str, bytes]]) -> bool:
        """Publish ``wire`` and count the outcome; False when the broker did not acknowledge it all."""
        taken = await asyncio.to_thread(self.publisher.publish_all, wire)
        self.outcomes.labels(platform, "handed_on" if taken else "broker_away").inc()
        return taken

    async def _refuse(self, platform: str, body: bytes, refused: PushRefused, topic: str) -> Response:
        """Count a refused push, log it, keep it as a dead letter on ``topic``, and answer its 4xx."""
        self.outcomes.labels(platform, refused.reason).inc()
        log.warning("%s push refused (%s): %s", platform, refused.reason, refused.detail)
        await asyncio.to_thread(self._dead_letter, body, refused, topic)
        return JSONResponse({"error": refused.detail, "reason": refused.reason}, status_code=refused.status)

    @staticmethod
    def _wire(messages: list[tuple[str, dict[str, Any]]], target: Target) -> list[tuple[str, bytes]]:
        """(topic, payload) of each wire message, each decoded as ingest will (refused here, not there)."""
        wire = []
        for channel, payload in messages:
            topic = topic_for(target.premises_id, target.device_id, channel)
            data = _json(payload)
            try:
                decode(topic, data)
            except DecodeError as error:
                raise PushRefused(422, f"wire_{error.reason}", f"{channel}: {error}") from None
            wire.append((topic, data))
        return wire

    def _forget(self, now: float) -> None:
        while self._handed_on and next(iter(self._handed_on.values())) < now - self.max_age_s:
            self._handed_on.popitem(last=False)

    def _dead_letter(self, body: bytes, refused: PushRefused, topic: str) -> None:
        try:
            keep_dead_letter(self.database_url, topic, body, refused.reason, refused.detail, MAX_BODY_BYTES)
        except DatabaseError as error:
            log.error("%s push refused (%s) and its dead letter not kept: %s", topic, refused.reason, error)


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _broker_away() -> Response:
    return JSONResponse({"error": "the broker did not acknowledge; send again"}, status_code=503)


def _refuse_oversize(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PushRefused(413, "oversize", f"the body is {len(body)} bytes, the limit is {MAX_BODY_BYTES}")


def _refuse_stale(age_s: float, max_age_s: float) -> None:
    """A push stamped ``age_s`` before now (negative: after) beyond ``max_age_s`` is refused as a replay."""
    if abs(age_s) > max_age_s:
        raise PushRefused(409, "stale", f"stamped {age_s:.0f} s from now; at most {max_age_s:.0f} s is taken")


def create_app(pushes: Pushes) -> FastAPI:
    app = FastAPI(title="Firewarden NB-IoT gateway", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/ingest/onenet")
    async def onenet_url_check(msg: str = "", nonce: str = "", signature: str = "") -> Response:
        return pushes.verify_url(msg, nonce, signature)

    @app.post("/ingest/onenet")
    async def onenet_push(request: Request) -> Response:
        return await pushes.take(await request.body())

    @app.post("/ingest/ctwing/{token}")
    async def ctwing_push(token: str, request: Request) -> Response:
        return await pushes.take_ctwing(await request.body(), token)

    return app
