"""Ingest's hold on its MQTT sessions: a standby waiting for its client id, and a lost session never silent.

:func:`wait_for_lease` is how a standby (``ingest_standby``) waits for the active process of its
client id to stop or die.

Each subscriber's broker session should outlive a restart of ingest (or a takeover by its standby) and
of the broker (with its persistence). :class:`SessionWatch` notes in PostgreSQL when each client id was
last connected (every :data:`NOTE_EVERY_S`), so that the next process expects a session the broker
should still hold; when the broker answers "no session" instead (:class:`ingest.subscriber.SessionLoss`),
the window that may be lost is logged as an error, counted (``firewarden_ingest_sessions_lost_total``),
recorded (``firewarden sessions lost``) and keeps ``/readyz`` at 503 until an operator acknowledges it
(``firewarden sessions acknowledge``) or ``ingest_session_loss_hold_s`` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import DatabaseError
from ingest import session_store
from ingest.lanes import PRIORITY_SUFFIX
from ingest.lease_store import ClientLease
from ingest.metrics import IngestMetrics
from ingest.subscriber import MqttSubscriber, SessionLoss

log = logging.getLogger(__name__)

NOTE_EVERY_S = 5.0
"""How often the sessions' last connected time is noted, and acknowledgements looked for."""
STANDBY_POLL_S = 0.25
"""How often a standby asks for the lease of its client id."""


@dataclass(slots=True)
class _Pending:
    loss: SessionLoss
    id: int | None = None
    """Its row in ``ingest_session_losses``, once recorded."""


class SessionWatch:
    def __init__(
        self,
        database_url: str,
        subscribers: Sequence[MqttSubscriber],
        metrics: IngestMetrics,
        *,
        hold_s: float,
        now: Callable[[], datetime],
    ) -> None:
        self.url = database_url
        self.subscribers = subscribers
        self.metrics = metrics
        self.hold = timedelta(seconds=hold_s)
        self.now = now
        self.pending: list[_Pending] = []
        for subscriber in subscribers:
            subscriber.on_session_lost = self.lost
        metrics.session_loss_pending.set_function(lambda: int(self.unsettled))

    def expect(self) -> None:
        """Before connecting: a session seen within its expiry is one the broker should still hold."""
        seen = session_store.last_seen(self.url, [s.client_id for s in self.subscribers])
        now = self.now()
        for subscriber in self.subscribers:
            at = seen.get(subscriber.client_id)
            if at is not None and now - at < timedelta(seconds=subscriber.session_expiry_s):
                subscriber.expected_since = at

    def lost(self, loss: SessionLoss) -> None:
        """A subscriber's broker had no session (called on the event loop)."""
        session = "priority" if loss.client_id.endswith(PRIORITY_SUFFIX) else "bulk"
        self.metrics.sessions_lost.labels(session).inc()
        self.pending.append(_Pending(loss))

    @property
    def unsettled(self) -> bool:
        """A loss neither acknowledged nor older than the hold: ingest reports not ready."""
        now = self.now()
        return any(now - p.loss.noticed_at < self.hold for p in self.pending)

    def detail(self) -> list[dict[str, object]]:
        return [
            {"client_id": p.loss.client_id, "lost_from": p.loss.since.isoformat(),
             "lost_until": p.loss.noticed_at.isoformat(), "id": p.id}
            for p in self.pending
        ]  # fmt: skip

    async def run(self) -> None:
        """Note the sessions connected, record losses, drop those acknowledged or past the hold; until
        cancelled. A database away is tried again at the next round."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                still_open = await loop.run_in_executor(None, self._round, list(self.pending))
            except DatabaseError as error:
                log.warning("ingest sessions: %s; trying again", error)
            else:
                now = self.now()
                before = len(self.pending)
                self.pending = [
                    p for p in self.pending
                    if (p.id is None or p.id in still_open) and now - p.loss.noticed_at < self.hold
                ]  # fmt: skip
                if len(self.pending) < before:
                    log.info("lost broker session(s) acknowledged or past the hold: %d left", len(self.pending))
            await asyncio.sleep(NOTE_EVERY_S)

    def _round(self, pending: list[_Pending]) -> set[int]:
        """(In a thread.) Note the sessions connected, record new losses; the recorded ones still open."""
        connected = [s.client_id for s in self.subscribers if s.connected]
        if connected:
            session_store.seen(self.url, connected, self.now())
        for p in pending:
            if p.id is None:
                p.id = session_store.record_loss(self.url, p.loss.client_id, p.loss.since, p.loss.noticed_at)
        recorded = [p.id for p in pending if p.id is not None]
        return session_store.unacknowledged(self.url, recorded) if recorded else set()


async def wait_for_lease(lease: ClientLease, stop: asyncio.Event, standing_by: Callable[[bool], None]) -> bool:
    """Stand by until this process holds ``lease`` (True) or ``stop`` is set (False). The lease frees
    the moment its holder's database session ends, a SIGKILL included, so the standby takes over within
    :data:`STANDBY_POLL_S` and the broker hands it the session, unacknowledged messages and all."""
    loop = asyncio.get_running_loop()
    standing_by(True)
    logged = False
    try:
        while not stop.is_set():
            try:
                if await loop.run_in_executor(None, lease.try_acquire):
                    if logged:
                        log.warning("taking over as MQTT client %s: its process is gone", lease.client_id)
                    return True
            except DatabaseError as error:
                log.warning("standby: %s; trying again", error)
            if not logged:
                log.info("standing by: another process ingests as MQTT client %s", lease.client_id)
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_S)
        return False
    finally:
        standing_by(False)
