"""The outbox (``deliveries``) in PostgreSQL: rows queued in the transaction of the change they report,
claimed by the dispatchers with a lease, and every attempt recorded (``delivery_attempts``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerts.channels import Delivery
from alerts.outbox import Recipient
from core.db import Cursor, Pool, transaction

LEASE_S = 60.0
"""How long a claimed delivery is a dispatcher's: after that, another may send it again."""

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


def claim(pool: Pool, now: datetime, limit: int) -> list[Delivery]:
    """Up to ``limit`` due deliveries, most urgent first, leased for :data:`LEASE_S`."""
    with transaction(pool) as cur:
        cur.execute(
            "UPDATE deliveries SET next_attempt_at = %s WHERE id IN (SELECT id FROM deliveries "
            "WHERE state = 'pending' AND next_attempt_at <= %s ORDER BY priority, next_attempt_at LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id, idempotency_key, channel, address, payload, attempts",
            (now + timedelta(seconds=LEASE_S), now, limit),
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
            "last_error = %s WHERE id = %s",
            updates,
        )
