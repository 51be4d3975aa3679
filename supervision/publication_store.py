"""Enforcement information for publication (行政执法公示, 信用信息公示), of the four kinds the credit
rules name: inspections (检查), penalties (处罚, with the no-penalty decisions), coercive measures
(强制: seal-ups and stops, with when they were lifted) and licences (许可). Firewarden issues no
licences, so that kind is always empty; its columns are there for a publication that merges sources."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Final, Literal

import psycopg

Kind = Literal["inspection", "penalty", "coercive", "licence"]

_COLUMNS: Final[dict[Kind, list[str]]] = {
    "inspection": ["date", "premises_id", "premises_name", "unit_name", "address", "kind", "result", "hazards_found"],
    "penalty": ["date", "number", "case_number", "premises_id", "premises_name", "unit_name", "offence", "basis",
                "decision", "fine_yuan"],
    "coercive": ["date", "number", "case_number", "premises_id", "premises_name", "unit_name", "measure", "lifted_on"],
    "licence": ["date", "number", "premises_id", "premises_name", "unit_name", "licence", "decision"],
}  # fmt: skip

# Decided within the window (an open end when ``until`` is None), of premises in scope (None: all).
_WINDOW = """{at} >= %(since)s AND ({at} < %(until)s OR %(until)s::timestamptz IS NULL)
          AND (%(scope)s::text[] IS NULL OR p.jurisdiction_id = ANY(%(scope)s))"""
_DONE, _DECIDED = _WINDOW.format(at="t.done_at"), _WINDOW.format(at="s.decided_at")

_SQL: Final[dict[Kind, str]] = {
    "inspection": f"""
        SELECT t.done_at AS date, t.premises_id, p.name AS premises_name, p.unit_name, p.address, t.kind, t.result,
               (SELECT count(*) FROM hazards h WHERE h.source LIKE 'task:' || t.id || ':%%') AS hazards_found
        FROM tasks t JOIN premises p ON p.id = t.premises_id
        WHERE t.state = 'done' AND t.kind IN ('inspection', 'draw') AND {_DONE}
        ORDER BY t.done_at, t.id""",
    "penalty": f"""
        SELECT s.decided_at AS date, s.number, c.number AS case_number, c.premises_id, p.name AS premises_name,
               p.unit_name, c.offence, s.detail ->> 'basis' AS basis,
               CASE s.kind WHEN 'penalty' THEN 'fine' ELSE 'no penalty: ' || (s.detail ->> 'exemption') END AS decision,
               s.fine_yuan
        FROM case_steps s JOIN cases c ON c.id = s.case_id JOIN premises p ON p.id = c.premises_id
        WHERE s.state = 'effective' AND s.kind IN ('penalty', 'exemption') AND {_DECIDED}
        ORDER BY s.decided_at, s.id""",
    "coercive": f"""
        SELECT s.decided_at AS date, s.number, c.number AS case_number, c.premises_id, p.name AS premises_name,
               p.unit_name, s.kind AS measure,
               (SELECT min(l.decided_at) FROM case_steps l WHERE l.kind = 'lift' AND l.state = 'effective'
                  AND (l.detail ->> 'measure')::bigint = s.id) AS lifted_on
        FROM case_steps s JOIN cases c ON c.id = s.case_id JOIN premises p ON p.id = c.premises_id
        WHERE s.state = 'effective' AND s.kind IN ('seal_up', 'stop') AND {_DECIDED}
        ORDER BY s.decided_at, s.id""",
}


def rows(
    cur: psycopg.Cursor[dict[str, Any]], kind: Kind, since: datetime, until: datetime | None,
    scope: frozenset[str] | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The published rows of ``kind`` decided in [since, until) (None: up to now), in ``scope``
    (jurisdictions; None: all)."""
    if kind == "licence":
        return []
    cur.execute(_SQL[kind], {"since": since, "until": until, "scope": None if scope is None else sorted(scope)})
    return cur.fetchall()


def _cell(value: object) -> object:
    return "" if value is None else value.isoformat() if isinstance(value, datetime) else value


def as_csv(kind: Kind, found: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = _COLUMNS[kind]
    writer.writerow(columns)
    for row in found:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue()
