"""Credit supervision kept in PostgreSQL: every change of a premises' credit status with its reason
(``credit_changes``) and an audit entry, written through to ``premises.credit_status`` (which the
risk model reads on its next registry refresh and the schedule reads for the cadence), and the
periodic repair review."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from alerts import SYSTEM, reschedule_inspection
from core.db import Cursor, locked
from core.db.audit import record as audit
from core.domain import CREDIT_STATUSES
from core.policy import CreditEvent, Policy
from supervision import credit
from supervision.errors import CaseError

log = logging.getLogger(__name__)


def set_credit(
    cur: Cursor, premises_id: str, to: str, reason: str, actor: str, now: datetime, *,
    detail: dict[str, Any] | None = None, case_id: int | None = None, policy: Policy | None = None,
) -> bool:  # fmt: skip
    """Change the premises' credit to ``to`` for ``reason`` (a ``credit_event`` code); False when it
    already is. With ``policy``, its open inspection task moves to the period the new status gives
    (:func:`alerts.reschedule_inspection`). Raises CaseError for an unknown premises or status."""
    if to not in CREDIT_STATUSES:
        raise CaseError(f"unknown credit status {to!r}; valid ones are {', '.join(CREDIT_STATUSES)}")
    row = locked(cur, "premises", premises_id, what="premises", error=CaseError, columns="credit_status")
    if row["credit_status"] == to:
        return False
    cur.execute(
        "INSERT INTO credit_changes (premises_id, at, from_status, to_status, reason, detail, actor, case_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (premises_id, now, row["credit_status"], to, reason, Jsonb(detail or {}), actor, case_id),
    )
    cur.execute("UPDATE premises SET credit_status = %s WHERE id = %s", (to, premises_id))
    audit(cur, now, actor, "credit.changed", f"premises:{premises_id}", previous=row["credit_status"], status=to,
          reason=reason, case=case_id, **(detail or {}))  # fmt: skip
    if policy is not None:
        reschedule_inspection(cur, premises_id, policy)
    return True


def on_event(
    cur: Cursor, premises_id: str, event: CreditEvent, policy: Policy, actor: str, now: datetime,
    case_id: int | None = None,
) -> str | None:  # fmt: skip
    """List the premises as the policy says for ``event``; the new status, or None when unchanged."""
    cur.execute("SELECT credit_status FROM premises WHERE id = %s", (premises_id,))
    row = cur.fetchone()
    if row is None:
        return None
    status = credit.after_event(row["credit_status"], event, policy.credit)
    if status is None:
        return None
    set_credit(cur, premises_id, status, event, actor, now, case_id=case_id, policy=policy)
    return status


_LAST_EVENT = """
SELECT greatest(
    (SELECT max(at) FROM credit_changes WHERE premises_id = %(p)s AND reason NOT IN ('repair', 'registry')),
    (SELECT max(coalesce(s.decided_at, s.proposed_at)) FROM case_steps s JOIN cases c ON c.id = s.case_id
      WHERE c.premises_id = %(p)s AND s.state = 'effective'
        AND (s.kind IN ('penalty', 'seal_up', 'stop') OR (s.kind = 'recheck' AND s.detail ->> 'overdue' = 'true'))),
    (SELECT max(listed_at) FROM hazards WHERE premises_id = %(p)s)
) AS last_event_at,
(SELECT count(*) FROM cases WHERE premises_id = %(p)s AND state = 'open') AS open_cases,
(SELECT count(*) FROM hazards WHERE premises_id = %(p)s AND state <> 'closed' AND overdue_at IS NOT NULL)
    AS overdue_hazards
"""


def review(cur: Cursor, policy: Policy, now: datetime, actor: str = SYSTEM) -> list[tuple[str, str]]:
    """信用修复: every listed premises whose record is clean for the policy's period goes back to
    ``normal``. Returns (premises, previous status) of each one repaired."""
    listed = [s for s in credit.RANK if credit.RANK[s] > credit.RANK["normal"]]
    cur.execute("SELECT id, credit_status FROM premises WHERE credit_status = ANY(%s) ORDER BY id", (listed,))
    repaired = []
    for premises in cur.fetchall():
        cur.execute(_LAST_EVENT, {"p": premises["id"]})
        row = cur.fetchone()
        assert row is not None
        if row["last_event_at"] is None:
            continue  # listed in the registry, never by supervision: nothing to repair from
        record = credit.Record(premises["credit_status"], row["last_event_at"], row["open_cases"],
                               row["overdue_hazards"])  # fmt: skip
        if credit.repair_due(record, now, policy.credit):
            set_credit(cur, premises["id"], "normal", "repair", actor, now,
                       detail={"clean_since": row["last_event_at"].isoformat()}, policy=policy)  # fmt: skip
            repaired.append((premises["id"], premises["credit_status"]))
    return repaired


def status(cur: Cursor, premises_id: str) -> str | None:
    """The premises' credit status; None for an unknown premises."""
    cur.execute("SELECT credit_status FROM premises WHERE id = %s", (premises_id,))
    row = cur.fetchone()
    return None if row is None else str(row["credit_status"])


def history(cur: Cursor, premises_id: str) -> list[dict[str, Any]]:
    cur.execute(
        "SELECT c.id, c.at, c.from_status, c.to_status, c.reason, c.detail, c.actor, c.case_id, "
        "k.number AS case_number FROM credit_changes c LEFT JOIN cases k ON k.id = c.case_id "
        "WHERE c.premises_id = %s ORDER BY c.at DESC, c.id DESC",
        (premises_id,),
    )
    return cur.fetchall()


def review_chore(pool: ConnectionPool, policy: Policy) -> Callable[[datetime], None]:
    """The periodic credit review as the alerts process runs it: each repair logged."""

    def work(now: datetime) -> None:
        with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            repaired = review(cur, policy, now)
        for premises, status in repaired:
            log.info("credit repaired: %s from %s to normal", premises, status)

    return work
