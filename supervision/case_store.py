"""Enforcement cases kept in PostgreSQL (tables ``cases`` and ``case_steps``): opening with the
rectification order, each later step as :mod:`supervision.cases` allows it, approvals by a second
person, document numbers, the effects of a step (the hazard closed at a passed re-check, credit
listed by a penalty, seal-up or stop, or by a re-check that finds the order overdue), the
major-hazard listing, and an audit entry for every step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NotRequired, TypedDict, cast

from psycopg.types.json import Jsonb

from alerts import Desk, Outcome
from core.db import Cursor, Pool, locked, transaction
from core.db.audit import record as audit
from core.policy import CreditEvent, Policy
from supervision import credit
from supervision.cases import DOCUMENTED, Step, StepKind, check_decision, check_next, needs_approval, next_up
from supervision.credit_store import on_event
from supervision.discretion import Circumstance, DiscretionTable, decide
from supervision.errors import CaseError

_EVENTS: dict[str, CreditEvent] = {"penalty": "penalty", "seal_up": "seal_up", "stop": "stop"}


def _number(cur: Cursor, policy: Policy, word: str, now: datetime) -> str:
    """The next document number of this kind and year, e.g. ``消责改〔2026〕3号``."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('firewarden-document-numbers'))")
    stem = f"{policy.enforcement.document_prefix}{word}〔{now.year}〕"
    table = "cases" if word == "案" else "case_steps"
    cur.execute(f"SELECT count(*) AS n FROM {table} WHERE number LIKE %s", (stem + "%",))
    row = cur.fetchone()
    return f"{stem}{(row['n'] if row else 0) + 1}号"


def open_case(
    pool: Pool, policy: Policy, table: DiscretionTable, *, premises_id: str | None, hazard_id: int | None, offence: str,
    circumstance: Circumstance, requirements: str, deadline_days: float | None, actor: str, now: datetime,
) -> int:  # fmt: skip
    """A case with its rectification order (责令改正通知书), effective at once. From a hazard (the
    premises is the hazard's) or a premises. Raises CaseError for an unknown offence, hazard or premises."""
    found = table.offence(offence)
    if found is None:
        known = ", ".join(o.id for o in table.offences)
        raise CaseError(f"unknown offence {offence!r}; the discretion table has {known}")
    with transaction(pool) as cur:
        if hazard_id is not None:
            cur.execute("SELECT premises_id, state FROM hazards WHERE id = %s", (hazard_id,))
            hazard = cur.fetchone()
            if hazard is None:
                raise CaseError(f"no hazard {hazard_id}")
            if premises_id is not None and premises_id != hazard["premises_id"]:
                raise CaseError(f"hazard {hazard_id} is of premises {hazard['premises_id']}, not {premises_id}")
            premises_id = hazard["premises_id"]
        if premises_id is None:
            raise CaseError("a case needs a hazard or a premises")
        cur.execute("SELECT 1 FROM premises WHERE id = %s", (premises_id,))
        if cur.fetchone() is None:
            raise CaseError(f"no premises {premises_id}")
        deadline = now + timedelta(days=deadline_days or policy.enforcement.order_deadline_days)
        number = _number(cur, policy, "案", now)
        cur.execute(
            "INSERT INTO cases (number, premises_id, hazard_id, offence, circumstance, state, deadline, opened_at, "
            "opened_by, updated_at) VALUES (%s, %s, %s, %s, %s, 'open', %s, %s, %s, %s) RETURNING id",
            (number, premises_id, hazard_id, offence, circumstance, deadline, now, actor, now),
        )
        row = cur.fetchone()
        assert row is not None
        case_id: int = row["id"]
        audit(cur, now, actor, "case.opened", f"case:{case_id}", number=number, premises=premises_id,
              hazard=hazard_id, offence=offence, circumstance=circumstance)  # fmt: skip
        detail = {"requirements": requirements, "deadline": deadline.isoformat()}
        _insert_step(cur, policy, case_id, "order", "effective", actor, now, None, detail)
    return case_id


