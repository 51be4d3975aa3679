"""Inspectors' side of the schedule: today's task list, recording a visit, the random draw, exports.

The list is what ``firewarden tasks list`` prints and ``GET /api/tasks`` returns: an inspector's open
tasks due by the end of the day (overdue ones included), red premises first, then by score and due
date, each with the reason it is there (tier cadence, hazard, draw).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
from psycopg.types.json import Jsonb

from alerts import checklists
from alerts.checklists import Check, Item
from alerts.errors import ActionError
from alerts.store import evidence
from alerts.store.checklists import current
from alerts.store.desk import Desk
from alerts.store.prevention import Outcome
from core.db import Cursor, Pool, live_state, locked, transaction
from core.db.audit import record as audit
from core.words import Label, Lang, label, render


@dataclass(frozen=True, slots=True)
class TaskItem:
    id: int
    kind: str
    premises_id: str
    premises_name: str
    address: str
    tier: str | None
    score: float | None
    due_at: datetime
    reason: str
    """The label in English (the ``reason`` column)."""
    label: Label
    """Why the task is there, as a message (:mod:`core.words`)."""
    hazard_id: int | None
    live: str | None = None
    """The premises' live state: the class of its most urgent open incident (:func:`core.db.live_state`)."""

    def as_json(self) -> dict[str, object]:
        out = asdict(self)
        out["due_at"] = self.due_at.isoformat()
        return out


_LIST = f"""
SELECT t.id, t.kind, t.premises_id, p.name AS premises_name, p.address, s.tier, s.score, t.due_at, t.reason,
       t.label, t.hazard_id, {live_state("t.premises_id")} AS live
FROM tasks t
JOIN premises p ON p.id = t.premises_id
LEFT JOIN premises_schedule s ON s.premises_id = t.premises_id
WHERE t.state = 'open' AND t.inspector_id = %s AND t.due_at < %s
ORDER BY CASE s.tier WHEN 'red' THEN 0 WHEN 'orange' THEN 1 WHEN 'yellow' THEN 2 WHEN 'blue' THEN 3 ELSE 4 END,
         s.score DESC NULLS LAST, t.due_at, t.id
"""


def end_of_day(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tz)


def task_list(desk: Desk, inspector_id: str, until: datetime) -> list[TaskItem]:
    """``inspector_id``'s open tasks due before ``until``; raises ActionError for an unknown inspector."""
    if inspector_id not in desk.roster.inspectors:
        raise ActionError(f"no inspector {inspector_id!r} in the registry")
    with desk.cursor() as cur:
        cur.execute(_LIST, (inspector_id, until))
        rows = cur.fetchall()
    return [TaskItem(**(row | {"label": row["label"] or label("text", text=row["reason"])})) for row in rows]


