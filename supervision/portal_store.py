"""The responsible unit's own work (自知、自查、自改), kept in PostgreSQL: its self-checks with the
inspection checklist, hazards it reports itself (主动申报, which the penalty logic honours), reports
that a hazard is fixed with evidence and the inspector's verdict on them, read receipts of the
warning notices it received, and its commitments (承诺). Everything is audited under the unit's
account."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from alerts import Desk, Outcome, evidence_known
from core.db import Cursor, live_state, locked
from core.db.audit import record as audit
from core.policy import Policy
from core.words import label
from supervision.credit_store import history
from supervision.errors import CaseError


def self_report(
    desk: Desk, premises_id: str, text: str, photos: Sequence[str], actor: str, now: datetime
) -> tuple[int, Outcome]:
    """A hazard the unit found and reports itself (主动申报): open, self-reported, due by the policy's
    finding deadline, assigned to the premises' regular inspector like every hazard."""
    with desk.cursor() as cur:
        for sha in photos:
            if not evidence_known(cur, sha):
                raise CaseError(f"evidence {sha} is not stored; upload it first (POST /api/evidence)")
        source = f"self:report:{secrets.token_hex(6)}"
        said = label("hazard.self_report", text=text)
        out = desk.prevention.open_hazard(cur, premises_id, source, "self_report", said, now,
                               desk.policy.schedule.finding_deadline_days, now, False)  # fmt: skip
        cur.execute(
            "UPDATE hazards SET self_reported = true WHERE premises_id = %s AND source = %s RETURNING id",
            (premises_id, source),
        )
        row = cur.fetchone()
        assert row is not None
        audit(cur, now, actor, "hazard.self_reported", f"hazard:{row['id']}", premises=premises_id, text=text,
              evidence=list(photos))  # fmt: skip
    return int(row["id"]), out


def submit_rectification(
    cur: Cursor, hazard_id: int, premises_ids: frozenset[str], note: str, files: Sequence[str], actor: str,
    now: datetime,
) -> int:  # fmt: skip
    """The unit's report that a hazard is fixed, with its evidence, for the inspector to verify."""
    cur.execute("SELECT premises_id, state FROM hazards WHERE id = %s", (hazard_id,))
    hazard = cur.fetchone()
    if hazard is None or hazard["premises_id"] not in premises_ids:
        raise CaseError(f"no hazard {hazard_id}")
    if hazard["state"] == "closed":
        raise CaseError(f"hazard {hazard_id} is already closed")
    if not files:
        raise CaseError("a rectification report needs at least one photo or document as evidence")
    for sha in files:
        if not evidence_known(cur, sha):
            raise CaseError(f"evidence {sha} is not stored; upload it first (POST /api/evidence)")
    cur.execute(
        "INSERT INTO rectifications (hazard_id, premises_id, submitted_at, submitted_by, note, evidence, state) "
        "VALUES (%s, %s, %s, %s, %s, %s, 'submitted') ON CONFLICT (hazard_id) WHERE state = 'submitted' DO NOTHING "
        "RETURNING id",
        (hazard_id, hazard["premises_id"], now, actor, note, list(files)),
    )
    row = cur.fetchone()
    if row is None:
        raise CaseError(f"hazard {hazard_id} already has a rectification report awaiting verification")
    audit(cur, now, actor, "rectification.submitted", f"hazard:{hazard_id}", rectification=row["id"],
          evidence=list(files), note=note)  # fmt: skip
    return int(row["id"])


def decide_rectification(desk: Desk, rectification_id: int, verified: bool, actor: str, note: str,
                         now: datetime) -> Outcome:  # fmt: skip
    """The inspector verifies the report (the hazard closes; refused while its signal is active) or
    rejects it (the hazard stays open; the unit sees why)."""
    with desk.cursor() as cur:
        report = locked(cur, "rectifications", rectification_id, what="rectification report", error=CaseError,
                        states=("submitted",), refused="{what} {key} is already {state}")  # fmt: skip
        out = Outcome()
        if verified:
            out = desk.prevention.close_hazard_in(
                cur, report["hazard_id"], actor, f"rectification verified: {note}".strip(), now
            )
        cur.execute(
            "UPDATE rectifications SET state = %s, decided_at = %s, decided_by = %s, decision_note = %s WHERE id = %s",
            ("verified" if verified else "rejected", now, actor, note, rectification_id),
        )
        audit(cur, now, actor, "rectification.verified" if verified else "rectification.rejected",
              f"hazard:{report['hazard_id']}", rectification=rectification_id, note=note)  # fmt: skip
    return out


def read_notice(cur: Cursor, notice_id: int, premises_ids: frozenset[str], user_id: str, actor: str,
                now: datetime) -> datetime:  # fmt: skip
    """The unit's read receipt of a notice (the first reading counts); when it was read."""
    cur.execute("SELECT premises_id FROM notices WHERE id = %s", (notice_id,))
    notice = cur.fetchone()
    if notice is None or notice["premises_id"] not in premises_ids:
        raise CaseError(f"no notice {notice_id}")
    cur.execute(
        "INSERT INTO notice_reads (notice_id, user_id, read_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING "
        "RETURNING read_at",
        (notice_id, user_id, now),
    )
    if cur.fetchone() is not None:
        audit(cur, now, actor, "notice.read", f"notice:{notice_id}", premises=notice["premises_id"])
        return now
    cur.execute("SELECT read_at FROM notice_reads WHERE notice_id = %s AND user_id = %s", (notice_id, user_id))
    row = cur.fetchone()
    assert row is not None
    read_at: datetime = row["read_at"]
    return read_at


