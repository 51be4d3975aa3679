"""The report's figures, each computed in SQL from the stored facts of a period and a jurisdiction.

A jurisdiction covers its descendants (a district its fire stations and grids). Every figure is a
:class:`Table` of codes and counts; :mod:`report.words` names the codes, :mod:`report.charts` draws
the tables, and a table is printed under every chart.

What counts, exactly (docs/report.md says the same for readers):
- premises by category and tier: the tier of each premises' latest risk score at the period's end
  (``unscored`` without one); tier moves: risk scores within the period whose tier differs from
  the previous one.
- live state: premises with an incident open at the period's end, by the class of the most urgent
  one (fire, alarm, hazard, supervisory, trouble) and by their tier then.
- inspections: tasks due within the period, done within it, done by their due date, and due within
  it but still open at the end; kind ``cadence`` (tier cadence), ``draw``, ``after_fire`` (tasks
  opened after a fire) and ``recheck`` (a hazard's follow-up); a unit's self-check is no inspection.
- hazards: opened within the period (found), closed within it (rectified), past their deadline
  within it (overdue); by source (``signal``, ``checklist`` for inspection findings,
  ``self_report``, ``false_alarms``) and by rule.
- alarms: alarm-class incidents (fire, alarm, nuisance) opened within the period; a confirmed fire is
  an incident of class fire; the false-alarm share is of the resolved alarm-class incidents; time to
  acknowledge counts from opening to the acknowledgement (or the resolution, if nobody acknowledged).
- enforcement: case steps that took effect within the period (rectification orders, re-checks,
  seal-ups, stops, penalties and their fines, no-penalty decisions) and major hazards listed
  (挂牌督办) and closed (销案) within it.
- credit: premises by credit status when the report is made, and per status the premises listed
  into it (changes to it) and repaired out of it (信用修复) within the period.
- device health: devices whose latest offline signal at the period's end is raised; fault
  (``trouble``) signals raised within the period, by rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db.live import LIVE_CLASSES, class_priority
from core.domain import CATEGORIES, CREDIT_STATUSES
from report.errors import ReportError
from report.period import Period

TIERS = ("red", "orange", "yellow", "blue", "unscored")
TASK_KINDS = ("cadence", "draw", "after_fire", "recheck")
HAZARD_SOURCES = ("signal", "checklist", "self_report", "false_alarms")
ENFORCEMENT = ("orders", "rechecks", "seal_ups", "three_stops", "penalties", "no_penalty", "fines_yuan",
               "major_listed", "major_closed")  # fmt: skip
_STEP_MEASURE = {"order": "orders", "recheck": "rechecks", "seal_up": "seal_ups", "stop": "three_stops",
                 "penalty": "penalties", "exemption": "no_penalty"}  # fmt: skip

_SCOPE = """WITH RECURSIVE scope(id) AS (
    SELECT id FROM jurisdictions WHERE %(jurisdiction)s::text IS NULL OR id = %(jurisdiction)s
    UNION SELECT j.id FROM jurisdictions j JOIN scope s ON j.parent_id = s.id)
