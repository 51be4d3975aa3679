"""Delivery channels at the system's edge: webhooks over HTTP and e-mail over SMTP.

A channel sends one delivery once and says how it went (:class:`Result`); it never retries by
itself. Retrying, backoff and dead letters are the dispatcher's, kept in the outbox table so they
survive a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

import httpx

Verdict = Literal["delivered", "retry", "dead"]

SIGNATURE_HEADER = "X-Firewarden-Signature"
TIMESTAMP_HEADER = "X-Firewarden-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Result:
    verdict: Verdict
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    """The receiver's own wait (a 429's Retry-After); None: the dispatcher's backoff decides."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    idempotency_key: str
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int


class Channel(Protocol):
    async def send(self, delivery: Delivery) -> Result: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>``: what a receiver recomputes to verify."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def failure(exc: BaseException) -> str:
    """What went wrong, down to its first cause: httpx's "ConnectError: All connection attempts failed"
    alone does not tell a refused connection from a full file table."""
    text = f"{type(exc).__name__}: {exc}"
    cause, seen = exc.__cause__ or exc.__context__, {id(exc)}
    while cause is not None and (cause.__cause__ or cause.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if cause is not None and str(cause) != str(exc):
        text += f" ({type(cause).__name__}: {cause})"
    return text


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class WebhookChannel:
    """POSTs the payload as JSON, signed; 2xx delivers, 5xx/408/429/timeouts retry, other 4xx are dead."""

    def __init__(self, secret: bytes, timeout_s: float) -> None:
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def send(self, delivery: Delivery) -> Result:
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(datetime.now(UTC).timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            "User-Agent": "firewarden-alerts",
        }
        try:
            response = await self.client.post(delivery.address, content=body, headers=headers)
        except httpx.TimeoutException:
            return Result("retry", error="timed out")
        except httpx.HTTPError as exc:  # connection refused, reset, DNS: the receiver may come back
            return Result("retry", error=failure(exc))
        code = response.status_code
        if 200 <= code < 300:
            return Result("delivered", code)
        reason = f"HTTP {code} {response.reason_phrase}".strip()
        if code == 429:
            after = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
            return Result("retry", code, reason, after)
        if code >= 500 or code == 408:
            return Result("retry", code, reason)
        return Result("dead", code, reason)  # the receiver refuses this request as it is: retrying cannot help

    async def close(self) -> None:
        await self.client.aclose()


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class EmailChannel:
    """One message per delivery over SMTP (stdlib ``smtplib``, in a thread).

    4xx replies and lost connections retry; 5xx replies (no such mailbox, refused) are dead.
    """

    def __init__(self, server: SmtpServer, sender: str, timeout_s: float) -> None:
        self.server = server
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, delivery: Delivery) -> Result:
        return await asyncio.to_thread(self._send, delivery)

    def _send(self, delivery: Delivery) -> Result:
        message = compose(self.sender, delivery)
        try:
            smtp: smtplib.SMTP
            if self.server.tls:
                smtp = smtplib.SMTP_SSL(
                    self.server.host, self.server.port, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.server.host, self.server.port, timeout=self.timeout_s)
            with smtp:
                if self.server.username and self.server.password:
                    smtp.login(self.server.username, self.server.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            verdict: Verdict = "retry" if all(400 <= c < 500 for c in codes) else "dead"
            return Result(verdict, codes[0] if codes else None, f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            verdict = "retry" if 400 <= exc.smtp_code < 500 else "dead"
            return Result(verdict, exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
        except (OSError, smtplib.SMTPException) as exc:
            return Result("retry", error=f"{type(exc).__name__}: {exc}")
        return Result("delivered", 250)


def compose(sender: str, delivery: Delivery) -> EmailMessage:
    payload = delivery.payload
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.address
    message["Subject"] = f"[Firewarden] {subject_of(payload)}"
    message["Message-ID"] = f"<{delivery.idempotency_key.replace('/', '.')}@firewarden>"
    message.set_content(json.dumps(payload, ensure_ascii=False, indent=2))
    return message


def subject_of(payload: dict[str, Any]) -> str:
    """One line for a person: what happened, where."""
    event = str(payload.get("event", "alert"))
    premises = payload.get("premises", {})
    where = f"{premises.get('name', '')} ({premises.get('id', '')})"
    if "incident" in payload:
        return f"{event}: {payload['incident']['title']} - {where}"
    if "hazard" in payload:
        return f"{event}: {payload['hazard']['title']} - {where}"
    if "tier" in payload:
        return f"{event}: tier {payload['tier']} - {where}"
    if "notice" in payload:
        return f"{event}: tier {payload['notice']['tier']} - {where}"
    return f"{event} - {where}"
