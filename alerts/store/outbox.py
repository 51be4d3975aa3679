"""The outbox (``deliveries``) in PostgreSQL: rows queued in the transaction of the change they report,
claimed by the dispatchers, and every attempt recorded (``delivery_attempts``).

A claim names its dispatcher (``claimed_by``) and leases the row for :data:`LEASE_S`. Each dispatcher
holds a session advisory lock on its number while it runs (:class:`Alive`): when it dies, its
connection closes, PostgreSQL drops the lock at once, and the others take its claimed rows over at their
next claim instead of after the lease. The lease still frees the rows of one alive but stuck.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerts.channels import Delivery
from alerts.outbox import Recipient
from core.db import Connection, Cursor, Pool, transaction

LEASE_S = 60.0
"""How long a claimed delivery is an alive dispatcher's: after that, another may send it again."""

log = logging.getLogger(__name__)

_DELIVERY = """INSERT INTO deliveries (idempotency_key, incident_id, premises_id, kind, recipient, channel, address,
    payload, state, created_at, next_attempt_at, delivered_at, priority)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING"""

OTHER_PRIORITY = 9
"""Priority of messages that are not an incident's page (hazards, notices, tier changes): after every incident."""


def enqueue(
    cur: Cursor,
    *,
    key: str,
    kind: str,
    premises_id: str,
    recipients: Iterable[Recipient],
    payload: dict[str, Any],
    now: datetime,
    incident_id: int | None = None,
    priority: int = OTHER_PRIORITY,
) -> int:
    """One delivery per recipient and channel; the console's is delivered by being written. Returns
    how many were queued for sending. Lower ``priority`` is sent first (an incident's class rank)."""
    rows = []
    for recipient in recipients:
        for channel, address in recipient.channels:
            console = channel == "console"
            rows.append(
                (
                    f"{key}/{recipient.id}/{channel}",
                    incident_id,
                    premises_id,
                    kind,
                    recipient.id,
                    channel,
                    address,
                    Jsonb({**payload, "recipient": recipient.id}),
                    "delivered" if console else "pending",
                    now,
                    now,
                    now if console else None,
                    priority,
                )
            )
    if rows:
        cur.executemany(_DELIVERY, rows)
    return sum(1 for row in rows if row[8] == "pending")


ALIVE_LOCKS = 26_875
"""The first key of the dispatchers' advisory locks (the second is a dispatcher's number)."""


class Alive:
    """A dispatcher's number and the advisory lock that says it runs, held on a connection of its own
    for as long as it does (taken again on a new connection if that one breaks)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.number = secrets.randbelow(2**31 - 1) + 1
        self._conn: Connection | None = None

    def hold(self) -> None:
        """Take the lock, unless this dispatcher holds it on a live connection already."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return
        self.release()
        conn = self.pool.getconn()
        try:
            conn.autocommit = True
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (ALIVE_LOCKS, self.number))
        except BaseException:
            self.pool.putconn(conn)
            raise
        self._conn = conn

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (ALIVE_LOCKS, self.number))
        except Exception as error:  # noqa: BLE001 - the lock ends with the session anyway
            log.debug("dispatcher %d: unlocking failed: %s", self.number, error)
        finally:
            self.pool.putconn(conn)


def claim(pool: Pool, now: datetime, limit: int, by: int = 0) -> list[Delivery]:
    """Up to ``limit`` deliveries, most urgent first, claimed for dispatcher ``by`` and leased for
    :data:`LEASE_S`: those due, and those claimed by a dispatcher whose :class:`Alive` lock is gone."""
    with transaction(pool) as cur:
        cur.execute(
            "UPDATE deliveries SET next_attempt_at = %(lease)s, claimed_by = %(by)s WHERE id IN ("
            "SELECT id FROM deliveries d WHERE state = 'pending' AND (next_attempt_at <= %(now)s "
            "OR (claimed_by IS NOT NULL AND claimed_by <> %(by)s AND NOT EXISTS (SELECT 1 FROM pg_locks l "
            "WHERE l.locktype = 'advisory' AND l.classid = %(locks)s::oid AND l.objid = d.claimed_by::oid "
            "AND l.objsubid = 2 AND l.granted))) "
            "ORDER BY priority, next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
            "RETURNING id, idempotency_key, channel, address, payload, attempts",
            {"lease": now + timedelta(seconds=LEASE_S), "by": by, "now": now, "locks": ALIVE_LOCKS, "limit": limit},
        )
        return [Delivery(**row) for row in cur.fetchall()]


def record(pool: Pool, attempts: Sequence[tuple[Any, ...]], updates: Sequence[tuple[Any, ...]]) -> None:
    """Attempts as rows of ``delivery_attempts``, and each delivery's new state, in one transaction."""
    with transaction(pool) as cur:
        cur.executemany(
            "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, status_code, error, duration_ms) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            attempts,
        )
        cur.executemany(
            "UPDATE deliveries SET state = %s, attempts = %s, next_attempt_at = %s, delivered_at = %s, "
            "last_error = %s, claimed_by = NULL WHERE id = %s",
            updates,
        )
