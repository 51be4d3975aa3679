"""Scoring's storage: decisions written to PostgreSQL (tables ``signals``, ``alarms``, ``risk_scores``,
migration 0004), the models in use audited, and the registry read as scoring sees it.

One transaction per batch; a decision already stored (same identity, see :mod:`scoring.records`)
is skipped, so a replayed batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from core.addresses import mask_database_url
from core.db import audit, connect, database_errors
from core.errors import DatabaseError
from core.registry import export_registry
from scoring.models import Models
from scoring.records import AlarmDecision, Decision, RiskScore, Signal
from scoring.site import Sites

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


def load_sites(url: str) -> Sites:
    """The registry as scoring sees it, read from the database. Raises DatabaseError."""
    with database_errors(f"reading the registry from {mask_database_url(url)}"), connect(url) as conn:
        registry = export_registry(conn)
    return Sites.of(registry)
