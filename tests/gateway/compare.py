"""What a run decided, to compare two paths of the same messages."""

from __future__ import annotations

from core.db import connect


def decisions(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every alarm revision and every signal a run led to, in a stable order; without the signals of a
    UITD's TCP connection ending (``device_offline`` for `gb26875 connection ...`), which only the
    gateway's path has."""
    with connect(url) as conn:
        alarms = conn.execute(
            "SELECT alarm_id, revision, time, premises_id, zone, classification, reason, trigger, final "
            "FROM alarms ORDER BY alarm_id, revision"
        ).fetchall()
        signals = conn.execute(
            "SELECT time, premises_id, device_id, rule, state, subject FROM signals "
            "WHERE NOT (rule = 'device_offline' AND evidence->>'reason' LIKE 'gb26875 connection%%') "
            "ORDER BY time, premises_id, device_id, rule, subject, state"
        ).fetchall()
    return [tuple(a) for a in alarms], [tuple(s) for s in signals]
