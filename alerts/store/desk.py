"""The alert desk: scoring's decisions and people's actions, applied to PostgreSQL one transaction each.

The decisions themselves are made by the pure functions of :mod:`alerts.incidents` and
:mod:`alerts.schedule`; the desk loads what they need, stores what they decide and queues the
messages (:mod:`alerts.store.outbox`) in the same transaction. Two desks may run against one database:
the open-incident constraint makes a race end in one incident, the loser folding its decision into
the winner's, and timers claim their rows with ``SKIP LOCKED``.

Methods are synchronous (psycopg); the service calls them from a worker thread. ``now`` is always a
parameter, so tests drive the desk with a fake clock.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts.errors import ActionError
from alerts.incidents import (
    RESOLUTIONS,
    Incident,
    Trigger,
    apply,
    escalation_step,
    first_escalation,
    join_fire,
    joins_fire,
    trigger_of,
    urgent,
)
from alerts.outbox import Directory, Recipient
from alerts.roster import Roster
from alerts.store.outbox import enqueue
from alerts.store.prevention import SYSTEM, Outcome, Prevention
from core.db import Connection, Cursor, Pool, locked, transaction
from core.db.audit import record as audit
from core.policy import Policy
from core.words import label, render
from scoring import AlarmDecision, Decision, Feedback, RiskScore, Signal

log = logging.getLogger(__name__)


_COLUMNS = (
    "id, dedup_key, premises_id, jurisdiction_id, zone, class, title, label, state, opened_at, updated_at, events, "
    "refs, inhibited_by, escalation_level, next_escalation_at, reminders, notified, acknowledged_at, acknowledged_by, "
    "evidence"
)


def _premises_lock(cur: Cursor, premises_id: str) -> None:
    """Serialise what changes a premises' incidents together (a fold that joins a fire, a fire resolved
    and the incidents it releases), so that no two transactions wait on each other's rows."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('incidents:' || %s))", (premises_id,))


