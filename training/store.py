"""What the offline tools read of a running system's database: recorded outcomes to retrain the risk
model on (:func:`recorded_examples`), and a stored day of messages to replay under another policy
(:func:`stored_stream`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import msgspec
from psycopg.rows import dict_row

from core.db import connect, database_errors
from core.registry import RegistryFile, export_registry
from ingest import EventRecord, Reading, Record, StatusRecord
from scoring import RiskInputs

_OUTCOMES: Final = """
SELECT DISTINCT ON (r.premises_id, date_bin(%(horizon)s, r.time, TIMESTAMPTZ '2000-01-01'))
       r.time, r.inputs,
       EXISTS (SELECT 1 FROM alarms a
               WHERE a.premises_id = r.premises_id AND a.classification = 'confirmed'
                 AND a.time > r.time AND a.time <= r.time + %(horizon)s)
    OR EXISTS (SELECT 1 FROM incidents i
               WHERE i.premises_id = r.premises_id AND i.resolution = 'real_fire'
                 AND i.opened_at > r.time AND i.opened_at <= r.time + %(horizon)s)
    OR EXISTS (SELECT 1 FROM signals s
               WHERE s.premises_id = r.premises_id AND s.kind = 'hazard_candidate' AND s.state = 'raised'
                 AND s.time > r.time AND s.time <= r.time + %(horizon)s)
    OR EXISTS (SELECT 1 FROM hazards h
               WHERE h.premises_id = r.premises_id AND h.opened_at > r.time AND h.opened_at <= r.time + %(horizon)s)
    OR EXISTS (SELECT 1 FROM cases c
               WHERE c.premises_id = r.premises_id AND c.opened_at > r.time AND c.opened_at <= r.time + %(horizon)s)
FROM risk_scores r
WHERE r.time <= %(now)s - %(horizon)s
ORDER BY r.premises_id, date_bin(%(horizon)s, r.time, TIMESTAMPTZ '2000-01-01'), r.time
"""


@dataclass(frozen=True, slots=True)
class RecordedPeriod:
    """One premises and period of the horizon: what the model read at its first score, and the outcome."""

    start: datetime
    inputs: RiskInputs
    incident: bool


def recorded_periods(
    url: str, horizon_days: float = 90, *, now: datetime | None = None, limit: int | None = None
) -> list[RecordedPeriod]:
    """One example per premises and period of ``horizon_days`` from the stored risk scores, oldest first
    (the newest ``limit`` when given): what the model read at the period's first score, and whether an
    incident followed within the horizon. An incident is what people or scoring found: a confirmed fire
    alarm, an incident resolved as a real fire, a hazard candidate raised, a hazard opened (an
    inspection finding, a unit's own report, a hazard from a signal) or an enforcement case opened.
    Periods younger than the horizon are left out: their outcome is not known yet."""
    params = {"horizon": timedelta(days=horizon_days), "now": now or datetime.now(UTC)}
    with database_errors("reading recorded outcomes"), connect(url) as conn:
        rows = conn.execute(_OUTCOMES, params).fetchall()
    periods = sorted(
        (RecordedPeriod(cast(datetime, start), RiskInputs(**cast(dict[str, Any], inputs)), bool(incident))
         for start, inputs, incident in rows),
        key=lambda p: p.start,
    )  # fmt: skip
    return periods[-limit:] if limit else periods


def recorded_examples(url: str, horizon_days: float = 90) -> tuple[list[RiskInputs], list[bool]]:
    """:func:`recorded_periods` as model rows and labels."""
    periods = recorded_periods(url, horizon_days)
    return [p.inputs for p in periods], [p.incident for p in periods]


def audited(url: str, actions: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """Audit entries of these actions (``at``, ``actor``, ``action``, ``details``), newest first."""
    with database_errors("reading the audit log"), connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT at, actor, action, coalesce(details, '{}') AS details FROM audit_log WHERE action = ANY(%s) "
            "ORDER BY id DESC LIMIT %s",
            (list(actions), limit),
        ).fetchall()


_STORED: tuple[tuple[type[Record], str], ...] = (
    (Reading, "SELECT time, premises_id, device_id, metric, value, seq FROM readings"),
    (
        EventRecord,
        "SELECT time, premises_id, device_id, seq, kind, component_type, loop, address, zone, detail, received_at "
        "FROM events",
    ),
    (
        StatusRecord,
        "SELECT time, premises_id, device_id, seq, state, battery_pct, rssi_dbm, firmware FROM device_status",
    ),
)


def stored_stream(url: str, since: datetime, until: datetime) -> tuple[RegistryFile, list[Record]]:
    """The registry and every message the database stored for ``[since, until)``, as records in the
    order they were received. Readings and statuses carry no time of receipt in the database: their own
    time stands for it."""
    records: list[Record] = []
    with connect(url) as conn:
        registry = export_registry(conn)
        with conn.cursor(row_factory=dict_row) as cur:
            for kind, query in _STORED:
                cur.execute(query + " WHERE time >= %s AND time < %s", (since, until))
                records += [msgspec.convert(row, kind) for row in cur]
    records.sort(key=lambda r: ((r.received_at or r.time).astimezone(UTC), r.time))
    return registry, records
