"""Writing validated records and dead letters to PostgreSQL: one transaction per batch, binary COPY.

Records are copied into per-connection staging tables and moved with ``INSERT ... ON CONFLICT DO
NOTHING``, so a message stored before (a QoS 1 redelivery after a crash, a device's retransmission)
is skipped by the tables' unique keys instead of failing the batch. Dead letters have no identity
to conflict on and are copied straight in.

A batch is all or nothing: when :meth:`RecordStore.write` raises, nothing of it was stored, and the
caller writes the same batch again once the database is back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from firewarden.db import connect, first_line
from firewarden.errors import DatabaseError
from firewarden.settings import mask_database_url
from ingest.records import DeadLetter, EventRecord, Reading, Record, StatusRecord
from ingest.validation import RegistryIndex


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    row: Callable[[Any], tuple[object, ...]]


READINGS = _Table(
    "readings",
    ("time", "premises_id", "device_id", "metric", "value", "seq"),
    ("timestamptz", "text", "text", "text", "float8", "int8"),
    lambda r: (r.time, r.premises_id, r.device_id, r.metric, r.value, r.seq),
)
EVENTS = _Table(
    "events",
    ("time", "premises_id", "device_id", "seq", "kind", "component_type", "loop", "address", "zone", "detail"),
    ("timestamptz", "text", "text", "int8", "text", "text", "int4", "int4", "text", "text"),
    lambda e: (
        e.time,
        e.premises_id,
        e.device_id,
        e.seq,
        e.kind,
        e.component_type,
        e.loop,
        e.address,
        e.zone,
        e.detail,
    ),
)
DEVICE_STATUS = _Table(
    "device_status",
    ("time", "premises_id", "device_id", "seq", "state", "battery_pct", "rssi_dbm", "firmware"),
    ("timestamptz", "text", "text", "int8", "text", "float8", "float8", "text"),
    lambda s: (s.time, s.premises_id, s.device_id, s.seq, s.state, s.battery_pct, s.rssi_dbm, s.firmware),
)
DEAD_LETTERS = _Table(
    "dead_letters",
    ("received_at", "topic", "payload", "reason", "detail"),
    ("timestamptz", "text", "bytea", "text", "text"),
    lambda d: (d.received_at, _printable(d.topic), d.payload, d.reason, _printable(d.detail)),
)
_TABLE_OF: dict[type, _Table] = {Reading: READINGS, EventRecord: EVENTS, StatusRecord: DEVICE_STATUS}


def _printable(text: str) -> str:
    # A refused message may carry U+0000 in its topic (or the detail quoting it); PostgreSQL text
    # cannot, and one such dead letter must not block its batch. The raw bytes are kept in payload.
    return text.replace("\x00", "\\x00")


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Rows offered and rows actually inserted, per table; the difference was already stored."""

    offered: dict[str, int]
    inserted: dict[str, int]

    def duplicates(self, table: str) -> int:
        return self.offered.get(table, 0) - self.inserted.get(table, 0)


class RecordStore:
    """One database connection for ingest's writes, reopened after a failure.

    Not thread-safe: one writer at a time (ingest runs it in a single worker thread).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def write(self, records: Sequence[Record], dead_letters: Sequence[DeadLetter]) -> WriteResult:
        """Store a batch in one transaction. Raises DatabaseError (and stores nothing) on failure."""
        by_table: dict[str, list[Record]] = {}
        for record in records:
            by_table.setdefault(_TABLE_OF[type(record)].name, []).append(record)
        offered = {name: len(rows) for name, rows in by_table.items()}
        if dead_letters:
            offered[DEAD_LETTERS.name] = len(dead_letters)
        try:
            conn = self._connection()
            inserted: dict[str, int] = {}
            with conn.transaction(), conn.cursor() as cur:
                for table in (READINGS, EVENTS, DEVICE_STATUS):
                    rows = by_table.get(table.name)
                    if rows:
                        inserted[table.name] = _upsert(cur, table, rows)
                if dead_letters:
                    _copy(cur, DEAD_LETTERS, sql.Identifier(DEAD_LETTERS.name), dead_letters)
                    inserted[DEAD_LETTERS.name] = len(dead_letters)
            return WriteResult(offered, inserted)
        except psycopg.Error as error:
            self.close()
            raise DatabaseError(
                f"storing a batch in {mask_database_url(self.url)} failed: {first_line(error)}"
            ) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = connect(self.url, autocommit=True)
            try:
                for table in (READINGS, EVENTS, DEVICE_STATUS):
                    conn.execute(
                        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(
                            _staging(table), sql.Identifier(table.name)
                        )
                    )
            except psycopg.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn


def _staging(table: _Table) -> sql.Identifier:
    return sql.Identifier(f"ingest_{table.name}")


def _copy(cur: psycopg.Cursor[tuple[object, ...]], table: _Table, target: sql.Identifier, items: Sequence[Any]) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, columns)) as copy:
        copy.set_types(list(table.types))
        row = table.row
        for item in items:
            copy.write_row(row(item))


def _upsert(cur: psycopg.Cursor[tuple[object, ...]], table: _Table, rows: Sequence[Record]) -> int:
    _copy(cur, table, _staging(table), rows)
    columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table.name), columns, columns, _staging(table)
        )
    )
    return cur.rowcount


def load_registry_index(url: str) -> RegistryIndex:
    """What validation needs of the registry, read from the database. Raises DatabaseError."""
    try:
        with connect(url) as conn:
            rows = conn.execute("SELECT id, premises_id, type FROM devices").fetchall()
    except psycopg.Error as error:
        raise DatabaseError(
            f"reading the device registry from {mask_database_url(url)} failed: {first_line(error)}"
        ) from None
    return RegistryIndex.from_rows((str(d), str(p), str(t)) for d, p, t in rows)