"""
_IN_SCOPE = "{column} IN (SELECT id FROM scope)"

_TASK_KIND = """CASE WHEN t.kind = 'draw' THEN 'draw' WHEN t.kind = 'hazard' THEN 'recheck'
    WHEN t.dedup_key LIKE 'after_fire:%%' THEN 'after_fire' ELSE 'cadence' END"""
_HAZARD_SOURCE = """CASE WHEN h.source LIKE 'task:%%' THEN 'checklist' WHEN h.source LIKE 'self:%%' THEN 'self_report'
    WHEN h.source = 'false_alarms' THEN 'false_alarms' ELSE 'signal' END"""
_ALARM_CLASSES = "('fire', 'alarm', 'nuisance')"
_ACK_S = "extract(epoch FROM coalesce(i.acknowledged_at, i.resolved_at) - i.opened_at)"


@dataclass(slots=True)
class Table:
    """Rows of values under column codes; the first column names the row (a code or an id)."""

    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)

    def column(self, name: str) -> list[object]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def numbers(self, name: str) -> list[float | None]:
        """A column of counts, shares or durations as numbers (None where there is none)."""
        return [None if v is None else float(v) if isinstance(v, int | float | Decimal) else float(str(v))
                for v in self.column(name)]  # fmt: skip

    def counts(self, name: str) -> list[float]:
        """A column of counts (a missing one is 0)."""
        return [v or 0.0 for v in self.numbers(name)]

    def texts(self, name: str) -> list[str]:
        """A column of codes, ids or labels."""
        return ["" if v is None else str(v) for v in self.column(name)]

    def row(self, key: object) -> dict[str, object]:
        """The row whose first value is ``key``, by column."""
        for r in self.rows:
            if r[0] == key:
                return dict(zip(self.columns, r, strict=True))
        raise KeyError(key)


@dataclass(slots=True)
class Figures:
    period: Period
    jurisdiction: dict[str, object] | None
    jurisdictions: list[str]
    generated_at: datetime
    tables: dict[str, Table]
    totals: dict[str, object]


def compute(conn: psycopg.Connection[Any], period: Period, jurisdiction: str | None, now: datetime) -> Figures:
    """Every figure of the report. Raises :class:`~report.errors.ReportError` for an unknown jurisdiction."""
    params: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "start": period.start,
        "end": period.end,
        "at_end": period.clipped(now),
        "tz": str(period.start.tzinfo),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        named = None
        if jurisdiction is not None:
            named = cur.execute("SELECT id, name, kind FROM jurisdictions WHERE id = %s", (jurisdiction,)).fetchone()
            if named is None:
                raise ReportError(f"no jurisdiction {jurisdiction!r} in the registry")
        ids = [r["id"] for r in cur.execute(_SCOPE + "SELECT id FROM scope ORDER BY id", params).fetchall()]
        tables = {
            "premises": _premises(cur, params),
            "live": _live(cur, params),
            "tier_moves": _tier_moves(cur, params),
            "inspections": _inspections(cur, params),
            "hazards_by_source": _hazards(cur, params, _HAZARD_SOURCE, HAZARD_SOURCES),
            "hazards_by_rule": _hazards(cur, params, "h.rule", ()),
            "enforcement": _enforcement(cur, params),
            "credit": _credit(cur, params),
            "alarms_by_jurisdiction": _alarms_by_jurisdiction(cur, params),
            "alarms_by_month": _alarms_by_month(cur, params, period),
            "devices": _devices(cur, params),
            "faults_by_rule": _faults(cur, params),
            "notices": _notices(cur, params),
        }
        totals = _alarm_totals(cur, params)
    totals["premises"] = sum(r[-1] for r in tables["premises"].rows)
    return Figures(period, named, ids, now, tables, totals)


_TIER_AT_END = (
    "LEFT JOIN LATERAL (SELECT tier FROM risk_scores WHERE premises_id = p.id AND time < %(at_end)s "
    "  ORDER BY time DESC, revision DESC LIMIT 1) r ON TRUE "
)
"""Each premises' tier at the period's end (``r.tier``; NULL: never scored by then)."""


def _premises(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE
        + "SELECT p.category, coalesce(r.tier, 'unscored') AS tier, count(*) AS n FROM premises p "
        + _TIER_AT_END
        + f"WHERE {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1, 2",
        params,
    ).fetchall()
    found = {r["category"] for r in rows}
    return _by_tier("category", rows, [c for c in CATEGORIES if c in found] + sorted(found - set(CATEGORIES)))


def _live(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    """Premises by their live state at the period's end (the class of their most urgent incident open
    then), each by its tier then: what was happening there, before the long-run risk."""
    classes = ", ".join(f"'{c}'" for c in LIVE_CLASSES)
    rows = cur.execute(
        _SCOPE + "SELECT l.class AS live, coalesce(r.tier, 'unscored') AS tier, count(*) AS n FROM premises p "
        "JOIN LATERAL (SELECT i.class FROM incidents i WHERE i.premises_id = p.id "
        f"  AND i.class IN ({classes}) AND i.opened_at < %(at_end)s "
        "  AND (i.resolved_at IS NULL OR i.resolved_at >= %(at_end)s) "
        f"  ORDER BY {class_priority('i.class')} LIMIT 1) l ON TRUE "
        + _TIER_AT_END
        + f"WHERE {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1, 2",
        params,
    ).fetchall()
    found = {r["live"] for r in rows}
    return _by_tier("live", rows, [c for c in LIVE_CLASSES if c in found])


def _by_tier(key: str, rows: list[dict[str, Any]], order: list[str]) -> Table:
    """Rows of (``key``, tier, n) as a table: one line per ``key`` in ``order``, a column per tier, a total."""
    counts: dict[str, dict[str, int]] = {k: dict.fromkeys(TIERS, 0) for k in order}
    for r in rows:
        counts[r[key]][r["tier"]] = r["n"]
    return Table([key, *TIERS, "total"], [[k, *(counts[k][t] for t in TIERS), sum(counts[k].values())] for k in order])


def _tier_moves(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + "SELECT r.previous_tier, r.tier, count(*) AS n FROM risk_scores r "
        "JOIN premises p ON p.id = r.premises_id "
        "WHERE r.time >= %(start)s AND r.time < %(end)s AND r.previous_tier IS NOT NULL "
        f"AND r.previous_tier <> r.tier AND {_IN_SCOPE.format(column='p.jurisdiction_id')} "
        "GROUP BY 1, 2",
        params,
    ).fetchall()
    rank = {t: i for i, t in enumerate(TIERS)}
    rows.sort(key=lambda r: (rank.get(r["previous_tier"], 9), rank.get(r["tier"], 9)))
    return Table(["from", "to", "premises_moves"], [[r["previous_tier"], r["tier"], r["n"]] for r in rows])


def _inspections(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + f"SELECT {_TASK_KIND} AS kind, "
        "count(*) FILTER (WHERE t.due_at >= %(start)s AND t.due_at < %(end)s AND t.state <> 'cancelled') AS due, "
        "count(*) FILTER (WHERE t.done_at >= %(start)s AND t.done_at < %(end)s) AS done, "
        "count(*) FILTER (WHERE t.done_at >= %(start)s AND t.done_at < %(end)s AND t.done_at <= t.due_at) "
        "  AS done_on_time, "
        "count(*) FILTER (WHERE t.due_at >= %(start)s AND t.due_at < %(at_end)s "
        "  AND (t.state = 'open' OR t.done_at >= %(at_end)s)) AS overdue "
        "FROM tasks t JOIN premises p ON p.id = t.premises_id "
        f"WHERE t.kind <> 'self_check' AND {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1",
        params,
    ).fetchall()
    by = {r["kind"]: r for r in rows}
    columns = ["kind", "due", "done", "done_on_time", "overdue"]
    return Table(columns, [[k, *(by[k][c] if k in by else 0 for c in columns[1:])] for k in TASK_KINDS])


def _hazards(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any], key: str, order: tuple[str, ...]) -> Table:
    rows = cur.execute(
        _SCOPE + f"SELECT {key} AS key, "
        "count(*) FILTER (WHERE h.opened_at >= %(start)s AND h.opened_at < %(end)s) AS found, "
        "count(*) FILTER (WHERE h.closed_at >= %(start)s AND h.closed_at < %(end)s) AS rectified, "
        "count(*) FILTER (WHERE h.deadline >= %(start)s AND h.deadline < %(at_end)s "
        "  AND coalesce(h.closed_at, 'infinity') > h.deadline) AS overdue, "
        "count(*) FILTER (WHERE h.opened_at < %(at_end)s AND coalesce(h.closed_at, 'infinity') >= %(at_end)s) "
        "  AS open_at_end "
        "FROM hazards h JOIN premises p ON p.id = h.premises_id "
        f"WHERE {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1",
        params,
    ).fetchall()
    by = {r["key"]: r for r in rows if r["found"] or r["rectified"] or r["overdue"] or r["open_at_end"]}
    keys = list(order) if order else sorted(by, key=lambda k: (-by[k]["found"], k))
    columns = ["key", "found", "rectified", "overdue", "open_at_end"]
    return Table(columns, [[k, *(by[k][c] if k in by else 0 for c in columns[1:])] for k in keys])


def _credit(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    """Premises by credit status now, and per status those listed into it and repaired out of it."""
    now = cur.execute(
        _SCOPE + "SELECT p.credit_status AS status, count(*) AS n FROM premises p "
        f"WHERE {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1",
        params,
    ).fetchall()
    moves = cur.execute(
        _SCOPE + "SELECT c.to_status, c.from_status, c.reason, count(*) AS n FROM credit_changes c "
        "JOIN premises p ON p.id = c.premises_id WHERE c.at >= %(start)s AND c.at < %(end)s "
        f"AND {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1, 2, 3",
        params,
    ).fetchall()
    by = {r["status"]: r["n"] for r in now}
    listed: dict[str, int] = {}
    repaired: dict[str, int] = {}
    for m in moves:
        if m["reason"] == "repair":
            repaired[m["from_status"]] = repaired.get(m["from_status"], 0) + m["n"]
        else:
            listed[m["to_status"]] = listed.get(m["to_status"], 0) + m["n"]
    keys = [*CREDIT_STATUSES, *sorted(set(by) - set(CREDIT_STATUSES))]
    return Table(["status", "premises", "listed", "repaired"],
                 [[s, by.get(s, 0), listed.get(s, 0), repaired.get(s, 0)] for s in keys])  # fmt: skip


def _enforcement(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    """Case steps in effect within the period, fines summed, and the major hazards listed and closed."""
    steps = cur.execute(
        _SCOPE + "SELECT s.kind, count(*) AS n, coalesce(sum(s.fine_yuan), 0) AS fines FROM case_steps s "
        "JOIN cases c ON c.id = s.case_id JOIN premises p ON p.id = c.premises_id "
        "WHERE s.state = 'effective' AND s.decided_at >= %(start)s AND s.decided_at < %(end)s "
        f"AND {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1",
        params,
    ).fetchall()
    major = cur.execute(
        _SCOPE + "SELECT count(*) FILTER (WHERE h.listed_at >= %(start)s AND h.listed_at < %(end)s) AS listed, "
        "count(*) FILTER (WHERE h.delisted_at >= %(start)s AND h.delisted_at < %(end)s) AS closed "
        "FROM hazards h JOIN premises p ON p.id = h.premises_id "
        f"WHERE h.listed_at IS NOT NULL AND {_IN_SCOPE.format(column='p.jurisdiction_id')}",
        params,
    ).fetchone()
    counts: dict[str, float] = dict.fromkeys(ENFORCEMENT, 0)
    for row in steps:
        if row["kind"] in _STEP_MEASURE:
            counts[_STEP_MEASURE[row["kind"]]] = row["n"]
        if row["kind"] == "penalty":
            counts["fines_yuan"] = float(row["fines"])
    counts["major_listed"], counts["major_closed"] = (major["listed"], major["closed"]) if major else (0, 0)
    return Table(["measure", "count"], [[m, counts[m]] for m in ENFORCEMENT])


_ALARM_MEASURES = (
    f"count(*) FILTER (WHERE i.class IN {_ALARM_CLASSES}) AS alarms, "
    "count(*) FILTER (WHERE i.class = 'fire') AS fires, "
    f"count(*) FILTER (WHERE i.class IN {_ALARM_CLASSES} AND i.state = 'resolved') AS resolved, "
    f"count(*) FILTER (WHERE i.class IN {_ALARM_CLASSES} AND i.resolution LIKE 'false_alarm%%') AS false_alarms, "
    f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {_ACK_S}) FILTER (WHERE i.class IN {_ALARM_CLASSES}) AS ack_p50_s, "
    f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {_ACK_S}) FILTER (WHERE i.class IN {_ALARM_CLASSES}) AS ack_p90_s"
)
_ALARM_WHERE = f"i.opened_at >= %(start)s AND i.opened_at < %(end)s AND {_IN_SCOPE.format(column='i.jurisdiction_id')}"


def _share(false_alarms: int, resolved: int) -> float | None:
    return false_alarms / resolved if resolved else None


def _alarm_totals(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    row = cur.execute(_SCOPE + f"SELECT {_ALARM_MEASURES} FROM incidents i WHERE {_ALARM_WHERE}", params).fetchone()
    assert row is not None
    row["false_alarm_share"] = _share(row["false_alarms"], row["resolved"])
    return dict(row)


def _alarms_by_jurisdiction(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + f"SELECT i.jurisdiction_id, {_ALARM_MEASURES} FROM incidents i WHERE {_ALARM_WHERE} "
        f"GROUP BY 1 HAVING count(*) FILTER (WHERE i.class IN {_ALARM_CLASSES}) > 0 ORDER BY 1",
        params,
    ).fetchall()
    columns = ["jurisdiction", "alarms", "fires", "resolved", "false_alarms", "false_alarm_share", "ack_p50_s",
               "ack_p90_s"]  # fmt: skip
    return Table(
        columns,
        [
            [r["jurisdiction_id"], r["alarms"], r["fires"], r["resolved"], r["false_alarms"],
             _share(r["false_alarms"], r["resolved"]), r["ack_p50_s"], r["ack_p90_s"]]
            for r in rows
        ],
    )  # fmt: skip


def _alarms_by_month(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any], period: Period) -> Table:
    rows = cur.execute(
        _SCOPE + "SELECT to_char(date_trunc('month', i.opened_at AT TIME ZONE %(tz)s), 'YYYY-MM') AS month, "
        f"{_ALARM_MEASURES} FROM incidents i WHERE {_ALARM_WHERE} GROUP BY 1",
        params,
    ).fetchall()
    by = {r["month"]: r for r in rows}
    out = Table(["month", "alarms", "fires", "resolved", "false_alarms", "false_alarm_share"])
    for month in period.months:
        key = f"{month:%Y-%m}"
        r = by.get(key)
        if r is None:
            out.rows.append([key, 0, 0, 0, 0, None])
        else:
            share = _share(r["false_alarms"], r["resolved"])
            out.rows.append([key, r["alarms"], r["fires"], r["resolved"], r["false_alarms"], share])
    return out


def _devices(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + "SELECT d.type, count(*) AS devices, count(o.device_id) AS offline FROM devices d "
        "JOIN premises p ON p.id = d.premises_id "
        "LEFT JOIN LATERAL (SELECT s.device_id, s.state FROM signals s WHERE s.premises_id = d.premises_id "
        "  AND s.device_id = d.id AND s.rule = 'device_offline' AND s.time < %(at_end)s "
        "  ORDER BY s.time DESC LIMIT 1) o ON o.state = 'raised' "
        f"WHERE {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1 ORDER BY 1",
        params,
    ).fetchall()
    return Table(
        ["device_type", "devices", "offline", "offline_share"],
        [[r["type"], r["devices"], r["offline"], r["offline"] / r["devices"]] for r in rows],
    )


def _faults(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + "SELECT s.rule, count(*) AS raised, count(DISTINCT s.device_id) AS devices FROM signals s "
        "JOIN premises p ON p.id = s.premises_id "
        "WHERE s.kind = 'trouble' AND s.state = 'raised' AND s.time >= %(start)s AND s.time < %(end)s "
        f"AND {_IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    ).fetchall()
    return Table(["rule", "raised", "devices"], [[r["rule"], r["raised"], r["devices"]] for r in rows])


def _notices(cur: psycopg.Cursor[dict[str, Any]], params: dict[str, Any]) -> Table:
    rows = cur.execute(
        _SCOPE + "SELECT n.tier, count(*) AS n FROM notices n "
        "WHERE n.issued_at >= %(start)s AND n.issued_at < %(end)s "
        f"AND {_IN_SCOPE.format(column='n.jurisdiction_id')} GROUP BY 1",
        params,
    ).fetchall()
    by = {r["tier"]: r["n"] for r in rows}
    return Table(["tier", "notices"], [[t, by.get(t, 0)] for t in ("red", "orange")])
