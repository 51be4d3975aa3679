"""The audit log (执法全过程记录): who did what, when; append-only and chained.

:func:`record` writes one entry inside the caller's transaction. The database seals it into a hash
chain at commit (migration ``0008_audit_chain``), and the application's role may insert and read
entries but never change them. :func:`verify` walks the chain and says where it is broken: an entry
removed (a gap, or a head that points past the newest entry), an entry altered (its hash no longer
matches its content), an entry slipped in around the chain (not sealed).

What the chain cannot tell: someone who owns the tables, removes entries and recomputes every later
hash and the head. Against that, keep the head hash that ``firewarden audit verify`` prints somewhere
else (a ticket, a printed report): a later head must extend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

MAX_PROBLEMS = 20


def record(cur: psycopg.Cursor[Any], now: datetime, actor: str, action: str, subject: str, **details: Any) -> None:
    """One audit entry, in the cursor's transaction (sealed into the chain when it commits)."""
    cur.execute(
        "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (%s, %s, %s, %s, %s)",
        (now, actor, action, subject, Jsonb(details)),
    )


@dataclass(slots=True)
class AuditVerdict:
    entries: int = 0
    head_pos: int = 0
    head_hash: bytes | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(conn: psycopg.Connection[Any]) -> AuditVerdict:
    """Walk the whole chain in order. Read-only; the application's role may run it."""
    verdict = AuditVerdict()
    head = conn.execute("SELECT pos, hash FROM audit_chain").fetchone()
    if head is None:
        verdict.problems.append("the chain's head (table audit_chain) is missing its row")
        return verdict
    verdict.head_pos, verdict.head_hash = int(head[0]), (bytes(head[1]) if head[1] is not None else None)

    def problem(text: str) -> None:
        if len(verdict.problems) < MAX_PROBLEMS:
            verdict.problems.append(text)
        elif len(verdict.problems) == MAX_PROBLEMS:
            verdict.problems.append("(more problems not listed)")

    expected_pos, previous = 1, None
    with conn.transaction(), conn.cursor(name="audit_verify") as cur:
        cur.itersize = 5000
        cur.execute(
            "SELECT id, chain_pos, prev_hash, hash,"
            " audit_row_hash(prev_hash, chain_pos, at, actor, action, subject, details)"
            " FROM audit_log ORDER BY chain_pos NULLS LAST, id"
        )
        for row_id, pos, prev_hash, stored, computed in cur:
            verdict.entries += 1
            if pos is None:
                problem(f"entry id {row_id} is not sealed into the chain (written around it)")
                continue
            pos = int(pos)
            prev_hash = bytes(prev_hash) if prev_hash is not None else None
            if pos > expected_pos:
                missing = f"{expected_pos}" if pos == expected_pos + 1 else f"{expected_pos} to {pos - 1}"
                problem(f"entries at chain position {missing} are missing (removed)")
            elif prev_hash != previous:
                problem(f"entry at chain position {pos} (id {row_id}) does not follow the entry before it")
            if stored is None or bytes(stored) != bytes(computed):
                problem(f"entry at chain position {pos} (id {row_id}) was altered: its hash does not match its content")
            expected_pos, previous = pos + 1, bytes(stored) if stored is not None else None
    last = expected_pos - 1
    if last < verdict.head_pos:
        missing = f"{last + 1}" if verdict.head_pos == last + 1 else f"{last + 1} to {verdict.head_pos}"
        problem(f"the newest entries, at chain position {missing}, are missing (removed)")
    elif last > verdict.head_pos or (last and previous != verdict.head_hash):
        problem(f"the chain's head (position {verdict.head_pos}) does not match its newest entry (position {last})")
    return verdict