def _incident(row: dict[str, Any]) -> Incident:
    return Incident(
        id=row["id"],
        dedup_key=row["dedup_key"],
        premises_id=row["premises_id"],
        jurisdiction_id=row["jurisdiction_id"],
        zone=row["zone"],
        cls=row["class"],
        label=row["label"] or label("text", text=row["title"]),
        state=row["state"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        events=row["events"],
        refs=dict(row["refs"]),
        inhibited_by=row["inhibited_by"],
        escalation_level=row["escalation_level"],
        next_escalation_at=row["next_escalation_at"],
        reminders=row["reminders"],
        notified=list(row["notified"]),
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        evidence=list(row["evidence"]),
    )


def _claimed(cur: Cursor, once: tuple[str, int], now: datetime) -> bool:
    """Whether this transaction is the first to apply the alarm decision ``once``; a desk applying it
    at the same moment waits here for that transaction's end (its commit makes this one skip)."""
    cur.execute(
        "INSERT INTO alarm_decisions_handled (alarm_id, revision, handled_at) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (*once, now),
    )
    return cur.rowcount == 1


class Desk:
    """Incidents and people's actions on them; hazards and the schedule are its :attr:`prevention`'s."""

    def __init__(self, pool: Pool, roster: Roster, policy: Policy, directory: Directory) -> None:
        self.pool = pool
        self.policy = policy
        self.directory = directory
        self.prevention = Prevention(pool, roster, policy, directory)

    @property
    def roster(self) -> Roster:
        """Who answers for what; both halves of the desk read the same one."""
        return self.prevention.roster

    @roster.setter
    def roster(self, roster: Roster) -> None:
        self.prevention.roster = roster

    def cursor(self, conn: Connection | None = None) -> AbstractContextManager[Cursor]:
        """One transaction, rows as dicts: on ``conn``, else on a connection from the pool."""
        return transaction(self.pool, conn)

    # ---- decisions -------------------------------------------------------------------------------

    def handle(self, decisions: list[Decision], now: datetime) -> Outcome:
        """Apply decisions, one transaction each, alarm decisions first (:func:`~alerts.incidents.urgent`).

        Each decision leaves ``decisions`` once it is stored, so after a failure the caller passes the
        same list again and none is applied twice. Alarm decisions go first so that a fire never waits
        behind a storm of lower signals (and, handled first, inhibits them); the order of alarm
        decisions among themselves, and of the rest, is kept.
        """
        decisions.sort(key=lambda decision: not urgent(decision))  # stable
        out = Outcome()
        done = 0
        try:
            with self.pool.connection() as conn:
                for decision in decisions:
                    out.add(self._decision(conn, decision, now))
                    done += 1
        finally:
            del decisions[:done]
        return out

    def _decision(self, conn: Connection, decision: Decision, now: datetime) -> Outcome:
        out = Outcome()
        trigger = trigger_of(decision)
        if trigger is not None:
            once = (decision.alarm_id, decision.revision) if isinstance(decision, AlarmDecision) else None
            out.add(self._trigger(conn, trigger, now, once))
        if isinstance(decision, Signal) and decision.rule in self.policy.schedule.hazards:
            with self.cursor(conn) as cur:
                out.add(self.prevention.on_signal(cur, decision, now))
        elif isinstance(decision, RiskScore):
            with self.cursor(conn) as cur:
                out.add(self.prevention.on_risk(cur, decision, now))
        return out

    def _trigger(self, conn: Connection, trigger: Trigger, now: datetime, once: tuple[str, int] | None) -> Outcome:
        """Fold ``trigger`` into its incident. ``once``: the alarm decision's (alarm_id, revision), applied
        by one desk only (every alerts process reads every alarm decision): the first to claim it in
        ``alarm_decisions_handled``, in the fold's transaction; the others, and a repeat, skip it."""
        attempts = self.policy.alerts.open_attempts
        for _attempt in range(attempts):
            try:
                with self.cursor(conn) as cur:
                    if once is not None and not _claimed(cur, once, now):
                        return Outcome()
                    return self._fold(cur, trigger, now)
            except psycopg.errors.UniqueViolation:
                # Another desk opened this key's incident first: fold the trigger into theirs.
                log.debug("incident %s opened concurrently; retrying", trigger.dedup_key)
        raise RuntimeError(f"incident {trigger.dedup_key} kept conflicting after {attempts} attempts")

    def _fold(self, cur: Cursor, trigger: Trigger, now: datetime) -> Outcome:
        _premises_lock(cur, trigger.premises_id)
        cur.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE dedup_key = %s AND state <> 'resolved' FOR UPDATE",
            (trigger.dedup_key,),
        )
        row = cur.fetchone()
        current = _incident(row) if row else None
        cur.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE premises_id = %s AND class = 'fire' AND state <> 'resolved' "
            "ORDER BY id LIMIT 1 FOR UPDATE",
            (trigger.premises_id,),
        )
        fire_row = cur.fetchone()
        fire = _incident(fire_row) if fire_row else None
        if fire is not None and joins_fire(fire, trigger):
            return self._join(cur, fire, current, trigger, now)
        if trigger.cls == "fire":
            fire = None  # a fire is not inhibited by itself
        site = self.roster.sites.get(trigger.premises_id)
        result = apply(
            current,
            trigger,
            jurisdiction_id=site.jurisdiction_id if site else "",
            fire=fire,
            policy=self.policy.alerts,
        )
        if result is None:
            return Outcome()
        incident, change = result
        self._save(cur, incident)
        out = Outcome()
        if change != "updated":
            action = f"incident.{change}"
            audit(cur, now, SYSTEM, action, f"incident:{incident.id}", cls=incident.cls, ref=trigger.ref)
            if incident.inhibited_by is None:
                out.queued += self._page(cur, incident, change if change == "opened" else f"raised-{incident.cls}", now)
                self._save(cur, incident)
            if incident.cls == "fire":
                self._inhibit_others(cur, incident, now)
        return out

    def _join(self, cur: Cursor, fire: Incident, current: Incident | None, trigger: Trigger, now: datetime) -> Outcome:
        """One fire is one fire: ``trigger`` joins the premises' open fire; the zone's own incident, if
        one is open (its alarm before the confirmation), is resolved as a duplicate of the fire."""
        joined, change = join_fire(fire, trigger)
        out = Outcome()
        if current is not None and current.id != fire.id:
            cur.execute(
                "UPDATE incidents SET state = 'resolved', resolved_at = %s, resolved_by = %s, "
                "resolution = 'duplicate', note = %s, next_escalation_at = NULL WHERE id = %s",
                (now, SYSTEM, f"joined fire incident {fire.id}", current.id),
            )
            audit(cur, now, SYSTEM, "incident.resolved", f"incident:{current.id}", code="duplicate", joined=fire.id)
        if change == "spread":
            audit(cur, now, SYSTEM, "incident.spread", f"incident:{fire.id}", zone=trigger.zone, ref=trigger.ref)
            out.queued += self._page(cur, joined, "spread", now)
        self._save(cur, joined)
        return out

    def _save(self, cur: Cursor, i: Incident) -> None:
        values = (
            i.zone, i.cls, i.title, Jsonb(i.label), i.state, i.updated_at, i.events, Jsonb(i.refs), i.inhibited_by,
            i.escalation_level, i.next_escalation_at, i.reminders, i.notified, i.acknowledged_at, i.acknowledged_by,
            Jsonb(i.evidence),
        )  # fmt: skip
        if i.id is None:
            cur.execute(
                "INSERT INTO incidents (zone, class, title, label, state, updated_at, events, refs, inhibited_by, "
                "escalation_level, next_escalation_at, reminders, notified, acknowledged_at, acknowledged_by, "
                "evidence, dedup_key, premises_id, jurisdiction_id, opened_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (*values, i.dedup_key, i.premises_id, i.jurisdiction_id, i.opened_at),
            )
            row = cur.fetchone()
            assert row is not None
            i.id = row["id"]
        else:
            cur.execute(
                "UPDATE incidents SET zone = %s, class = %s, title = %s, label = %s, state = %s, updated_at = %s, "
                "events = %s, refs = %s, inhibited_by = %s, escalation_level = %s, next_escalation_at = %s, "
                "reminders = %s, notified = %s, acknowledged_at = %s, acknowledged_by = %s, evidence = %s "
                "WHERE id = %s",
                (*values, i.id),
            )

    def _inhibit_others(self, cur: Cursor, fire: Incident, now: datetime) -> None:
        cur.execute(
            "UPDATE incidents SET inhibited_by = %s, next_escalation_at = NULL WHERE premises_id = %s "
            "AND state <> 'resolved' AND class <> 'fire' AND inhibited_by IS NULL RETURNING id",
            (fire.id, fire.premises_id),
        )
        for row in cur.fetchall():
            audit(cur, now, SYSTEM, "incident.inhibited", f"incident:{row['id']}", by=fire.id)

    def _page(self, cur: Cursor, incident: Incident, reason: str, now: datetime) -> int:
        """Queue messages about ``incident`` to whoever is owed them now; records them in ``notified``."""
        recipients: dict[str, Recipient] = {"centre": self.directory.centre()}
        route_to = ""
        if reason.startswith("reminder"):
            for rid in incident.notified:
                if rid.startswith("inspector:") and (who := self.roster.inspectors.get(rid.split(":", 1)[1])):
                    recipients[rid] = self.directory.inspector(who)
        elif self.policy.alerts.classes[incident.cls].inspectors:
            route = self.roster.route(incident.premises_id, now, level=incident.escalation_level)
            route_to = route.jurisdiction_id
            for inspector in route.inspectors:
                recipient = self.directory.inspector(inspector)
                recipients[recipient.id] = recipient
        incident.notified = sorted(set(incident.notified) | set(recipients))
        site = self.roster.sites.get(incident.premises_id)
        payload = {
            "event": f"incident.{reason.split('-')[0]}",
            "incident": {
                "id": incident.id,
                "class": incident.cls,
                "priority": incident.priority,
                "title": render("zh", incident.label),
                "title_en": incident.title,
                "label": incident.label,
                "state": incident.state,
                "zone": incident.zone,
                "opened_at": incident.opened_at.isoformat(),
                "escalation_level": incident.escalation_level,
                "events": incident.events,
                "evidence": incident.evidence,
            },
            "premises": {"id": incident.premises_id, "name": site.name if site else ""},
            "jurisdiction": route_to or incident.jurisdiction_id,
            "sent_at": now.isoformat(),
        }
        return enqueue(
            cur,
            key=f"incident-{incident.id}/{reason}",
            kind=reason.split("-")[0],
            premises_id=incident.premises_id,
            recipients=recipients.values(),
            payload=payload,
            now=now,
            incident_id=incident.id,
            priority=incident.priority,
        )

    # ---- timers ----------------------------------------------------------------------------------

    def tick(self, now: datetime) -> Outcome:
        """Everything owed by ``now``: escalations and reminders, hazards due, hazards overdue."""
        out = Outcome()
        with self.cursor() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM incidents WHERE next_escalation_at <= %s AND state = 'open' "
                "AND inhibited_by IS NULL ORDER BY next_escalation_at LIMIT 500 FOR UPDATE SKIP LOCKED",
                (now,),
            )
            for row in cur.fetchall():
                step = escalation_step(_incident(row), now, self.policy.alerts)
                if step is None:
                    continue
                kind, incident = step
                reason = (
                    f"escalated-{incident.escalation_level}" if kind == "escalate" else f"reminder-{incident.reminders}"
                )
                out.queued += self._page(cur, incident, reason, now)
                self._save(cur, incident)
                audit(cur, now, SYSTEM, f"incident.{reason.split('-')[0]}", f"incident:{incident.id}", step=reason)
        with self.cursor() as cur:
            out.add(self.prevention.due(cur, now))
        with self.cursor() as cur:
            out.add(self.prevention.overdue(cur, now))
        return out

    # ---- people's actions ------------------------------------------------------------------------

    def _locked(self, cur: Cursor, incident_id: int) -> Incident:
        return _incident(locked(cur, "incidents", incident_id, what="incident", error=ActionError, columns=_COLUMNS))

    def acknowledge(self, incident_id: int, actor: str, now: datetime) -> Incident:
        """Stop escalation: someone is on it. Acknowledging twice is harmless; a resolved incident refuses."""
        with self.cursor() as cur:
            incident = self._locked(cur, incident_id)
            if incident.state == "resolved":
                raise ActionError(f"incident {incident_id} is already resolved")
            if incident.state == "acknowledged":
                return incident
            incident.state = "acknowledged"
            incident.acknowledged_at, incident.acknowledged_by = now, actor
            incident.next_escalation_at = None
            self._save(cur, incident)
            audit(cur, now, actor, "incident.acknowledged", f"incident:{incident_id}")
            return incident

    def resolve(
        self,
        incident_id: int,
        actor: str,
        code: str,
        note: str,
        now: datetime,
        plan_notes: dict[str, str] | None = None,
    ) -> Outcome:
        """Close an incident with a resolution code (:data:`alerts.incidents.RESOLUTIONS`), a note and the
        notes written for its action plan's steps (checked by the console, stored here).

        A resolved fire releases the incidents it inhibited (they are paged now). A false alarm or a
        real fire that scoring judged otherwise goes back to scoring as feedback; enough false alarms
        in the policy's window open a hazard. A real fire gets the premises an inspection task (its
        regular inspector's) within ``schedule.after_fire_days``.
        """
        if code not in RESOLUTIONS:
            raise ActionError(f"unknown resolution code {code!r}; valid codes are {', '.join(RESOLUTIONS)}")
        out = Outcome()
        with self.cursor() as cur:
            cur.execute("SELECT premises_id FROM incidents WHERE id = %s", (incident_id,))
            if (found := cur.fetchone()) is not None:  # the premises' lock before any of its rows, as a fold
                _premises_lock(cur, found["premises_id"])
            incident = self._locked(cur, incident_id)
            if incident.state == "resolved":
                raise ActionError(f"incident {incident_id} is already resolved")
            cur.execute(
                "UPDATE incidents SET state = 'resolved', resolved_at = %s, resolved_by = %s, resolution = %s, "
                "note = %s, plan_notes = %s, next_escalation_at = NULL WHERE id = %s",
                (now, actor, code, note, Jsonb(plan_notes) if plan_notes else None, incident_id),
            )
            audit(cur, now, actor, "incident.resolved", f"incident:{incident_id}", code=code, note=note,
                  plan_notes=plan_notes or {})  # fmt: skip
            false_alarm = code.startswith("false_alarm")
            alarm_ref = next(iter(incident.refs), "")
            if false_alarm and incident.cls == "fire":
                out.feedback.append(Feedback(now, incident.premises_id, "false_alarm", alarm_ref))
            elif code == "real_fire" and incident.cls in ("alarm", "nuisance"):
                out.feedback.append(Feedback(now, incident.premises_id, "real_fire", alarm_ref))
            if incident.cls == "fire":
                out.queued += self._release(cur, incident, now)
            if code == "real_fire":
                self._after_fire(cur, incident, now)
            if false_alarm:
                out.add(self._false_alarms(cur, incident.premises_id, now))
        return out

    def _after_fire(self, cur: Cursor, incident: Incident, now: datetime) -> None:
        inspector = self.roster.regular_inspector(incident.premises_id)
        reason = label("task.after_fire", at=incident.opened_at, zone=incident.zone)
        due = now + timedelta(days=self.policy.schedule.after_fire_days)
        inspector_id = inspector.id if inspector else None
        self.prevention.task(
            cur, f"after_fire:{incident.id}", incident.premises_id, inspector_id, "inspection", reason, due, now
        )

    def _release(self, cur: Cursor, fire: Incident, now: datetime) -> int:
        cur.execute(f"SELECT {_COLUMNS} FROM incidents WHERE inhibited_by = %s AND state <> 'resolved'", (fire.id,))
        queued = 0
        for row in cur.fetchall():
            incident = _incident(row)
            incident.inhibited_by = None
            incident.next_escalation_at = first_escalation(incident, self.policy.alerts, since=now)
            if incident.state == "open":
                queued += self._page(cur, incident, "released", now)
            self._save(cur, incident)
            audit(cur, now, SYSTEM, "incident.released", f"incident:{incident.id}", fire=fire.id)
        return queued

    def _false_alarms(self, cur: Cursor, premises_id: str, now: datetime) -> Outcome:
        policy = self.policy.schedule
        cur.execute(
            "SELECT count(*) AS n FROM incidents WHERE premises_id = %s AND resolution LIKE 'false_alarm%%' "
            "AND resolved_at > %s",
            (premises_id, now - timedelta(days=policy.false_alarm_days)),
        )
        row = cur.fetchone()
        if row is None or row["n"] < policy.false_alarms:
            return Outcome()
        said = label("hazard.false_alarms", count=row["n"], days=policy.false_alarm_days)
        deadline = policy.false_alarm_deadline_days
        return self.prevention.open_hazard(
            cur, premises_id, "false_alarms", "false_alarms", said, now, deadline, now, False
        )
