"""Writing accepted messages and dead letters to PostgreSQL: one transaction per batch, binary COPY.

Identity. (device_id, seq) names a message. The tables' unique keys must include ``time`` (a
hypertable's must), so the store decides identity itself, per device under a row lock of
``device_sequences``, which holds the highest seq stored per device:

- a seq above it is new;
- a seq at or below it is looked up among the stored messages stamped within the policy's age limit:
  not there, it is new (a late or out-of-order message); there with the same content, it is a
  duplicate and skipped; there with other content, the message is a ``seq_conflict`` dead letter.

Two ingest processes that see one device at once (while the partitions change hands) take its row
lock in device order and so decide one after the other.

A batch is written in two steps, so that what goes on the bus is exactly what was stored now:
:meth:`RecordStore.begin` writes it and leaves the transaction open, the caller hands the stored
messages' records to the bus, then :meth:`RecordStore.commit`. A failure anywhere rolls everything
back and the caller writes the batch again; a message already stored (the commit went through before
a crash) is then a duplicate and not handed on twice. A crash between the bus and the commit hands a
message on twice, which consumers tolerate (delivery on the bus is at least once).

Dead letters have no identity and are copied straight in. A payload over the wire's size limit is
kept as a prefix, with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
from psycopg import sql

from core.addresses import mask_database_url
from core.db import connect, database_errors
from core.errors import DatabaseError
from core.policy import IngestPolicy
from core.wire import MAX_PAYLOAD_BYTES
from ingest.batching import Batch
from ingest.frames import Panel, PointInfo
from ingest.records import DeadLetter, EventRecord, Reading, Record, StatusRecord
from ingest.validation import RegistryIndex


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    row: Callable[[Any], tuple[object, ...]]
    content: tuple[str, ...]
    """The columns that say what a stored message said (besides its identity), compared on a repeat."""


READINGS = _Table(
    "readings",
    ("time", "premises_id", "device_id", "metric", "value", "seq"),
    ("timestamptz", "text", "text", "text", "float8", "int8"),
    lambda r: (r.time, r.premises_id, r.device_id, r.metric, r.value, r.seq),
    ("time", "metric", "value"),
)
EVENTS = _Table(
    "events",
    (
        "time",
        "premises_id",
        "device_id",
        "seq",
        "kind",
        "component_type",
        "loop",
        "address",
        "zone",
        "detail",
        "received_at",
    ),
    ("timestamptz", "text", "text", "int8", "text", "text", "int4", "int4", "text", "text", "timestamptz"),
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
        e.received_at or datetime.now(UTC),
    ),
    ("time", "kind", "component_type", "loop", "address", "zone", "detail"),
)
DEVICE_STATUS = _Table(
    "device_status",
    (
        "time",
        "premises_id",
        "device_id",
        "seq",
        "state",
        "battery_pct",
        "rssi_dbm",
        "firmware",
        "detail",
        "clock_skew_s",
    ),
    ("timestamptz", "text", "text", "int8", "text", "float8", "float8", "text", "text", "float8"),
    lambda s: (
        s.time,
        s.premises_id,
        s.device_id,
        s.seq,
        s.state,
        s.battery_pct,
        s.rssi_dbm,
        s.firmware,
        s.detail,
        s.clock_skew_s,
    ),
    # clock_skew_s is measured at receipt, like received_at: two deliveries differ in it.
    ("time", "state", "battery_pct", "rssi_dbm", "firmware", "detail"),
)
DEAD_LETTERS = _Table(
    "dead_letters",
    ("received_at", "topic", "payload", "reason", "detail", "payload_size", "payload_sha256"),
    ("timestamptz", "text", "bytea", "text", "text", "int4", "bytea"),
    lambda d: d,  # rows are built by RecordStore._dead_letter_row
    (),
)
_TABLES = (READINGS, EVENTS, DEVICE_STATUS)
_TABLE_OF: dict[type, _Table] = {Reading: READINGS, EventRecord: EVENTS, StatusRecord: DEVICE_STATUS}

Identity = tuple[str, int]
Content = frozenset[tuple[object, ...]]


def _printable(text: str) -> str:
    # A refused message may carry U+0000 in its topic (or the detail quoting it); PostgreSQL text
    # cannot, and one such dead letter must not block its batch. The raw bytes are kept in payload.
    return text.replace("\x00", "\\x00")


def _content(records: Sequence[Record]) -> Content:
    """What a record group says, comparable with the rows a lookup returns."""
    return frozenset(
        (table.name, *(getattr(r, c) for c in table.content)) for r in records for table in (_TABLE_OF[type(r)],)
    )


@dataclass(slots=True)
class WriteResult:
    """What a batch write did. ``records`` are those stored now, in the order they came: what goes on the bus."""

    records: list[Record] = field(default_factory=list)
    stored: int = 0
    """Messages stored now (all or some of their records)."""
    duplicates: int = 0
    conflicts: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    """Rows inserted per table, dead letters included."""
    conflicted: set[int] = field(default_factory=set)
    """Indices (in the batch's ``accepted``) of the messages filed as ``seq_conflict`` dead letters."""


class RecordStore:
    """One database connection for ingest's writes, reopened after a failure.

    Not thread-safe: one writer at a time (ingest runs it in a single worker thread).
    """

    def __init__(self, url: str, policy: IngestPolicy | None = None) -> None:
        self.url = url
        self.policy = policy or IngestPolicy()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._known: set[str] = set()  # devices whose device_sequences row exists

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, batch: Batch) -> WriteResult:
        """:meth:`begin` and :meth:`commit` in one: for callers with nothing to do in between."""
        result = self.begin(batch)
        self.commit()
        return result

    def begin(self, batch: Batch) -> WriteResult:
        """Write a batch in a transaction left open for :meth:`commit` or :meth:`rollback`.

        Raises DatabaseError (and stores nothing) on failure.
        """
        try:
            with database_errors(f"storing a batch in {mask_database_url(self.url)}"):
                conn = self._connection()
                with conn.cursor() as cur:
                    return self._write(cur, batch)
        except DatabaseError:
            self.close()
            raise

    def commit(self) -> None:
        """Make the batch :meth:`begin` wrote permanent. Raises DatabaseError (outcome unknown) on failure."""
        try:
            with database_errors(f"committing a batch in {mask_database_url(self.url)}"):
                if self._conn is not None:
                    self._conn.commit()
        except DatabaseError:
            self.close()
            raise

    def rollback(self) -> None:
        """Undo what :meth:`begin` wrote (the bus refused it); the batch will be written again."""
        try:
            if self._conn is not None:
                self._conn.rollback()
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = connect(self.url)
            try:
                for table in _TABLES:
                    conn.execute(
                        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(
                            _staging(table), sql.Identifier(table.name)
                        )
                    )
                conn.commit()
            except psycopg.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    # -- one batch ------------------------------------------------------------------------------

    def _write(self, cur: psycopg.Cursor[tuple[object, ...]], batch: Batch) -> WriteResult:
        # Each record group (the records of one message sharing a (device_id, seq): all of a JSON
        # message's, one event of a frame's) is new, a duplicate or a conflict; a message is a conflict
        # if any of its groups is, a duplicate if all of them are.
        first: dict[Identity, Sequence[Record]] = {}  # identity -> the records of its first group in the batch
        owner: dict[Identity, int] = {}  # identity -> the message that brought that group
        verdict: dict[Identity, str] = {}  # of the first group
        repeats: dict[tuple[int, Identity], str] = {}  # a later group of the same identity in the batch
        keys_of: list[list[Identity]] = []
        batch_high: dict[str, int] = {}
        batch_low: dict[str, int] = {}
        for i, message in enumerate(batch.accepted):
            keys: list[Identity] = []
            for key, records in _groups(message.records):
                keys.append(key)
                if key in first:  # the memory of recent messages let it through: decide here
                    repeats[(i, key)] = "duplicate" if _content(first[key]) == _content(records) else "conflict"
                    continue
                first[key], owner[key], verdict[key] = records, i, "new"
                device_id, seq = key
                if seq > batch_high.get(device_id, -1):
                    batch_high[device_id] = seq
                if seq < batch_low.get(device_id, seq + 1):
                    batch_low[device_id] = seq
            keys_of.append(keys)

        highs = self._raise_highs(cur, batch_high, batch_low)
        candidates = [key for key in first if key[0] in highs and key[1] <= highs[key[0]]]
        if candidates:
            received = [batch.accepted[owner[k]].received_at for k in candidates]
            stored = self._look_up(cur, candidates, min(received), max(received))
            for key in candidates:
                found = stored.get(key)
                if found is not None:  # else late or out of order, never stored: new
                    verdict[key] = "duplicate" if found == _content(first[key]) else "conflict"

        result = WriteResult()
        dead_letters = list(batch.dead_letters)
        by_table: dict[str, list[Record]] = {}
        for i, (message, keys) in enumerate(zip(batch.accepted, keys_of, strict=True)):
            if repeats:
                verdicts = [repeats.get((i, key)) or verdict[key] for key in keys]
            else:
                verdicts = [verdict[key] for key in keys]
            if "conflict" in verdicts:
                head = message.records[0]
                dead_letters.append(
                    message.conflict(
                        f"device {head.device_id} already has a message with seq {head.seq} and other content"
                    )
                )
                result.conflicts += 1
                result.conflicted.add(i)
                continue
            if verdicts and "new" not in verdicts:
                result.duplicates += 1
                continue
            result.stored += 1
            for key in keys:
                if owner[key] == i and verdict[key] == "new":
                    group = first[key]  # one type of record: a message's readings, or one event
                    by_table.setdefault(_TABLE_OF[type(group[0])].name, []).extend(group)
                    result.records.extend(group)

        for table in _TABLES:
            rows = by_table.get(table.name)
            if rows:
                result.rows[table.name] = _upsert(cur, table, rows)
        if dead_letters:
            _copy(
                cur, DEAD_LETTERS, sql.Identifier(DEAD_LETTERS.name), [self._dead_letter_row(d) for d in dead_letters]
            )
            result.rows[DEAD_LETTERS.name] = len(dead_letters)
        return result

    def _raise_highs(
        self, cur: psycopg.Cursor[tuple[object, ...]], batch_high: dict[str, int], batch_low: dict[str, int]
    ) -> dict[str, int]:
        """Raise each device's highest stored seq to the batch's, its row locked until the transaction
        ends; the highest stored seq before this batch of the devices where it is not below the
        batch's lowest seq: the devices with messages that may have been stored already.

        Raising it before the batch's messages are classified is right: a seq above the stored highest
        is always new, so the batch's highest seq is stored (or the whole transaction rolls back). A
        device seen for the first time gets its row in a transaction of its own first, so that the
        raise only ever updates rows.
        """
        if not batch_high:
            return {}
        devices = sorted(batch_high)
        unknown = [d for d in devices if d not in self._known]
        if unknown:
            with connect(self.url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO device_sequences (device_id, high_seq) SELECT unnest(%b::text[]), -1"
                    " ON CONFLICT (device_id) DO NOTHING",
                    (unknown,),
                )
            self._known.update(unknown)
        cur.execute(_RAISE, (devices, [batch_high[d] for d in devices], [batch_low[d] for d in devices]))
        row = cur.fetchone()
        assert row is not None
        raised, known_devices, known_highs = cast(tuple[int, list[str] | None, list[int] | None], row)
        if raised < len(devices):  # rows removed behind our back: make them again, then write again
            self._known.clear()
            raise psycopg.errors.NoDataFound("device_sequences lost rows of devices it had")
        return dict(zip(known_devices or [], known_highs or [], strict=True))

    def _look_up(
        self, cur: psycopg.Cursor[tuple[object, ...]], keys: list[Identity], first: datetime, last: datetime
    ) -> dict[Identity, Content]:
        """What is stored under these identities, stamped within the age limit of their receipt."""
        p = self.policy
        low = first - timedelta(seconds=p.max_past_s + p.max_future_s)
        high = last + timedelta(seconds=p.max_future_s)
        devices, seqs = [d for d, _ in keys], [s for _, s in keys]
        found: dict[Identity, set[tuple[object, ...]]] = {}
        for table in _TABLES:
            columns = sql.SQL(", ").join(sql.Identifier("t", c) for c in ("device_id", "seq", *table.content))
            cur.execute(
                sql.SQL(
                    "SELECT {} FROM {} AS t JOIN unnest(%b::text[], %b::int8[]) AS k(device_id, seq)"
                    " ON t.device_id = k.device_id AND t.seq = k.seq WHERE t.time >= %s AND t.time <= %s"
                ).format(columns, sql.Identifier(table.name)),
                (devices, seqs, low, high),
            )
            for device_id, seq, *content in cur.fetchall():
                found.setdefault((str(device_id), int(str(seq))), set()).add((table.name, *content))
        return {key: frozenset(rows) for key, rows in found.items()}

    def _dead_letter_row(self, d: DeadLetter) -> tuple[object, ...]:
        payload = d.payload
        kept = payload if len(payload) <= MAX_PAYLOAD_BYTES else payload[: self.policy.oversize_prefix_bytes]
        return (
            d.received_at,
            _printable(d.topic),
            kept,
            d.reason,
            _printable(d.detail),
            len(payload),
            hashlib.sha256(payload).digest(),
        )