def sign_commitment(cur: Cursor, premises_id: str, text: str, actor: str, now: datetime) -> int:
    """承诺: the unit's commitment, published with the premises."""
    cur.execute(
        "INSERT INTO commitments (premises_id, text, signed_by, signed_at) VALUES (%s, %s, %s, %s) RETURNING id",
        (premises_id, text, actor, now),
    )
    row = cur.fetchone()
    assert row is not None
    audit(cur, now, actor, "commitment.signed", f"premises:{premises_id}", commitment=row["id"], text=text)
    return int(row["id"])


def overview(cur: Cursor, premises_ids: frozenset[str], user_id: str, policy: Policy, now: datetime) -> dict[str, Any]:
    """Everything the unit's portal shows: its premises (tier, credit and its history, the self-check
    due, commitments), open hazards with deadlines and their latest rectification report, notices with
    the read receipt, and its enforcement cases with their documents."""
    ids = sorted(premises_ids)
    cur.execute(
        "SELECT p.id, p.name, p.address, p.category, p.unit_name, p.credit_status, s.tier, s.score, "
        f"{live_state('p.id')} AS live, "
        "(SELECT r.if_closed FROM risk_scores r WHERE r.premises_id = p.id ORDER BY r.revision DESC LIMIT 1) "
        "AS if_closed, "
        "(SELECT max(done_at) FROM tasks t WHERE t.premises_id = p.id AND t.kind = 'self_check') AS last_self_check "
        "FROM premises p LEFT JOIN premises_schedule s ON s.premises_id = p.id WHERE p.id = ANY(%s) ORDER BY p.id",
        (ids,),
    )
    premises = cur.fetchall()
    for p in premises:
        every = policy.self_check_every_days(p["tier"], p["credit_status"])
        last = p["last_self_check"]
        due = (last + timedelta(days=every)) if last is not None else now
        p["self_check"] = {"every_days": every, "last_at": last, "due_at": due, "due": due <= now}
        p["credit_history"] = history(cur, p["id"])
        cur.execute("SELECT id, text, signed_by, signed_at FROM commitments WHERE premises_id = %s "
                    "ORDER BY signed_at DESC", (p["id"],))  # fmt: skip
        p["commitments"] = cur.fetchall()
    cur.execute(
        "SELECT h.id, h.premises_id, h.title, h.label, h.rule, h.state, h.opened_at, h.deadline, h.overdue_at, "
        "h.self_reported, h.listed_at, r.id AS rectification_id, r.state AS rectification, r.submitted_at, "
        "r.decision_note FROM hazards h LEFT JOIN LATERAL (SELECT * FROM rectifications x WHERE x.hazard_id = h.id "
        "ORDER BY x.id DESC LIMIT 1) r ON true WHERE h.premises_id = ANY(%s) AND h.state <> 'closed' "
        "ORDER BY h.deadline",
        (ids,),
    )
    hazards = cur.fetchall()
    cur.execute(
        "SELECT n.id, n.premises_id, n.tier, n.score, n.issued_at, n.text, n.label, r.read_at FROM notices n "
        "LEFT JOIN notice_reads r ON r.notice_id = n.id AND r.user_id = %s WHERE n.premises_id = ANY(%s) "
        "ORDER BY n.issued_at DESC",
        (user_id, ids),
    )
    notices = cur.fetchall()
    cur.execute(
        "SELECT c.id, c.number, c.premises_id, c.offence, c.state, c.deadline, c.opened_at, "
        "coalesce(json_agg(json_build_object('id', s.id, 'kind', s.kind, 'number', s.number, 'fine_yuan', s.fine_yuan,"
        " 'at', s.decided_at) ORDER BY s.id) FILTER (WHERE s.state = 'effective'), '[]') AS documents "
        "FROM cases c LEFT JOIN case_steps s ON s.case_id = c.id WHERE c.premises_id = ANY(%s) "
        "GROUP BY c.id ORDER BY c.opened_at DESC",
        (ids,),
    )
    return {"premises": premises, "hazards": hazards, "notices": notices, "cases": cur.fetchall()}


def hazard_of_rectification(cur: Cursor, report_id: int) -> int | None:
    cur.execute("SELECT hazard_id FROM rectifications WHERE id = %s", (report_id,))
    row = cur.fetchone()
    return None if row is None else int(row["hazard_id"])


def category(cur: Cursor, premises_id: str) -> str | None:
    cur.execute("SELECT category FROM premises WHERE id = %s", (premises_id,))
    row = cur.fetchone()
    return None if row is None else str(row["category"])


def task_checks(cur: Cursor, task_id: int) -> list[dict[str, Any]]:
    """What a visit or self-check recorded per item: ``item_id``, ``result``, ``hazard_id``."""
    cur.execute("SELECT item_id, result, hazard_id FROM task_checks WHERE task_id = %s ORDER BY item_id", (task_id,))
    return cur.fetchall()