def _insert_step(
    cur: Cursor, policy: Policy, case_id: int, kind: StepKind, state: str, actor: str, now: datetime,
    fine: float | None, detail: dict[str, Any],
) -> int:  # fmt: skip
    number = _number(cur, policy, DOCUMENTED[kind], now) if state == "effective" and kind in DOCUMENTED else None
    cur.execute(
        "INSERT INTO case_steps (case_id, kind, state, number, fine_yuan, detail, proposed_at, proposed_by, "
        "decided_at, decided_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (case_id, kind, state, number, fine, Jsonb(detail), now, actor,
         now if state == "effective" else None, actor if state == "effective" else None),
    )  # fmt: skip
    row = cur.fetchone()
    assert row is not None
    cur.execute("UPDATE cases SET updated_at = %s WHERE id = %s", (now, case_id))
    said = {k: v for k, v in detail.items() if k in ("passed", "note", "exemption", "measure")}
    audit(cur, now, actor, "case.step", f"case:{case_id}", step=row["id"], kind=kind, state=state, number=number,
          fine_yuan=fine, **said)  # fmt: skip
    return int(row["id"])


def _steps(cur: Cursor, case_id: int) -> list[Step]:
    cur.execute("SELECT * FROM case_steps WHERE case_id = %s ORDER BY id", (case_id,))
    return [step_of(r) for r in cur.fetchall()]


def step_of(row: Mapping[str, Any]) -> Step:
    """A ``case_steps`` row as the rules of :mod:`supervision.cases` see it."""
    fine = float(row["fine_yuan"]) if row["fine_yuan"] is not None else None
    return Step(row["id"], row["kind"], row["state"], row["proposed_by"], fine, row["detail"])


def _locked_case(cur: Cursor, case_id: int) -> dict[str, Any]:
    return locked(cur, "cases", case_id, what="case", error=CaseError)


def add_step(
    desk: Desk, table: DiscretionTable, case_id: int, kind: StepKind, actor: str, now: datetime, *,
    passed: bool | None = None, note: str = "", fine_yuan: float | None = None, measure: int | None = None,
) -> tuple[int, Outcome]:  # fmt: skip
    """The case's next step: its id, and what its effects hand on (a hazard closed by a passed re-check).
    A measure above the policy's thresholds is ``pending`` until approved (:func:`decide_step`). A
    penalty the discretion table exempts becomes a no-penalty decision (``exemption``). Raises
    CaseError saying why a step is not allowed."""
    policy = desk.policy
    with desk.cursor() as cur:
        case = _locked_case(cur, case_id)
        steps = _steps(cur, case_id)
        detail: dict[str, Any] = {"note": note}
        if kind == "lift":
            detail["measure"] = measure
        check_next(kind, steps, case["state"] == "open", detail)
        if kind == "recheck":
            if passed is None:
                raise CaseError("a re-check says whether the hazard was corrected (passed true or false)")
            detail |= {"passed": passed, "overdue": not passed and now >= case["deadline"]}
        if kind == "penalty":
            kind, fine_yuan, detail = _penalty(cur, table, case, fine_yuan, detail, now, policy)
        state = "pending" if needs_approval(kind, fine_yuan, policy.enforcement) else "effective"
        step_id = _insert_step(cur, policy, case_id, kind, state, actor, now, fine_yuan, detail)
        out = _effects(desk, cur, case, kind, detail, actor, now) if state == "effective" else Outcome()
    return step_id, out