def as_csv(items: list[TaskItem], lang: Lang = "zh") -> str:
    """One row per task; ``reason`` in ``lang``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "kind", "premises_id", "premises_name", "address", "tier", "score", "due_at", "reason"])
    for i in items:
        score = "" if i.score is None else f"{i.score:.1f}"
        writer.writerow([i.id, i.kind, i.premises_id, i.premises_name, i.address, i.tier or "", score,
                         i.due_at.isoformat(), render(lang, i.label)])  # fmt: skip
    return out.getvalue()


def as_ical(items: list[TaskItem], inspector_id: str, lang: Lang = "zh") -> bytes:
    """One all-day VTODO per task (RFC 5545), due on its due date; the UID is stable per task; the
    description (the task's reason) in ``lang``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Firewarden//inspection tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Firewarden tasks {inspector_id}")
    for item in items:
        todo = icalendar.Todo()
        todo.add("uid", f"task-{item.id}@firewarden")
        todo.add("summary", f"[{item.tier or '-'}] {item.kind}: {item.premises_name}")
        todo.add("description", render(lang, item.label))
        todo.add("location", item.address)
        todo.add("due", item.due_at)
        todo.add("dtstamp", item.due_at)
        todo.add("priority", {"red": 1, "orange": 3, "yellow": 5, "blue": 9}.get(item.tier or "", 9))
        calendar.add_component(todo)
    ical: bytes = calendar.to_ical()
    return ical


def record_result(
    desk: Desk, task_id: int, actor: str, findings: list[str], now: datetime, checks: Sequence[Check] = ()
) -> Outcome:
    """Record a visit: a clean one, or findings that each open a hazard, and the result of each
    checklist item checked (:mod:`alerts.checklists`): a failed item opens a hazard due by its
    severity's deadline. The next inspection is scheduled.

    A hazard task takes no findings nor checks: recording it confirms the fix and closes the hazard
    (refused while the hazard's signal is still active). An item that is not in the checklist of the
    premises' category, or appears twice, refuses the whole visit.
    """
    out = Outcome()
    with desk.cursor() as cur:
        task = locked(cur, "tasks", task_id, what="task", error=ActionError, states=("open",),
                      refused="task {key} is already {state}")  # fmt: skip
        if task["kind"] == "hazard":
            if findings or checks:
                raise ActionError(f"task {task_id} follows up a hazard: record the fix (no findings) to close it")
            return desk.prevention.close_hazard_in(cur, task["hazard_id"], actor, "fixed, confirmed on site", now)
        version, checked = checked_items(cur, task, checks, now)
        failed = any(c.result == "fail" for c, _ in checked)
        result = "findings" if findings or failed else "clean"
        cur.execute(
            "UPDATE tasks SET state = 'done', done_at = %s, done_by = %s, result = %s, findings = %s WHERE id = %s",
            (now, actor, result, Jsonb(findings), task_id),
        )
        audit(cur, now, actor, "task.done", f"task:{task_id}", result=result, findings=findings)
        policy = desk.policy.schedule
        for n, finding in enumerate(findings, start=1):
            said = label("hazard.finding", text=finding)
            source = f"task:{task_id}:{n}"
            out.add(desk.prevention.open_hazard(cur, task["premises_id"], source, "inspection_finding", said, now,
                                                policy.finding_deadline_days, now, False))  # fmt: skip
        for check, item in checked:
            assert version is not None
            out.add(record_check(desk, cur, task, check, item, version, actor, now))
        cur.execute(
            "UPDATE premises_schedule SET last_inspected_at = %s WHERE premises_id = %s RETURNING tier, tier_since",
            (now, task["premises_id"]),
        )
        schedule = cur.fetchone()
        if schedule is not None:
            desk.prevention.schedule_inspection(
                cur, task["premises_id"], schedule["tier"], schedule["tier_since"], now, now
            )
    return out


def checked_items(
    cur: Cursor, task: dict[str, Any], checks: Sequence[Check], now: datetime
) -> tuple[checklists.Version | None, list[tuple[Check, Item]]]:
    """The checklists in use (None without checks) and each check with its item; raises ActionError for
    an item the checklist of the premises' category does not have, one checked twice, or a photo that
    is not stored."""
    if not checks:
        return None, []
    version = current(cur, now)
    cur.execute("SELECT category FROM premises WHERE id = %s", (task["premises_id"],))
    row = cur.fetchone()
    category = row["category"] if row is not None else ""
    items = {i.id: i for i in version.checklists.for_category(category)}
    out, seen = [], set()
    for check in checks:
        if check.item in seen:
            raise ActionError(f"checklist item {check.item!r} is checked twice")
        seen.add(check.item)
        if check.photo is not None and not evidence.known(cur, check.photo):
            raise ActionError(f"checklist item {check.item!r}: photo {check.photo} is not stored as evidence")
        item = items.get(check.item)
        if item is None:
            raise ActionError(
                f"checklist item {check.item!r} is not in the checklist for {category} "
                f"(checklists version {version.number})"
            )
        out.append((check, item))
    return version, out


def record_check(
    desk: Desk, cur: Cursor, task: dict[str, Any], check: Check, item: Item,
    version: checklists.Version, actor: str, now: datetime, self_check: bool = False,
) -> Outcome:  # fmt: skip
    """One item's result; a failed one opens a hazard, self-reported (主动申报) on a unit's self-check."""
    out, hazard_id = Outcome(), None
    if check.result == "fail":
        rule = version.checklists.severities[item.severity]
        said = label("hazard.checklist", item=item.id, zh=item.zh, en=item.en, basis=item.basis, note=check.note)
        source = f"{'self:' if self_check else ''}task:{task['id']}:item:{item.id}"
        out = desk.prevention.open_hazard(cur, task["premises_id"], source, "checklist_item", said, now,
                                          rule.deadline_days, now, False)  # fmt: skip
        cur.execute(
            "UPDATE hazards SET self_reported = self_reported OR %s "
            "WHERE premises_id = %s AND source = %s AND state <> 'closed' RETURNING id",
            (self_check, task["premises_id"], source),
        )
        row = cur.fetchone()
        hazard_id = row["id"] if row is not None else None
    cur.execute(
        "INSERT INTO task_checks (task_id, item_id, version, text_zh, text_en, basis, severity, result, note, "
        "hazard_id, recorded_at, recorded_by, photo) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (task["id"], item.id, version.number, item.zh, item.en, item.basis, item.severity, check.result, check.note,
         hazard_id, now, actor, check.photo),
    )  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class TaskChecklist:
    """A task's checklist: the task (id, kind, state, premises_id, category), the version in use with its
    severities, the items of the premises' category (none for a hazard's follow-up) and what was recorded."""

    task: dict[str, object]
    version: int
    severities: dict[str, object]
    items: list[dict[str, object]]
    recorded: list[dict[str, object]]


