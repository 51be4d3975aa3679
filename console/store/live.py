"""Live updates: PostgreSQL's LISTEN/NOTIFY, fanned out to every open browser as server-sent events.

Migration 0006's triggers notify ``firewarden_changes`` with the table, premises and jurisdiction
of every changed incident, hazard, task and premises schedule, whichever process made the change.
One connection here listens; each browser's stream gets the changes in its user's scope, folded
over ``fold_s`` so that a storm of changes is one message, and the page re-reads what changed
through the API (which checks scope again). A lost database connection is retried every second and
every stream is then told to re-read everything (``resync``), as notifications may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from console.store.accounts import Principal

log = logging.getLogger(__name__)

CHANNEL = "firewarden_changes"


@dataclass(eq=False)
class _Listener:
    principal: Principal
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))


class Changes:
    """The listening connection and the streams it feeds."""

    def __init__(self, database_url: str, fold_s: float = 0.25, ping_s: float = 15.0) -> None:
        self.database_url = database_url
        self.fold_s = fold_s
        self.ping_s = ping_s
        self.listening = asyncio.Event()
        self.stopped = asyncio.Event()
        self._listeners: set[_Listener] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop``; then every open stream ends."""
        try:
            while not stop.is_set():
                try:
                    await self._listen(stop)
                except psycopg.OperationalError as exc:
                    log.warning("live updates: database connection lost (%s); retrying in 1 s", exc)
                    self.listening.clear()
                    self._broadcast({"table": "resync", "premises": None, "jurisdiction": None})
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            self.stopped.set()
            self._broadcast({"table": "stop", "premises": None, "jurisdiction": None})

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            while not stop.is_set():
                async for note in conn.notifies(timeout=0.5):
                    try:
                        change = json.loads(note.payload)
                    except json.JSONDecodeError:
                        log.error("live updates: unreadable notification %r", note.payload)
                        continue
                    self._broadcast(change)

    def _broadcast(self, change: dict[str, Any]) -> None:
        control = change["table"] in ("resync", "stop")
        for listener in list(self._listeners):
            who = listener.principal
            if control or who.sees(change.get("jurisdiction")) or change.get("premises") in who.premises:
                with contextlib.suppress(asyncio.QueueFull):  # a stuck stream resyncs when it drains
                    listener.queue.put_nowait(change)

    async def stream(self, principal: Principal) -> AsyncIterator[dict[str, Any]]:
        """Events for one browser: ``{"tables": [...], "premises": [...]}`` per folded batch; a
        ``ping`` event when quiet; ends when the hub stops."""
        listener = _Listener(principal)
        self._listeners.add(listener)
        try:
            yield {"event": "hello", "data": json.dumps({"user": principal.id, "role": principal.role})}
            while not self.stopped.is_set():
                try:
                    first = await asyncio.wait_for(listener.queue.get(), self.ping_s)
                except TimeoutError:
                    yield {"event": "ping", "data": "{}"}
                    continue
                await asyncio.sleep(self.fold_s)
                batch = [first]
                while not listener.queue.empty():
                    batch.append(listener.queue.get_nowait())
                tables = sorted({c["table"] for c in batch})
                if "stop" in tables:
                    return
                premises = sorted({c["premises"] for c in batch if c.get("premises")})
                data = {"tables": tables, "premises": premises[:100], "more": len(premises) > 100}
                yield {"event": "change", "data": json.dumps(data)}
        finally:
            self._listeners.discard(listener)