def _penalty(
    cur: Cursor, table: DiscretionTable, case: dict[str, Any], fine: float | None, detail: dict[str, Any],
    now: datetime, policy: Policy,
) -> tuple[StepKind, float | None, dict[str, Any]]:  # fmt: skip
    offence = table.offence(case["offence"])
    if offence is None:
        raise CaseError(f"offence {case['offence']!r} is no longer in the discretion table")
    self_reported = False
    if case["hazard_id"] is not None:
        cur.execute("SELECT self_reported FROM hazards WHERE id = %s", (case["hazard_id"],))
        row = cur.fetchone()
        self_reported = bool(row and row["self_reported"])
    since = now - timedelta(days=365.25 * policy.enforcement.first_offence_years)
    cur.execute(
        "SELECT 1 FROM case_steps s JOIN cases c ON c.id = s.case_id WHERE c.premises_id = %s AND s.kind = 'penalty' "
        "AND s.state = 'effective' AND s.decided_at >= %s LIMIT 1",
        (case["premises_id"], since),
    )
    decision = decide(offence, case["circumstance"], self_reported, cur.fetchone() is not None)
    basis = {"offence": offence.id, "basis": offence.basis, "range": [decision.low, decision.high]}
    if decision.exemption is not None:
        return "exemption", None, detail | basis | {"exemption": decision.exemption}
    if fine is None or not decision.low <= fine <= decision.high:
        raise CaseError(
            f"the fine for {offence.id} ({case['circumstance']}) is {decision.low:,.0f} to {decision.high:,.0f} yuan "
            f"by the discretion table; {'none was given' if fine is None else f'{fine:,.0f} is outside it'}"
        )
    return "penalty", fine, detail | basis


def _effects(desk: Desk, cur: Cursor, case: dict[str, Any], kind: StepKind, detail: dict[str, Any], actor: str,
             now: datetime) -> Outcome:  # fmt: skip
    policy, out = desk.policy, Outcome()
    if kind == "recheck" and detail["passed"] and case["hazard_id"] is not None:
        cur.execute("SELECT state, signal_active FROM hazards WHERE id = %s", (case["hazard_id"],))
        hazard = cur.fetchone()
        if hazard is not None and hazard["state"] != "closed" and not hazard["signal_active"]:
            note = f"corrected, confirmed at the re-check of {case['number']}"
            out = desk.prevention.close_hazard_in(cur, case["hazard_id"], actor, note, now)
    if kind == "recheck" and detail.get("overdue"):
        on_event(cur, case["premises_id"], "overdue_rectification", policy, actor, now, case["id"])
    if kind in _EVENTS:
        on_event(cur, case["premises_id"], _EVENTS[kind], policy, actor, now, case["id"])
    if kind == "close":
        cur.execute(
            "UPDATE cases SET state = 'closed', closed_at = %s, closed_by = %s, close_note = %s WHERE id = %s",
            (now, actor, detail.get("note", ""), case["id"]),
        )
        audit(cur, now, actor, "case.closed", f"case:{case['id']}", number=case["number"])
    return out


def decide_step(desk: Desk, step_id: int, approve: bool, actor: str, user_id: str, note: str, now: datetime) -> Outcome:
    """法制审核: a second person approves a pending step (it takes effect, with its number) or refuses it."""
    policy = desk.policy
    with desk.cursor() as cur:
        cur.execute("SELECT case_id FROM case_steps WHERE id = %s", (step_id,))
        row = cur.fetchone()
        if row is None:
            raise CaseError(f"no case step {step_id}")
        case = _locked_case(cur, row["case_id"])
        step = next(s for s in _steps(cur, case["id"]) if s.id == step_id)
        check_decision(step, user_id)
        state = "effective" if approve else "rejected"
        number = _number(cur, policy, DOCUMENTED[step.kind], now) if approve and step.kind in DOCUMENTED else None
        cur.execute(
            "UPDATE case_steps SET state = %s, number = %s, decided_at = %s, decided_by = %s, decision_note = %s "
            "WHERE id = %s",
            (state, number, now, actor, note, step_id),
        )
        cur.execute("UPDATE cases SET updated_at = %s WHERE id = %s", (now, case["id"]))
        audit(cur, now, actor, "case.approved" if approve else "case.refused", f"case:{case['id']}", step=step_id,
              kind=step.kind, number=number, note=note)  # fmt: skip
        return _effects(desk, cur, case, step.kind, dict(step.detail), actor, now) if approve else Outcome()


