"""Registry import (upsert, all-or-nothing, binary COPY) and export, against the migrated schema.

Import stages each section with binary ``COPY`` into a temporary table, then upserts from it with one
``INSERT ... ON CONFLICT`` per table; rows that did not change are not rewritten. Everything happens
in one transaction: a problem anywhere (a reference to a premises that neither the file nor the
database has, a constraint) rolls all of it back and raises :class:`RegistryError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from core.db import audit
from core.domain import DEVICE_TYPES
from core.errors import DatabaseError, RegistryError
from core.registry.checks import Reference, Table, check
from core.registry.model import (
    Department,
    Device,
    Inspector,
    Jurisdiction,
    PanelPoint,
    Premises,
    RegistryFile,
    Shift,
    Zone,
)
from core.registry.points import points_csv

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """How one file section maps to one table: its columns, their binary COPY types, its key."""

    section: str
    table: str
    columns: tuple[str, ...]
    copy_types: tuple[str, ...]
    key: tuple[str, ...]
    to_row: Callable[[Any], tuple[object, ...]]


def _premises_row(p: Premises) -> tuple[object, ...]:
    return (
        p.id,
        p.name,
        p.category,
        p.address,
        p.jurisdiction,
        p.latitude,
        p.longitude,
        p.height_m,
        p.floors,
        p.occupancy,
        p.credit_status,
        p.unit.name,
        p.unit.contact,
        p.unit.phone,
        p.unit.email,
        p.departments,
    )


def _device_row(d: Device) -> tuple[object, ...]:
    interval = d.expected_interval_s or DEVICE_TYPES[d.type].default_interval_s
    setpoints = Jsonb(d.setpoints)
    return (d.id, d.premises, d.type, d.location, d.zone, interval, setpoints, d.address_order, d.gb26875_address,
            d.platform_id, d.water_system)  # fmt: skip


# In dependency order, which export follows; import order does not matter (foreign keys are deferred).
# Public so that benchmarks compare other write paths on exactly the same rows.
TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec(
        "jurisdictions",
        "jurisdictions",
        ("id", "name", "kind", "parent_id", "boundary"),
        ("text", "text", "text", "text", "jsonb"),
        ("id",),
        lambda j: (j.id, j.name, j.kind, j.parent, Jsonb(j.boundary.model_dump(mode="json")) if j.boundary else None),
    ),
    TableSpec(
        "departments",
        "departments",
        ("id", "name", "email", "webhook_url", "phone"),
        ("text",) * 5,
        ("id",),
        lambda d: (d.id, d.name, d.email, d.webhook_url, d.phone),
    ),
    TableSpec(
        "inspectors",
        "inspectors",
        ("id", "name", "jurisdiction_id", "phone", "email", "webhook_url"),
        ("text",) * 6,
        ("id",),
        lambda i: (i.id, i.name, i.jurisdiction, i.phone, i.email, i.webhook_url),
    ),
    TableSpec(
        "duty_roster",
        "duty_roster",
        ("inspector_id", "jurisdiction_id", "starts_at", "ends_at"),
        ("text", "text", "timestamptz", "timestamptz"),
        ("inspector_id", "jurisdiction_id", "starts_at"),
        lambda s: (s.inspector, s.jurisdiction, s.starts_at, s.ends_at),
    ),
    TableSpec(
        "premises",
        "premises",
        (
            "id",
            "name",
            "category",
            "address",
            "jurisdiction_id",
            "latitude",
            "longitude",
            "height_m",
            "floors",
            "occupancy",
            "credit_status",
            "unit_name",
            "unit_contact",
            "unit_phone",
            "unit_email",
            "departments",
        ),
        ("text",) * 5 + ("float8",) * 3 + ("int4",) * 2 + ("text",) * 5 + ("text[]",),
        ("id",),
        _premises_row,
    ),
    TableSpec(
        "devices",
        "devices",
        (
            "id",
            "premises_id",
            "type",
            "location",
            "zone",
            "expected_interval_s",
            "setpoints",
            "address_order",
            "gb26875_address",
            "platform_id",
            "water_system",
        ),
        ("text",) * 5 + ("int4", "jsonb", "text", "text", "text", "text"),
        ("id",),
        _device_row,
    ),
    TableSpec(
        "panel_points",
        "panel_points",
        ("device_id", "loop", "address", "zone", "floor", "component_type", "description", "maps_to"),
        ("text", "int4", "int4", "text", "text", "text", "text", "text"),
        ("device_id", "loop", "address"),
        lambda p: (p.device, p.loop, p.address, p.zone, p.floor, p.component_type, p.description, p.maps_to),
    ),
    TableSpec(
        "zones",
        "zones",
        ("premises_id", "zone", "use", "description"),
        ("text",) * 4,
        ("premises_id", "zone"),
        lambda z: (z.premises, z.zone, z.use, z.description),
    ),
)


@dataclass(frozen=True, slots=True)
class Upserted:
    table: str
    inserted: int
    updated: int
    unchanged: int


def import_registry(conn: Connection, registry: RegistryFile, *, source: str, actor: str = "system") -> list[Upserted]:
    """Upsert every record of ``registry`` in one transaction; all or nothing, and audited
    (``registry.imported``: who, from where, what changed per table).

    On an autocommit connection the import is its own transaction, committed on return; inside a
    transaction the caller opened, it is a savepoint and the caller commits. Raises RegistryError
    (nothing written) when a record breaks a rule or names a target that neither the file nor the
    database holds.
    """
    problems, open_refs = check(registry)
    if problems:
        raise RegistryError(source, problems)
    require_schema(conn)
    try:
        with conn.transaction():
            missing = _unresolved(conn, open_refs)
            if missing:
                raise RegistryError(source, [ref.problem() for ref in missing])
            ids = [p.id for p in registry.premises]
            credit_before: dict[str, str] = {
                str(r[0]): str(r[1])
                for r in conn.execute("SELECT id, credit_status FROM premises WHERE id = ANY(%s)", (ids,))
            }
            results = [upsert_section(conn, spec, getattr(registry, spec.section)) for spec in TABLE_SPECS]
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # surface deferred FK errors here, as RegistryError
            changes = {r.table: {"new": r.inserted, "changed": r.updated, "unchanged": r.unchanged} for r in results}
            with conn.cursor() as cur:
                now = datetime.now(UTC)
                _record_credit(cur, registry, credit_before, source, actor, now)
                audit.record(cur, now, actor, "registry.imported", f"registry:{source}", tables=changes)
    except psycopg.errors.IntegrityError as exc:
        raise RegistryError(source, [f"database refused the import: {str(exc).strip()}"]) from None
    return results


def _record_credit(
    cur: psycopg.Cursor[Any], registry: RegistryFile, before: dict[str, str], source: str, actor: str, now: datetime
) -> None:
    """A credit status the import gave a premises (a new one not ``normal``, or another than it had) is a
    change in its credit record, reason ``registry``: the unit's record says where its status came from.
    (A status set by credit supervision is kept by the import, so it is no change.)"""
    ids = [p.id for p in registry.premises]
    cur.execute("SELECT id, credit_status FROM premises WHERE id = ANY(%s)", (ids,))
    rows = [
        (pid, now, before.get(pid, "normal"), status, Jsonb({"source": source}), actor)
        for pid, status in cur.fetchall()
        if status != before.get(pid, "normal")
    ]
    if rows:
        cur.executemany(
            "INSERT INTO credit_changes (premises_id, at, from_status, to_status, reason, detail, actor) "
            "VALUES (%s, %s, %s, %s, 'registry', %s, %s)",
            rows,
        )


def export_registry(conn: Connection) -> RegistryFile:
    """The whole registry, every section ordered by key, in the file format's records."""
    require_schema(conn)
    rows = {
        spec.section: conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                sql.SQL(", ").join(map(sql.Identifier, spec.columns)),
                sql.Identifier(spec.table),
                sql.SQL(", ").join(map(sql.Identifier, spec.key)),
            )
        ).fetchall()
        for spec in TABLE_SPECS
    }
    return RegistryFile(
        jurisdictions=[
            Jurisdiction(id=r[0], name=r[1], kind=r[2], parent=r[3], boundary=r[4]) for r in rows["jurisdictions"]
        ],
        departments=[
            Department(id=r[0], name=r[1], email=r[2], webhook_url=r[3], phone=r[4]) for r in rows["departments"]
        ],
        inspectors=[
            Inspector(id=r[0], name=r[1], jurisdiction=r[2], phone=r[3], email=r[4], webhook_url=r[5])
            for r in rows["inspectors"]
        ],
        duty_roster=[
            Shift(inspector=r[0], jurisdiction=r[1], starts_at=r[2], ends_at=r[3]) for r in rows["duty_roster"]
        ],
        premises=[
            Premises.model_validate(
                {
                    "id": r[0],
                    "name": r[1],
                    "category": r[2],
                    "address": r[3],
                    "jurisdiction": r[4],
                    "latitude": r[5],
                    "longitude": r[6],
                    "height_m": r[7],
                    "floors": r[8],
                    "occupancy": r[9],
                    "credit_status": r[10],
                    "unit": {"name": r[11], "contact": r[12], "phone": r[13], "email": r[14]},
                    "departments": list(r[15]),
                }
            )
            for r in rows["premises"]
        ],
        devices=[
            Device(
                id=r[0],
                premises=r[1],
                type=r[2],
                location=r[3],
                zone=r[4],
                expected_interval_s=r[5],
                setpoints=r[6],
                address_order=r[7],
                gb26875_address=r[8],
                platform_id=r[9],
                water_system=r[10],
            )
            for r in rows["devices"]
        ],
        panel_points=[
            PanelPoint(
                device=r[0],
                loop=r[1],
                address=r[2],
                zone=r[3],
                floor=r[4],
                component_type=r[5],
                description=r[6],
                maps_to=r[7],
            )
            for r in rows["panel_points"]
        ],
        zones=[Zone(premises=r[0], zone=r[1], use=r[2], description=r[3]) for r in rows["zones"]],
    )


