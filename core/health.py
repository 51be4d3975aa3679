"""A health endpoint for every Firewarden process, and its metrics.

:class:`Health` serves, on ``metrics_port`` (``0`` turns it off), from a daemon thread:

| path | answers |
|---|---|
| ``/healthz`` | 200 while the process's event loop beats (once a second); 503 when it has not for 15 s |
| ``/readyz`` | 200 once the process does its work: ingest subscribed, scoring with partitions, alerts |
| | consuming, console serving |
| ``/metrics`` | Prometheus text: the process's own metrics and its CPU, memory and file descriptors |

Kubernetes probes and Prometheus scrape the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.errors import ServiceError

log = logging.getLogger(__name__)

STALE_S = 15.0


class Health:
    def __init__(self, name: str, registry: CollectorRegistry | None = None) -> None:
        self.name = name
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.ready: Callable[[], bool] = lambda: False
        """Whether the process does its work now; set by the process once its parts exist."""
        self.detail: Callable[[], dict[str, object]] = dict
        self._beat = time.monotonic()
        self._server: ThreadingHTTPServer | None = None

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Answer on ``host:port`` from a daemon thread (nothing when ``port`` is 0). Raises ServiceError
        when the port is taken."""
        if not port:
            return
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(health.registry), CONTENT_TYPE_LATEST)
                elif self.path in ("/healthz", "/readyz"):
                    alive = time.monotonic() - health._beat < STALE_S
                    ready = alive and health.ready()
                    ok = ready or (alive and self.path == "/healthz")
                    body = {"process": health.name, "alive": alive, "ready": ready, **health.detail()}
                    self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")
                else:
                    self._send(404, b"not found: /healthz, /readyz or /metrics\n", "text/plain")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # probes every few seconds are not news

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as error:
            raise ServiceError(
                f"cannot serve health and metrics on {host}:{port}: {error.strerror}; "
                "set FIREWARDEN_METRICS_PORT to a free port, or 0 to turn them off"
            ) from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=f"{self.name}-health", daemon=True).start()
        log.info("health and metrics at http://%s:%d/ (healthz, readyz, metrics)", host, port)

    @contextlib.asynccontextmanager
    async def serving(self, port: int, stop: asyncio.Event) -> AsyncIterator[Health]:
        """Serve on ``port`` and beat until ``stop``; on the way out ``stop`` is set, the last beat
        awaited and the endpoint closed."""
        self.serve(port)
        beat = asyncio.create_task(self.beat(stop))
        try:
            yield self
        finally:
            stop.set()
            await beat
            self.close()

    async def beat(self, stop: asyncio.Event) -> None:
        """Beat once a second until ``stop``: ``/healthz`` fails when the event loop is stuck."""
        while not stop.is_set():
            self.touch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def touch(self) -> None:
        """One beat, for a loop that has its own timer (the faust worker's)."""
        self._beat = time.monotonic()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
