"""The checklist sets in PostgreSQL: versioned, the newest in use, the shipped one installed on first use."""

from __future__ import annotations

from datetime import datetime

from psycopg.types.json import Jsonb

from alerts.checklists import ChecklistSet, Version, parse, shipped
from core.db import Cursor
from core.db.audit import record as audit


def current(cur: Cursor, now: datetime) -> Version:
    """The set in use; the first call installs the shipped set as version 1."""
    cur.execute("SELECT * FROM checklists ORDER BY version DESC LIMIT 1")
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO checklists (version, created_at, created_by, document) VALUES (1, %s, 'system', %s) "
            "ON CONFLICT DO NOTHING",
            (now, Jsonb(shipped().model_dump(mode="json"))),
        )
        cur.execute("SELECT * FROM checklists ORDER BY version DESC LIMIT 1")
        row = cur.fetchone()
        assert row is not None
    return Version(row["version"], parse(row["document"]), row["created_at"], row["created_by"])


def install(cur: Cursor, checklists: ChecklistSet, actor: str, now: datetime) -> int:
    """A new version in use from now on; audited. Returns its number."""
    previous = current(cur, now)
    number = previous.number + 1
    cur.execute(
        "INSERT INTO checklists (version, created_at, created_by, document) VALUES (%s, %s, %s, %s)",
        (number, now, actor, Jsonb(checklists.model_dump(mode="json"))),
    )
    audit(cur, now, actor, "checklists.replaced", f"checklists:{number}", items=len(checklists.items),
          previous=previous.number)  # fmt: skip
    return number
