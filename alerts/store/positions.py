"""Where the alerts processes have read ``fw.alarms`` to, kept in PostgreSQL (``bus_positions``), and
the alarm decisions already applied (``alarm_decisions_handled``).

Every alerts process reads every partition of ``fw.alarms`` with no consumer group, so a fire never
waits for a rebalance when one of them dies or starts. They share one position per partition: each
moves it forward once what it read is handled, and a process that starts reads on from there. What
two processes both read is applied once: the desk claims each alarm decision in the transaction that
applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from core.db import Pool, transaction

HANDLED_KEPT = timedelta(days=30)
"""How long an applied alarm decision is remembered: far longer than any reader lags behind."""


def load(pool: Pool, reader: str) -> dict[int, int]:
    """Partition → the next offset to read, for ``reader``; empty when it never read."""
    with transaction(pool) as cur:
        cur.execute("SELECT partition, next_offset FROM bus_positions WHERE reader = %s", (reader,))
        return {row["partition"]: row["next_offset"] for row in cur.fetchall()}


def advance(pool: Pool, reader: str, positions: Mapping[int, int], now: datetime) -> None:
    """Everything before ``positions`` is handled; a position never moves back (another process may be
    ahead)."""
    if not positions:
        return
    with transaction(pool) as cur:
        cur.executemany(
            "INSERT INTO bus_positions (reader, partition, next_offset, updated_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (reader, partition) DO UPDATE SET "
            "next_offset = GREATEST(bus_positions.next_offset, EXCLUDED.next_offset), updated_at = EXCLUDED.updated_at",
            [(reader, partition, offset, now) for partition, offset in sorted(positions.items())],
        )


def forget_handled(pool: Pool, now: datetime) -> None:
    """Alarm decisions applied more than :data:`HANDLED_KEPT` ago are forgotten."""
    with transaction(pool) as cur:
        cur.execute("DELETE FROM alarm_decisions_handled WHERE handled_at < %s", (now - HANDLED_KEPT,))
