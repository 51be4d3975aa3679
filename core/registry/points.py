"""A UITD's panel point list (点位表) from and to the CSV a panel exports (docs/registry.md).

Parsing checks every row and names the line and column of each problem; nothing is written unless
the whole file is good. Import upserts the points in one transaction, audited
(``registry.points_imported``), and with ``replace`` deletes the UITD's points the file does not list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from pydantic import ValidationError

from core.domain import COMPONENT_TYPES, ID_PATTERN
from core.errors import RegistryError
from core.gb26875 import component_type
from core.registry.model import PanelPoint

COLUMNS = ("loop", "address", "zone", "floor", "component_type", "description", "maps_to")
REQUIRED = ("address",)
_INTEGERS = ("loop", "address")


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


def points_csv(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
