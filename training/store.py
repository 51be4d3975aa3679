"""What the offline tools read of a running system's database: recorded outcomes to retrain the risk
model on (:func:`recorded_examples`), and a stored day of messages to replay under another policy
(:func:`stored_stream`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec
from psycopg.rows import dict_row

from core.db import connect, database_errors
from core.registry import RegistryFile, export_registry
from ingest import EventRecord, Reading, Record, StatusRecord
from scoring import RiskInputs

_OUTCOMES: Final = """
SELECT DISTINCT ON (r.premises_id, date_bin(%(horizon)s, r.time, TIMESTAMPTZ '2000-01-01'))
       r.inputs,
       EXISTS (SELECT 1 FROM alarms a
               WHERE a.premises_id = r.premises_id AND a.classification = 'confirmed'
                 AND a.time > r.time AND a.time <= r.time + %(horizon)s)
    OR EXISTS (SELECT 1 FROM signals s
               WHERE s.premises_id = r.premises_id AND s.kind = 'hazard_candidate' AND s.state = 'raised'
                 AND s.time > r.time AND s.time <= r.time + %(horizon)s)
FROM risk_scores r
WHERE r.time <= now() - %(horizon)s
ORDER BY r.premises_id, date_bin(%(horizon)s, r.time, TIMESTAMPTZ '2000-01-01'), r.time
"""


def recorded_examples(url: str, horizon_days: float = 90) -> tuple[list[RiskInputs], list[bool]]:
    """One example per premises and period of ``horizon_days`` from the stored risk scores: what the
    model read at the period's first score, and whether a confirmed fire or a hazard followed within
    the horizon. Periods younger than the horizon are left out, their outcome is not known yet."""
    with database_errors("reading recorded outcomes"), connect(url) as conn:
        rows = conn.execute(_OUTCOMES, {"horizon": timedelta(days=horizon_days)}).fetchall()
    inputs = [RiskInputs(**row[0]) for row in rows]  # type: ignore[arg-type]
    return inputs, [bool(row[1]) for row in rows]


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