# Raises each device's highest stored seq to the batch's and returns what it was, in one statement:
# the update locks each row until the transaction ends, so a second writer of the same device waits
# and then sees the raised value. Two writers that lock the same devices in different orders may
# deadlock; PostgreSQL then aborts one, which stores its batch again (partitioned ingest processes
# share no device, except while partitions change hands).
_RAISE = """
WITH raised AS (
    UPDATE device_sequences s SET prev_high = s.high_seq, high_seq = greatest(s.high_seq, b.high)
    FROM unnest(%b::text[], %b::int8[], %b::int8[]) AS b(device_id, high, low)
    WHERE s.device_id = b.device_id
    RETURNING s.device_id, s.prev_high, b.low
)
SELECT count(*), array_agg(device_id) FILTER (WHERE prev_high >= low),
       array_agg(prev_high) FILTER (WHERE prev_high >= low)
FROM raised
"""


def _groups(records: Sequence[Record]) -> list[tuple[Identity, Sequence[Record]]]:
    """A message's record groups by (device_id, seq), in order: one for a JSON message."""
    if not records:
        return []
    head = records[0]
    seq = head.seq
    for record in records:
        if record.seq != seq:
            break
    else:
        return [((head.device_id, seq), records)]
    grouped: dict[Identity, list[Record]] = {}
    for record in records:
        grouped.setdefault((record.device_id, record.seq), []).append(record)
    return list(grouped.items())


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
    # ON CONFLICT is the last guard, for rows written around ingest (device_sequences decides first).
    _copy(cur, table, _staging(table), rows)
    columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table.name), columns, columns, _staging(table)
        )
    )
    return cur.rowcount


