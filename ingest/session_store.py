"""Ingest's MQTT sessions in PostgreSQL: when each client id was last connected (``ingest_sessions``),
and the sessions a broker lost (``ingest_session_losses``) until an operator acknowledges them.

A broker that restarts without its persistence (a volume not written, a file its user cannot write)
answers a reconnecting ingest "no session": its subscriptions, and every QoS 1 message it acknowledged
to a device and queued for ingest meanwhile, are gone. The broker says nothing; ingest can only tell
by expecting a session, which it does when the client id was connected within its session expiry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row, dict_row

from core.addresses import mask_database_url
from core.db import connect, database_errors
from core.db.audit import record as audit


@dataclass(frozen=True, slots=True)
class Loss:
    id: int
    client_id: str
    lost_from: datetime
    lost_until: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def seen(url: str, client_ids: Iterable[str], at: datetime) -> None:
    """The client ids are connected at ``at``."""
    with database_errors(f"noting ingest's sessions in {mask_database_url(url)}"), connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO ingest_sessions (client_id, seen_at) VALUES (%s, %s) "
            "ON CONFLICT (client_id) DO UPDATE SET seen_at = GREATEST(ingest_sessions.seen_at, EXCLUDED.seen_at)",
            [(client_id, at) for client_id in client_ids],
        )
        conn.commit()


def last_seen(url: str, client_ids: Sequence[str]) -> dict[str, datetime]:
    """When each of the client ids was last known connected (those never seen are missing)."""
    with database_errors(f"reading ingest's sessions in {mask_database_url(url)}"), connect(url) as conn:
        rows = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT client_id, seen_at FROM ingest_sessions WHERE client_id = ANY(%s)", (list(client_ids),))
            .fetchall()
        )
    return {row["client_id"]: row["seen_at"] for row in rows}


def record_loss(url: str, client_id: str, lost_from: datetime, lost_until: datetime) -> int:
    """A lost session, unacknowledged; its id."""
    with database_errors(f"recording a lost session in {mask_database_url(url)}"), connect(url) as conn:
        row = (
            conn.cursor(row_factory=dict_row)
            .execute(
                "INSERT INTO ingest_session_losses (client_id, lost_from, lost_until) VALUES (%s, %s, %s) RETURNING id",
                (client_id, lost_from, lost_until),
            )
            .fetchone()
        )
        conn.commit()
    assert row is not None
    loss_id: int = row["id"]
    return loss_id


def unacknowledged(url: str, ids: Sequence[int]) -> set[int]:
    """Which of the losses ``ids`` nobody acknowledged yet."""
    with database_errors(f"reading lost sessions in {mask_database_url(url)}"), connect(url) as conn:
        rows = (
            conn.cursor(row_factory=dict_row)
            .execute(
                "SELECT id FROM ingest_session_losses WHERE id = ANY(%s) AND acknowledged_at IS NULL", (list(ids),)
            )
            .fetchall()
        )
    return {row["id"] for row in rows}


def losses(url: str, *, pending_only: bool) -> list[Loss]:
    """Lost sessions, newest first."""
    where = "WHERE acknowledged_at IS NULL " if pending_only else ""
    with database_errors(f"reading lost sessions in {mask_database_url(url)}"), connect(url) as conn:
        return (
            conn.cursor(row_factory=class_row(Loss))
            .execute(
                "SELECT id, client_id, lost_from, lost_until, acknowledged_at, acknowledged_by "
                f"FROM ingest_session_losses {where}ORDER BY id DESC"
            )
            .fetchall()
        )


def acknowledge(url: str, ids: Sequence[int] | None, by: str, at: datetime) -> list[int]:
    """Acknowledge the losses ``ids`` (None: every unacknowledged one), in the audit log; the ids
    acknowledged now."""
    with database_errors(f"acknowledging lost sessions in {mask_database_url(url)}"), connect(url) as conn:
        rows = (
            conn.cursor(row_factory=dict_row)
            .execute(
                "UPDATE ingest_session_losses SET acknowledged_at = %s, acknowledged_by = %s "
                "WHERE acknowledged_at IS NULL AND (%s::bigint[] IS NULL OR id = ANY(%s::bigint[])) RETURNING id",
                (at, by, None if ids is None else list(ids), None if ids is None else list(ids)),
            )
            .fetchall()
        )
        done = sorted(row["id"] for row in rows)
        if done:
            audit(conn.cursor(), at, by, "ingest.sessions_lost.acknowledged", "ingest_session_losses", ids=done)
        conn.commit()
    return done