def require_schema(conn: Connection) -> None:
    """Raises DatabaseError when the registry's tables do not exist (the database is not migrated)."""
    found = conn.execute("SELECT to_regclass('devices') IS NOT NULL").fetchone()
    if not found or not found[0]:
        raise DatabaseError("the registry tables do not exist: run `firewarden db migrate` first")


def _unresolved(conn: Connection, refs: Sequence[Reference]) -> list[Reference]:
    wanted: dict[Table, set[str]] = {}
    for ref in refs:
        wanted.setdefault(ref.table, set()).add(ref.target_id)
    present: dict[Table, set[str]] = {}
    for table, ids in wanted.items():
        found = conn.execute(
            sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)), (list(ids),)
        ).fetchall()
        present[table] = {row[0] for row in found}
    return [ref for ref in refs if ref.target_id not in present[ref.table]]


def upsert_section(conn: Connection, spec: TableSpec, records: Iterable[Any]) -> Upserted:
    """Upsert one section's records through a staging table (binary COPY); rows that did not change
    are not rewritten. In the caller's transaction."""
    stage = sql.Identifier(f"stage_{spec.table}")
    table = sql.Identifier(spec.table)
    columns = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(stage, table))
    staged = 0
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)) as copy,
    ):
        copy.set_types(list(spec.copy_types))
        for record in records:
            copy.write_row(spec.to_row(record))
            staged += 1
    if staged == 0:
        return Upserted(spec.table, 0, 0, 0)
    if spec.table == "premises":
        # A credit status that supervision has changed since (credit_changes other than the registry's own)
        # is kept: the file's is the starting status, not a way to undo a listing.
        conn.execute(
            sql.SQL(
                "UPDATE {stage} s SET credit_status = p.credit_status FROM premises p WHERE p.id = s.id"
                " AND EXISTS (SELECT 1 FROM credit_changes c WHERE c.premises_id = s.id AND c.reason <> 'registry')"
            ).format(stage=stage)
        )

    others = [c for c in spec.columns if c not in spec.key]
    current = sql.SQL(", ").join(sql.SQL("{}.{}").format(table, sql.Identifier(c)) for c in others)
    incoming = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in others)
    # xmax = 0 holds exactly for rows this statement inserted rather than updated.
    row = conn.execute(
        sql.SQL(
            "WITH up AS ("
            " INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}"
            " ON CONFLICT ({key}) DO UPDATE SET {assignments}"
            " WHERE ROW({current}) IS DISTINCT FROM ROW({incoming})"
            " RETURNING (xmax = 0) AS inserted)"
            " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
        ).format(
            table=table,
            columns=columns,
            stage=stage,
            key=sql.SQL(", ").join(map(sql.Identifier, spec.key)),
            assignments=sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in others
            ),
            current=current,
            incoming=incoming,
        )
    ).fetchone()
    inserted, updated = (int(row[0]), int(row[1])) if row else (0, 0)
    return Upserted(spec.table, inserted, updated, staged - inserted - updated)


