"""The dual-prevention part of the alert desk (a :class:`~alerts.store.desk.Desk`'s ``prevention``):
hazards (隐患排查治理) and the risk-tiered schedule (风险分级管控).

A signal-derived hazard opens when its signal has lasted the policy's time, is assigned to the
premises' regular inspector with a deadline and a follow-up task, turns ``recovered`` when the signal
clears, and closes only when someone confirms the fix. An overdue hazard escalates one jurisdiction up
and goes back to scoring as feedback. A tier change moves the premises' inspection task and, on
entering a tier whose policy asks for it, issues a warning notice to the responsible unit.

Like the rest of the desk, every method runs inside the caller's transaction (``cur``) and takes
``now`` as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerts.errors import ActionError
from alerts.outbox import Directory
from alerts.roster import Roster
from alerts.schedule import TIER_RANK, hazard_deadline, inspection_due
from alerts.store.outbox import enqueue
from core.db import Cursor, Pool, locked, transaction
from core.db.audit import record as audit
from core.policy import Policy
from core.words import Label, label, render
from scoring import Feedback, RiskScore, Signal

SYSTEM = "system"
"""The actor of what the desk does by itself (opening, escalating); people are ``operator:<name>`` etc."""


def reschedule_inspection(cur: Cursor, premises_id: str, policy: Policy) -> bool:
    """Move the premises' open inspection task to the due date its tier, last inspection and credit give
    now: after its credit changed, a listed unit is visited on the shortened period (the policy's
    ``credit.cadence_factor``) from this task on, not from the next. False when it has no open one."""
    cur.execute(
        "SELECT s.tier, s.tier_since, s.last_inspected_at, p.credit_status FROM premises_schedule s "
        "JOIN premises p ON p.id = s.premises_id WHERE s.premises_id = %s",
        (premises_id,),
    )
    row = cur.fetchone()
    if row is None:
        return False
    factor = policy.credit.factor(row["credit_status"])
    due = inspection_due(row["tier"], row["tier_since"], row["last_inspected_at"], policy.schedule, factor)
    cur.execute(
        "UPDATE tasks SET due_at = %s, reason = %s, label = %s WHERE dedup_key = %s AND state = 'open'",
        (due.at, render("en", due.reason), Jsonb(due.reason), f"inspection:{premises_id}"),
    )
    return cur.rowcount > 0


@dataclass(slots=True)
class Outcome:
    """What a desk call produced besides its rows: messages queued, and feedback for scoring."""

    queued: int = 0
    feedback: list[Feedback] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.queued += other.queued
        self.feedback.extend(other.feedback)


class Prevention:
    """Hazards and the risk-tiered schedule: what the desk does with signals that last and with tier changes,
    and what people do with hazards. Every method but :meth:`close_hazard` runs in the caller's transaction."""

    def __init__(self, pool: Pool, roster: Roster, policy: Policy, directory: Directory) -> None:
        self.pool = pool
        self.roster = roster
        self.policy = policy
        self.directory = directory

    # ---- hazards (隐患排查治理) ------------------------------------------------------------------

    def on_signal(self, cur: Cursor, signal: Signal, now: datetime) -> Outcome:
        rule = self.policy.schedule.hazards.get(signal.rule)
        if rule is None:
            return Outcome()
        if signal.state == "cleared":
            cur.execute(
                "DELETE FROM hazard_watch WHERE premises_id = %s AND signal_key = %s", (signal.premises_id, signal.key)
            )
            cur.execute(
                "UPDATE hazards SET state = 'recovered', signal_active = false, recovered_at = %s "
                "WHERE premises_id = %s AND source = %s AND state = 'open' RETURNING id",
                (signal.time, signal.premises_id, signal.key),
            )
            for row in cur.fetchall():
                audit(cur, now, SYSTEM, "hazard.recovered", f"hazard:{row['id']}", signal=signal.key)
            return Outcome()
        cur.execute(
            "UPDATE hazards SET state = 'open', signal_active = true, recovered_at = NULL "
            "WHERE premises_id = %s AND source = %s AND state = 'recovered' RETURNING id",
            (signal.premises_id, signal.key),
        )
        if cur.fetchall():
            return Outcome()  # the condition came back before anyone confirmed the fix
        if rule.after_s > 0:
            cur.execute(
                "INSERT INTO hazard_watch (premises_id, signal_key, rule, device_id, raised_at, due_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (signal.premises_id, signal.key, signal.rule, signal.device_id, signal.time,
                 signal.time + timedelta(seconds=rule.after_s)),
            )  # fmt: skip
            return Outcome()
        said = label("hazard.signal", rule=signal.rule, device=signal.device_id)
        return self.open_hazard(
            cur, signal.premises_id, signal.key, signal.rule, said, signal.time, rule.deadline_days, now, True
        )

    def open_hazard(
        self,
        cur: Cursor,
        premises_id: str,
        source: str,
        rule: str,
        said: Label,
        opened_at: datetime,
        deadline_days: float,
        now: datetime,
        signal_active: bool,
    ) -> Outcome:
        """A hazard assigned to the premises' regular inspector, with a follow-up task due at its deadline.
        ``said`` is what it is (a message label); its English rendering fills the ``title`` column."""
        title = render("en", said)
        site = self.roster.sites.get(premises_id)
        inspector = self.roster.regular_inspector(premises_id)
        deadline = hazard_deadline(opened_at, deadline_days)
        cur.execute(
            "INSERT INTO hazards (premises_id, source, rule, title, label, state, opened_at, deadline, inspector_id, "
            "unit_name, signal_active) VALUES (%s, %s, %s, %s, %s, 'open', %s, %s, %s, %s, %s) "
            "ON CONFLICT (premises_id, source) WHERE state <> 'closed' DO NOTHING RETURNING id",
            (premises_id, source, rule, title, Jsonb(said), opened_at, deadline, inspector.id if inspector else None,
             site.unit_name if site else "", signal_active),
        )  # fmt: skip
        row = cur.fetchone()
        if row is None:
            return Outcome()  # already open
        hazard_id = row["id"]
        audit(cur, now, SYSTEM, "hazard.opened", f"hazard:{hazard_id}", premises=premises_id, rule=rule)
        self.task(
            cur, f"hazard:{hazard_id}", premises_id, inspector.id if inspector else None, "hazard",
            label("task.hazard", hazard=said, deadline=deadline), deadline, now, hazard_id=hazard_id,
        )  # fmt: skip
        recipients = [self.directory.centre()]
        if inspector is not None:
            recipients.append(self.directory.inspector(inspector))
        if site is not None:
            recipients.append(self.directory.unit(site))
        payload = {
            "event": "hazard.opened",
            "hazard": {
                "id": hazard_id,
                "title": render("zh", said),
                "title_en": title,
                "label": said,
                "rule": rule,
                "deadline": deadline.isoformat(),
            },
            "premises": {"id": premises_id, "name": site.name if site else ""},
        }
        queued = enqueue(
            cur, key=f"hazard-{hazard_id}/opened", kind="hazard", premises_id=premises_id,
            recipients=recipients, payload=payload, now=now,
        )  # fmt: skip
        return Outcome(queued=queued)

    def due(self, cur: Cursor, now: datetime) -> Outcome:
        """Hazards whose signal has lasted the policy's time by ``now``: opened."""
        out = Outcome()
        cur.execute(
            "DELETE FROM hazard_watch WHERE ctid IN (SELECT ctid FROM hazard_watch WHERE due_at <= %s "
            "LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING premises_id, signal_key, rule, device_id, due_at",
            (now,),
        )
        for watch in cur.fetchall():
            rule = self.policy.schedule.hazards.get(watch["rule"])
            if rule is not None:
                out.add(
                    self.open_hazard(
                        cur, watch["premises_id"], watch["signal_key"], watch["rule"],
                        label("hazard.signal", rule=watch["rule"], device=watch["device_id"]), watch["due_at"],
                        rule.deadline_days, now, True,
                    )
                )  # fmt: skip
        return out

    def overdue(self, cur: Cursor, now: datetime) -> Outcome:
        cur.execute(
            "UPDATE hazards SET overdue_at = %s WHERE id IN (SELECT id FROM hazards WHERE state <> 'closed' "
            "AND overdue_at IS NULL AND deadline <= %s LIMIT 500 FOR UPDATE SKIP LOCKED) "
            "RETURNING id, premises_id, title, deadline, inspector_id",
            (now, now),
        )
        out = Outcome()
        for hazard in cur.fetchall():
            premises_id = hazard["premises_id"]
            site = self.roster.sites.get(premises_id)
            recipients = {"centre": self.directory.centre()}
            # Escalates one jurisdiction level up, and still tells the assigned inspector and the unit.
            for inspector in self.roster.route(premises_id, now, level=1).inspectors:
                recipients[f"inspector:{inspector.id}"] = self.directory.inspector(inspector)
            if (assigned := self.roster.inspectors.get(hazard["inspector_id"] or "")) is not None:
                recipients[f"inspector:{assigned.id}"] = self.directory.inspector(assigned)
            if site is not None:
                recipients[f"unit:{site.id}"] = self.directory.unit(site)
            payload = {
                "event": "hazard.overdue",
                "hazard": {"id": hazard["id"], "title": hazard["title"], "deadline": hazard["deadline"].isoformat()},
                "premises": {"id": premises_id, "name": site.name if site else ""},
            }
            out.queued += enqueue(
                cur, key=f"hazard-{hazard['id']}/overdue", kind="hazard_overdue", premises_id=premises_id,
                recipients=recipients.values(), payload=payload, now=now,
            )  # fmt: skip
            audit(cur, now, SYSTEM, "hazard.overdue", f"hazard:{hazard['id']}", deadline=hazard["deadline"].isoformat())
            out.feedback.append(Feedback(now, premises_id, "hazard_overdue", str(hazard["id"])))
        return out

    def close_hazard(self, hazard_id: int, actor: str, note: str, now: datetime) -> Outcome:
        """Someone confirms the fix. Refused while the hazard's signal is still active."""
        with transaction(self.pool) as cur:
            return self.close_hazard_in(cur, hazard_id, actor, note, now)

    def close_hazard_in(self, cur: Cursor, hazard_id: int, actor: str, note: str, now: datetime) -> Outcome:
        hazard = locked(cur, "hazards", hazard_id, what="hazard", error=ActionError, states=("open", "recovered"),
                        refused="hazard {key} is already {state}")  # fmt: skip
        if hazard["signal_active"]:
            raise ActionError(
                f"hazard {hazard_id} ({hazard['title']}) cannot close: its signal is still active; "
                "it closes once the signal recovers and someone confirms"
            )
        cur.execute(
            "UPDATE hazards SET state = 'closed', closed_at = %s, closed_by = %s, note = %s, "
            "delisted_at = CASE WHEN listed_at IS NOT NULL THEN %s END WHERE id = %s",
            (now, actor, note, now, hazard_id),
        )
        cur.execute(
            "UPDATE tasks SET state = 'done', done_at = %s, done_by = %s, result = 'closed' "
            "WHERE hazard_id = %s AND state = 'open'",
            (now, actor, hazard_id),
        )
        audit(cur, now, actor, "hazard.closed", f"hazard:{hazard_id}", note=note)
        if hazard["listed_at"] is not None:  # 销案: a major hazard leaves the supervision list as it closes
            audit(cur, now, actor, "hazard.delisted", f"hazard:{hazard_id}", premises=hazard["premises_id"])
        out = Outcome()
        if hazard["overdue_at"] is not None:
            out.feedback.append(Feedback(now, hazard["premises_id"], "hazard_closed", str(hazard_id)))
        return out

    # ---- the schedule (风险分级管控) -------------------------------------------------------------

    def on_risk(self, cur: Cursor, risk: RiskScore, now: datetime) -> Outcome:
        cur.execute(
            "SELECT tier, tier_since, last_inspected_at FROM premises_schedule WHERE premises_id = %s FOR UPDATE",
            (risk.premises_id,),
        )
        row = cur.fetchone()
        if row is not None and row["tier"] == risk.tier:
            cur.execute(
                "UPDATE premises_schedule SET score = %s WHERE premises_id = %s", (risk.score, risk.premises_id)
            )
            return Outcome()
        cur.execute(
            "INSERT INTO premises_schedule (premises_id, tier, tier_since, score) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (premises_id) DO UPDATE SET tier = excluded.tier, tier_since = excluded.tier_since, "
            "score = excluded.score",
            (risk.premises_id, risk.tier, risk.time, risk.score),
        )
        last_inspected = row["last_inspected_at"] if row else None
        self.schedule_inspection(cur, risk.premises_id, risk.tier, risk.time, last_inspected, now)
        audit(cur, now, SYSTEM, "tier.changed", f"premises:{risk.premises_id}",
              tier=risk.tier, previous=row["tier"] if row else None, score=round(risk.score, 1))  # fmt: skip
        out = Outcome()
        entering = row is None or TIER_RANK[risk.tier] < TIER_RANK[row["tier"]]
        route = self.roster.route(risk.premises_id, now)
        site = self.roster.sites.get(risk.premises_id)
        if entering and self.policy.schedule.tiers[risk.tier].warning_notice and site is not None:
            out.queued += self._notice(cur, risk, site.jurisdiction_id, route.inspectors, now)
        if row is not None and self.policy.alerts.tier_changes:
            payload = {
                "event": "tier.changed",
                "premises": {"id": risk.premises_id, "name": site.name if site else ""},
                "tier": risk.tier,
                "previous_tier": row["tier"],
                "score": round(risk.score, 1),
                "factors": [{"name": f.name, "points": round(f.points, 1)} for f in risk.factors],
            }
            recipients = [self.directory.centre(), *(self.directory.inspector(i) for i in route.inspectors)]
            out.queued += enqueue(
                cur, key=f"tier-{risk.premises_id}-{risk.revision}", kind="tier_change",
                premises_id=risk.premises_id, recipients=recipients, payload=payload, now=now,
            )  # fmt: skip
        return out

    def _notice(self, cur: Cursor, risk: RiskScore, jurisdiction_id: str, on_duty: Any, now: datetime) -> int:
        """The warning notice (火灾风险分级警示): to the unit, the centre, the inspectors on duty and the
        premises' supervising departments."""
        site = self.roster.sites[risk.premises_id]
        said = label(
            "notice.tier", premises=site.name, tier=risk.tier, score=round(risk.score),
            factors=[f.name for f in risk.factors], unit=site.unit_name,
        )  # fmt: skip
        text = render("zh", said)
        cur.execute(
            "INSERT INTO notices (premises_id, tier, score, issued_at, unit_name, jurisdiction_id, text, label) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (risk.premises_id, risk.tier, risk.score, now, site.unit_name, jurisdiction_id, text, Jsonb(said)),
        )
        row = cur.fetchone()
        assert row is not None
        audit(cur, now, SYSTEM, "notice.issued", f"premises:{risk.premises_id}", notice=row["id"], tier=risk.tier,
              departments=list(site.departments))  # fmt: skip
        departments = [self.roster.departments[d] for d in site.departments if d in self.roster.departments]
        recipients = [
            self.directory.unit(site), self.directory.centre(), *map(self.directory.inspector, on_duty),
            *map(self.directory.department, departments),
        ]  # fmt: skip
        notice = {"id": row["id"], "tier": risk.tier, "text": text, "text_en": render("en", said), "label": said}
        payload = {"event": "notice.issued", "notice": notice,
                   "premises": {"id": site.id, "name": site.name}}  # fmt: skip
        return enqueue(
            cur, key=f"notice-{row['id']}", kind="notice", premises_id=site.id,
            recipients=recipients, payload=payload, now=now,
        )  # fmt: skip

    def schedule_inspection(
        self,
        cur: Cursor,
        premises_id: str,
        tier: str,
        tier_since: datetime,
        last_inspected: datetime | None,
        now: datetime,
    ) -> None:
        cur.execute("SELECT credit_status FROM premises WHERE id = %s", (premises_id,))
        credit = cur.fetchone()
        factor = self.policy.credit.factor(credit["credit_status"]) if credit is not None else 1.0
        due = inspection_due(tier, tier_since, last_inspected, self.policy.schedule, factor)
        inspector = self.roster.regular_inspector(premises_id)
        self.task(cur, f"inspection:{premises_id}", premises_id, inspector.id if inspector else None,
                   "inspection", due.reason, due.at, now, tier=tier)  # fmt: skip

    def task(
        self,
        cur: Cursor,
        key: str,
        premises_id: str,
        inspector_id: str | None,
        kind: str,
        reason: Label,
        due_at: datetime,
        now: datetime,
        *,
        tier: str | None = None,
        hazard_id: int | None = None,
    ) -> None:
        """The open task of ``key``, created or moved to its new due date and reason (a message label; its
        English rendering fills the ``reason`` column)."""
        cur.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, label, tier, due_at, created_at, "
            "state, hazard_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', %s) "
            "ON CONFLICT (dedup_key) WHERE state = 'open' DO UPDATE SET due_at = excluded.due_at, "
            "reason = excluded.reason, label = excluded.label, tier = excluded.tier, "
            "inspector_id = excluded.inspector_id",
            (key, premises_id, inspector_id, kind, render("en", reason), Jsonb(reason), tier, due_at, now, hazard_id),
        )