def task_checklist(pool: Pool, task_id: int, now: datetime) -> TaskChecklist:
    """The checklist in use for the task's premises category, with each item's result if recorded.
    Raises ActionError for an unknown task."""
    with transaction(pool) as cur:
        version = current(cur, now)
        cur.execute(
            "SELECT t.id, t.kind, t.state, p.id AS premises_id, p.category FROM tasks t "
            "JOIN premises p ON p.id = t.premises_id WHERE t.id = %s",
            (task_id,),
        )
        task = cur.fetchone()
        if task is None:
            raise ActionError(f"no task {task_id}")
        cur.execute("SELECT * FROM task_checks WHERE task_id = %s ORDER BY item_id", (task_id,))
        recorded = cur.fetchall()
    items = [i.model_dump(mode="json") for i in version.checklists.for_category(task["category"])]
    severities = version.checklists.model_dump(mode="json")["severities"]
    return TaskChecklist(task, version.number, severities, items if task["kind"] != "hazard" else [], recorded)


def record_self_check(
    desk: Desk, premises_id: str, checks: Sequence[Check], actor: str, now: datetime
) -> tuple[int, Outcome]:
    """A unit's self-check: a done task of kind ``self_check`` with each item's result; a failed item
    opens a self-reported hazard with the item's deadline. Returns the task's id."""
    if not checks:
        raise ActionError("a self-check records the result of at least one checklist item")
    out = Outcome()
    with desk.cursor() as cur:
        said = label("task.self_check", by=actor)
        cur.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, label, due_at, created_at, state, "
            "done_at, done_by, result, findings) VALUES (%s, %s, NULL, 'self_check', %s, %s, %s, %s, 'done', %s, %s, "
            "'clean', '[]') RETURNING *",
            (f"self_check:{premises_id}:{secrets.token_hex(6)}", premises_id, f"self-check by {actor}", Jsonb(said),
             now, now, now, actor),
        )  # fmt: skip
        task = cur.fetchone()
        assert task is not None
        version, checked = checked_items(cur, task, checks, now)
        assert version is not None
        for check, item in checked:
            out.add(record_check(desk, cur, task, check, item, version, actor, now, self_check=True))
        failed = sum(1 for c, _ in checked if c.result == "fail")
        if failed:
            cur.execute("UPDATE tasks SET result = 'findings' WHERE id = %s", (task["id"],))
        audit(cur, now, actor, "self_check.done", f"task:{task['id']}", premises=premises_id, items=len(checked),
              failed=failed)  # fmt: skip
    return int(task["id"]), out
