"""A UITD's panel point list (点位表) from and to the CSV a panel exports (docs/registry.md).

Parsing checks every row and names the line and column of each problem; nothing is written unless
the whole file is good. Import upserts the points in one transaction, audited
(``registry.points_imported``), and with ``replace`` deletes the UITD's points the file does not list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from pydantic import ValidationError

from core import audit
from core.domain import COMPONENT_TYPES, ID_PATTERN
from core.errors import RegistryError
from core.gb26875 import component_type
from core.registry.model import PanelPoint
from core.registry.store import TABLE_SPECS, require_schema, upsert_section

COLUMNS = ("loop", "address", "zone", "floor", "component_type", "description", "maps_to")
REQUIRED = ("address",)
_INTEGERS = ("loop", "address")

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class PointsImported:
    inserted: int
    updated: int
    unchanged: int
    deleted: int


def parse_points(text: str, device_id: str, *, source: str) -> list[PanelPoint]:
    """The points of ``device_id`` in CSV ``text`` (a header row, then one row per point). Raises
    RegistryError naming each bad line and column."""
    if not ID_PATTERN.fullmatch(device_id):
        raise RegistryError(source, [f"device id {device_id!r} does not match {ID_PATTERN.pattern}"])
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    problems: list[str] = []
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(map(repr, unknown))}; columns are {', '.join(COLUMNS)}")
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(map(repr, missing))}")
    if problems:
        raise RegistryError(source, problems)
    points: list[PanelPoint] = []
    first_line: dict[tuple[int, int], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more cells than the header has columns")
            continue
        values: dict[str, object] = {"device": device_id}
        bad = False
        for column in header:
            cell = (row.get(column) or "").strip()
            if cell == "":
                continue
            if column in _INTEGERS:
                try:
                    values[column] = int(cell)
                except ValueError:
                    problems.append(f"line {line}, column {column!r}: {cell!r} is not an integer")
                    bad = True
            elif column == "component_type":
                if cell.isdigit():
                    values[column] = component_type(int(cell))
                elif cell in COMPONENT_TYPES:
                    values[column] = cell
                else:
                    problems.append(
                        f"line {line}, column 'component_type': {cell!r} is neither a component type "
                        f"({', '.join(COMPONENT_TYPES)}) nor a GB/T 26875.3 component code"
                    )
                    bad = True
            else:
                values[column] = cell
        if bad:
            continue
        try:
            point = PanelPoint.model_validate(values)
        except ValidationError as error:
            for e in error.errors():
                where = ".".join(str(p) for p in e["loc"])
                problems.append(f"line {line}, column {where!r}: {e['msg']}")
            continue
        key = (point.loop, point.address)
        if key in first_line:
            problems.append(f"line {line}: point {point.loop}-{point.address} appears twice (line {first_line[key]})")
            continue
        first_line[key] = line
        points.append(point)
    if problems:
        raise RegistryError(source, problems)
    return points


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


def points_csv(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