def load_registry_index(url: str) -> RegistryIndex:
    """What ingest needs of the registry, read from the database. Raises DatabaseError."""
    with database_errors(f"reading the device registry from {mask_database_url(url)}"), connect(url) as conn:
        rows = conn.execute("SELECT id, premises_id, type FROM devices").fetchall()
        premises = conn.execute("SELECT id FROM premises").fetchall()
        orders = conn.execute("SELECT id, address_order FROM devices WHERE address_order IS NOT NULL").fetchall()
        points = conn.execute(
            "SELECT device_id, loop, address, zone, maps_to, description FROM panel_points"
        ).fetchall()
    by_device: dict[str, dict[tuple[int, int], PointInfo]] = {}
    for device_id, loop, address, zone, maps_to, description in points:
        by_device.setdefault(str(device_id), {})[(int(str(loop)), int(str(address)))] = PointInfo(
            *(None if v is None else str(v) for v in (zone, maps_to, description))
        )
    order_of = {str(d): str(o) for d, o in orders}
    panels = {d: Panel.of(by_device.get(d, {}), order_of.get(d, "loop_point")) for d in {*by_device, *order_of}}
    return RegistryIndex.from_rows(
        ((str(d), str(p), str(t)) for d, p, t in rows), (str(p) for (p,) in premises), panels
    )
