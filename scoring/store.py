"""Scoring's storage: decisions written to PostgreSQL (tables ``signals``, ``alarms``, ``risk_scores``,
migration 0004), the models in use audited, and the registry read as scoring sees it.

One transaction per batch; a decision already stored (same identity, see :mod:`scoring.records`)
is skipped, so a replayed batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from core.addresses import mask_database_url
from core.db import audit, connect, database_errors
from core.errors import DatabaseError
from core.policy import Policy
from core.registry import export_registry
from scoring.models import Models
from scoring.records import AlarmDecision, Decision, RiskScore, Signal
from scoring.site import Sites, Supervised

_SIGNAL: Final = """INSERT INTO signals (time, premises_id, device_id, rule, kind, state, subject, evidence)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"""
_ALARM: Final = """INSERT INTO alarms (alarm_id, revision, time, premises_id, zone, classification, reason,
    trigger, opened_at, final, evidence) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"""
_RISK: Final = """INSERT INTO risk_scores (premises_id, revision, time, score, tier, previous_tier, factors,
    model_version, inputs, if_closed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"""


class DecisionStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def write(self, decisions: Sequence[Decision]) -> None:
        """Store a batch in one transaction. Raises DatabaseError; nothing of the batch is stored then."""
        signals = [d for d in decisions if isinstance(d, Signal)]
        alarms = [d for d in decisions if isinstance(d, AlarmDecision)]
        risks = [d for d in decisions if isinstance(d, RiskScore)]
        try:
            with database_errors(f"storing {len(decisions)} decision(s) in {mask_database_url(self.url)}"):
                if self._conn is None or self._conn.closed:
                    self._conn = connect(self.url)
                with self._conn.transaction(), self._conn.cursor() as cur:
                    if signals:
                        cur.executemany(
                            _SIGNAL,
                            [
                                (
                                    s.time,
                                    s.premises_id,
                                    s.device_id,
                                    s.rule,
                                    s.kind,
                                    s.state,
                                    s.subject,
                                    Jsonb(s.evidence),
                                )
                                for s in signals
                            ],
                        )
                    if alarms:
                        cur.executemany(
                            _ALARM,
                            [
                                (
                                    a.alarm_id,
                                    a.revision,
                                    a.time,
                                    a.premises_id,
                                    a.zone,
                                    a.classification,
                                    a.reason,
                                    a.trigger,
                                    a.opened_at,
                                    a.final,
                                    Jsonb(msgspec.to_builtins(a.evidence)),
                                )
                                for a in alarms
                            ],
                        )
                    if risks:
                        cur.executemany(
                            _RISK,
                            [
                                (
                                    r.premises_id,
                                    r.revision,
                                    r.time,
                                    r.score,
                                    r.tier,
                                    r.previous_tier,
                                    Jsonb(msgspec.to_builtins(r.factors)),
                                    r.model_version,
                                    Jsonb(r.inputs),
                                    Jsonb(msgspec.to_builtins(r.if_closed)),
                                )
                                for r in risks
                            ],
                        )
        except DatabaseError:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def record_models(url: str, models: Models, actor: str) -> bool:
    """Audit the models a scoring process starts with (``model.activated``), when they differ from the
    last ones audited; True when an entry was written. Raises DatabaseError."""
    versions = models.versions()
    what = f"auditing the models in {mask_database_url(url)}"
    with database_errors(what), connect(url) as conn, conn.cursor() as cur:
        last = cur.execute(
            "SELECT details FROM audit_log WHERE action = 'model.activated' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        known = last[0] if last is not None and isinstance(last[0], dict) else {}
        if {k: known.get(k) for k in versions} == versions:
            return False
        audit.record(cur, datetime.now(UTC), actor, "model.activated", "models", **versions, source=models.source)
        conn.commit()
    return True


def load_sites(url: str, policy: Policy | None = None) -> Sites:
    """The registry as scoring sees it, with each premises' supervision record (:func:`supervised`), read
    from the database. Raises DatabaseError."""
    with database_errors(f"reading the registry from {mask_database_url(url)}"), connect(url) as conn:
        registry = export_registry(conn)
        records = supervised(conn, policy or Policy(), datetime.now(UTC) - LOOKBACK)
    return Sites.of(registry, records)


LOOKBACK: Final = timedelta(days=2 * 365)
"""How far back the supervision record is read: the inputs look a year back from scoring's clock, which
may run behind the wall clock (a replay), not two."""

_SUPERVISED: Final = """
WITH visits AS (
    SELECT premises_id, array_agg(ARRAY[extract(epoch FROM at), failed, items]) AS visits FROM (
        SELECT t.premises_id, max(c.recorded_at) AS at, count(*) FILTER (WHERE c.result = 'fail') AS failed,
               count(*) AS items
          FROM task_checks c JOIN tasks t ON t.id = c.task_id
         WHERE t.kind <> 'self_check' AND c.result IN ('pass', 'fail') AND c.recorded_at > %(since)s
         GROUP BY t.premises_id, t.id) v
     GROUP BY premises_id),
hazards AS (
    SELECT premises_id, array_agg(ARRAY[extract(epoch FROM deadline), extract(epoch FROM overdue_at)]) AS hazards
      FROM hazards WHERE deadline > %(since)s GROUP BY premises_id),
cases AS (
    SELECT premises_id, array_agg(extract(epoch FROM opened_at)) AS cases
      FROM cases WHERE opened_at > %(since)s GROUP BY premises_id),
checks AS (
    SELECT premises_id, array_agg(extract(epoch FROM done_at) ORDER BY done_at) AS checks
      FROM tasks WHERE kind = 'self_check' AND done_at > %(since)s GROUP BY premises_id)
SELECT p.id, p.credit_status, s.tier,
       (SELECT r.time FROM risk_scores r WHERE r.premises_id = p.id AND r.revision = 1) AS watched_since,
       v.visits, h.hazards, c.cases, k.checks
  FROM premises p
  LEFT JOIN premises_schedule s ON s.premises_id = p.id
  LEFT JOIN visits v ON v.premises_id = p.id
  LEFT JOIN hazards h ON h.premises_id = p.id
  LEFT JOIN cases c ON c.premises_id = p.id
  LEFT JOIN checks k ON k.premises_id = p.id
"""
"""One pass over each table, grouped by premises (the tables have no index by premises for every column
read here; a subquery per premises would scan them once per premises at every registry refresh). The
first risk score is one primary-key lookup per premises."""


def supervised(conn: psycopg.Connection[Any], policy: Policy, since: datetime) -> dict[str, Supervised]:
    """Each premises' supervision record since ``since``: its inspections' checklist results, its hazards'
    deadlines and when they went past them, its enforcement cases, its self-checks, and when it was first
    scored (from then on self-checks are due, every ``Policy.self_check_every_days`` of its tier and credit,
    unless the policy says the units record them elsewhere: ``risk.self_checks_recorded``)."""
    out = {}
    for pid, credit, tier, watched, visits, hazards, cases, checks in conn.execute(_SUPERVISED, {"since": since}):
        out[pid] = Supervised(
            visits=tuple((float(at), int(failed), int(items)) for at, failed, items in visits or ()),
            hazards=tuple((float(deadline), None if late is None else float(late)) for deadline, late in hazards or ()),
            cases=tuple(float(t) for t in cases or ()),
            self_checks=tuple(float(t) for t in checks or ()),
            watched_since=watched.timestamp() if watched is not None and policy.risk.self_checks_recorded else None,
            self_check_every_s=policy.self_check_every_days(tier, credit) * 86_400.0,
        )
    return out