@dataclass(frozen=True, slots=True)
class PointsImported:
    inserted: int
    updated: int
    unchanged: int
    deleted: int


def import_points(
    conn: Connection,
    device_id: str,
    points: list[PanelPoint],
    *,
    replace: bool,
    source: str,
    actor: str,
) -> PointsImported:
    """Upsert ``points`` of the UITD ``device_id`` (and with ``replace`` delete those not given), in one
    transaction, audited. Raises RegistryError (nothing written) for an unknown device or one that is
    not a UITD, or a ``maps_to`` that is not a device of the same premises."""
    require_schema(conn)
    spec = next(s for s in TABLE_SPECS if s.table == "panel_points")
    with conn.transaction():
        found = conn.execute("SELECT premises_id, type FROM devices WHERE id = %s", (device_id,)).fetchone()
        if found is None:
            raise RegistryError(source, [f"unknown device {device_id!r}"])
        premises_id, kind = found
        if kind != "uitd":
            raise RegistryError(source, [f"device {device_id!r} is a {kind}: point lists belong to a uitd"])
        targets = sorted({p.maps_to for p in points if p.maps_to})
        if targets:
            rows = conn.execute("SELECT id, premises_id FROM devices WHERE id = ANY(%s)", (targets,)).fetchall()
            premises_of = {str(i): str(p) for i, p in rows}
            problems = [
                f"maps_to {t!r}: "
                + ("no such device" if t not in premises_of else f"in premises {premises_of[t]!r}")
                + f", not a device of {premises_id!r}"
                for t in targets
                if premises_of.get(t) != premises_id
            ]
            if problems:
                raise RegistryError(source, problems)
        upserted = upsert_section(conn, spec, points)
        deleted = 0
        if replace:
            keep_loops = [p.loop for p in points]
            keep_addresses = [p.address for p in points]
            cur = conn.execute(
                "DELETE FROM panel_points WHERE device_id = %s AND (loop, address) NOT IN"
                " (SELECT * FROM unnest(%s::int[], %s::int[]))",
                (device_id, keep_loops, keep_addresses),
            )
            deleted = cur.rowcount
        result = PointsImported(upserted.inserted, upserted.updated, upserted.unchanged, deleted)
        with conn.cursor() as cur:
            audit.record(
                cur,
                datetime.now(UTC),
                actor,
                "registry.points_imported",
                f"device:{device_id}",
                source=source,
                new=result.inserted,
                changed=result.updated,
                unchanged=result.unchanged,
                deleted=result.deleted,
            )
    return result


def export_points(conn: Connection, device_id: str) -> str:
    """The UITD's point list as CSV, in loop/address order (what :func:`parse_points` reads)."""
    rows = conn.execute(
        "SELECT loop, address, zone, floor, component_type, description, maps_to FROM panel_points"
        " WHERE device_id = %s ORDER BY loop, address",
        (device_id,),
    ).fetchall()
    return points_csv(rows)
