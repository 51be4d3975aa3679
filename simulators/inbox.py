"""A webhook inbox: a real HTTP server that receives alerts the way an inspector's system would.

For tests, the demo and the latency benchmark. It checks each request's HMAC signature, remembers
every request (time, headers, body), counts deliveries once per idempotency key, and can be told to
fail first (a status, a Retry-After, a slow answer) to exercise the sender's retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Received:
    at: float
    """``time.time()`` when the request was read."""
    path: str
    key: str
    signed: bool
    body: dict[str, object]
    status: int


class Inbox:
    """Listens on ``host``:``port`` (0: a free one) in a thread; :attr:`url` is its base address."""

    def __init__(
        self, secret: bytes, port: int = 0, script: list[Reply] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.secret = secret
        self.script = list(script or [])
        self.requests: list[Received] = []
        self.delivered: dict[str, Received] = {}
        """Idempotency key → the first request answered 2xx: what the receiver acted on."""
        self.on_delivery: Callable[[Received], None] | None = None
        self.on_request: Callable[[Received], None] | None = None
        """Called with every request, answered or not, repeats included."""
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                with inbox._lock:
                    reply = inbox.script.pop(0) if inbox.script else Reply()
                signed = inbox.verify(self.headers.get("X-Firewarden-Timestamp", ""), body,
                                      self.headers.get("X-Firewarden-Signature", ""))  # fmt: skip
                status = reply.status if signed else 401
                received = Received(now, self.path, self.headers.get("Idempotency-Key", ""), signed,
                                    json.loads(body or b"{}"), status)  # fmt: skip
                with inbox._lock:
                    inbox.requests.append(received)
                    first = 200 <= status < 300 and received.key not in inbox.delivered
                    if first:
                        inbox.delivered[received.key] = received
                if inbox.on_request is not None:
                    inbox.on_request(received)
                if first and inbox.on_delivery is not None:
                    inbox.on_delivery(received)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a timeout being tested)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-inbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def verify(self, timestamp: str, body: bytes, signature: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def __enter__(self) -> Inbox:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