def list_major_hazard(pool: Pool, policy: Policy, hazard_id: int, actor: str, note: str, now: datetime) -> None:
    """挂牌督办: a hazard listed as major for supervision until it closes (销案). Several in the policy's
    window list the unit's credit as ``repeated_major_hazards``."""
    with transaction(pool) as cur:
        hazard = locked(cur, "hazards", hazard_id, what="hazard", error=CaseError, states=("open", "recovered"))
        if hazard["listed_at"] is not None:
            raise CaseError(f"hazard {hazard_id} is already listed (since {hazard['listed_at']:%Y-%m-%d})")
        cur.execute(
            "UPDATE hazards SET listed_at = %s, listed_by = %s, listing_note = %s WHERE id = %s",
            (now, actor, note, hazard_id),
        )
        audit(cur, now, actor, "hazard.listed", f"hazard:{hazard_id}", premises=hazard["premises_id"], note=note)
        cur.execute("SELECT listed_at FROM hazards WHERE premises_id = %s AND listed_at IS NOT NULL",
                    (hazard["premises_id"],))  # fmt: skip
        listed = [r["listed_at"] for r in cur.fetchall()]
        if credit.repeated_major_hazards(listed, now, policy.credit):
            on_event(cur, hazard["premises_id"], "repeated_major_hazards", policy, actor, now)


class CaseStep(TypedDict):
    """A step of a case as stored (table ``case_steps``)."""

    id: int
    case_id: int
    kind: StepKind
    state: str
    number: str | None
    fine_yuan: Decimal | None
    detail: dict[str, object]
    proposed_at: datetime
    proposed_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


class Case(TypedDict):
    """A case as listed (table ``cases`` with its premises and hazard); ``steps`` when read one by one."""

    id: int
    number: str
    premises_id: str
    hazard_id: int | None
    offence: str
    circumstance: Circumstance
    state: str
    deadline: datetime
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    premises_name: str
    address: str
    unit_name: str
    jurisdiction_id: str
    credit_status: str
    hazard_title: str | None
    hazard_label: dict[str, object] | None
    self_reported: bool | None
    pending: int
    steps: NotRequired[list[CaseStep]]
    next: NotRequired[dict[str, object]]
    """:class:`supervision.cases.NextUp` as a dict (read one by one)."""


_CASES = """
SELECT c.*, p.name AS premises_name, p.address, p.unit_name, p.jurisdiction_id, p.credit_status,
       h.title AS hazard_title, h.label AS hazard_label, h.self_reported,
       (SELECT count(*) FROM case_steps s WHERE s.case_id = c.id AND s.state = 'pending') AS pending
FROM cases c JOIN premises p ON p.id = c.premises_id LEFT JOIN hazards h ON h.id = c.hazard_id
"""


def get_case(cur: Cursor, case_id: int) -> Case | None:
    cur.execute(_CASES + " WHERE c.id = %s", (case_id,))
    case = cur.fetchone()
    if case is None:
        return None
    cur.execute("SELECT * FROM case_steps WHERE case_id = %s ORDER BY id", (case_id,))
    case["steps"] = cur.fetchall()
    case["next"] = asdict(next_up([step_of(r) for r in case["steps"]], case["state"] == "open"))
    return cast(Case, case)


def list_cases(cur: Cursor, scope: frozenset[str] | None, state: str | None = None) -> list[Case]:
    """Cases newest first, in ``scope`` (jurisdictions; None: all), of ``state`` (open, closed, pending)."""
    where: list[str] = ["true"]
    args: list[Any] = []
    if scope is not None:
        where.append("p.jurisdiction_id = ANY(%s)")
        args.append(list(scope))
    if state in ("open", "closed"):
        where.append("c.state = %s")
        args.append(state)
    if state == "pending":
        where.append("EXISTS (SELECT 1 FROM case_steps s WHERE s.case_id = c.id AND s.state = 'pending')")
    cur.execute(_CASES + " WHERE " + " AND ".join(where) + " ORDER BY c.opened_at DESC, c.id DESC", args)
    return cast(list[Case], cur.fetchall())


def case_of_step(cur: Cursor, step_id: int) -> int:
    """The case a step belongs to. Raises CaseError for an unknown step."""
    cur.execute("SELECT case_id FROM case_steps WHERE id = %s", (step_id,))
    row = cur.fetchone()
    if row is None:
        raise CaseError(f"no step {step_id}")
    return int(row["case_id"])
