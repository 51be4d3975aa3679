"""A UITD's point list from the panel's CSV export: parsing with line-and-column errors, import (upsert,
replace, all or nothing, audited) and export against a real PostgreSQL, and ingest reading it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import registry
from core.db import connect
from core.errors import RegistryError
from core.registry.points import parse_points
from core.registry.store import export_points, import_points
from ingest.store import load_registry_index

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"
UITD = "D-0001-UITD"

GOOD = """\ufeffloop,address,zone,floor,component_type,description,maps_to
1,1,1F-east,1F,smoke_detector,1楼东侧走廊,
1,2,1F-east,1F,42,1楼东侧办公室,
2,7,B1,B1,pressure_switch,喷淋压力开关,D-0001-SP-01
"""


def test_a_good_csv_parses_with_codes_mapped() -> None:
    points = parse_points(GOOD, UITD, source="points.csv")
    assert [(p.loop, p.address, p.zone, p.component_type, p.maps_to) for p in points] == [
        (1, 1, "1F-east", "smoke_detector", None),
        (1, 2, "1F-east", "smoke_detector", None),  # code 42: a photoelectric smoke detector
        (2, 7, "B1", "pressure_switch", "D-0001-SP-01"),
    ]
    assert points[1].description == "1楼东侧办公室"


def test_every_problem_is_named_by_line_and_column() -> None:
    bad = (
        "loop,address,zone,component_type\n"
        "1,x12,A,smoke_detector\n1,3,A,teapot\n1,4,A,\n1,4,B,\n-1,5,C,\n1,6,D,,extra\n"
    )
    with pytest.raises(RegistryError) as caught:
        parse_points(bad, UITD, source="points.csv")
    problems = caught.value.problems
    assert problems[0] == "line 2, column 'address': 'x12' is not an integer"
    assert problems[1].startswith("line 3, column 'component_type': 'teapot' is neither a component type")
    assert problems[2] == "line 5: point 1-4 appears twice (line 4)"
    assert problems[3].startswith("line 6, column 'loop':")
    assert problems[4] == "line 7: more cells than the header has columns"
    assert len(problems) == 5
    with pytest.raises(RegistryError) as header:
        parse_points("loop,point\n1,2\n", UITD, source="p.csv")
    assert header.value.problems == [
        "line 1: unknown column(s) 'point'; "
        "columns are loop, address, zone, floor, component_type, description, maps_to",
        "line 1: missing column(s) 'address'",
    ]


def test_import_replace_export_and_ingest_reads_zones(migrated_url: str) -> None:
    with connect(migrated_url, autocommit=True) as conn:
        registry.import_registry(conn, registry.load(EXAMPLE), source="example")
        points = parse_points(GOOD, UITD, source="points.csv")
        first = import_points(conn, UITD, points, replace=False, source="points.csv", actor="test")
        again = import_points(conn, UITD, points, replace=False, source="points.csv", actor="test")
        fewer = import_points(conn, UITD, points[:2], replace=True, source="points.csv", actor="test")
        exported = export_points(conn, UITD)
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'registry.points_imported' AND subject = %s",
            (f"device:{UITD}",),
        ).fetchone()
    assert (first.inserted, first.updated, first.unchanged, first.deleted) == (3, 0, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert fewer.deleted == 1
    assert exported.splitlines() == [
        "loop,address,zone,floor,component_type,description,maps_to",
        "1,1,1F-east,1F,smoke_detector,1楼东侧走廊,",
        "1,2,1F-east,1F,smoke_detector,1楼东侧办公室,",
    ]
    assert parse_points(exported, UITD, source="export") == points[:2]  # the export reads back
    assert audited is not None and audited[0] == 3
    panel = load_registry_index(migrated_url).panel(UITD)
    point = panel.point(1, 2)
    assert point is not None and point.zone == "1F-east"


def test_import_refuses_a_device_that_is_not_a_uitd_and_a_foreign_mapping(migrated_url: str) -> None:
    with connect(migrated_url, autocommit=True) as conn:
        registry.import_registry(conn, registry.load(EXAMPLE), source="example")
        sensor = conn.execute("SELECT id FROM devices WHERE type <> 'uitd' LIMIT 1").fetchone()
        other = conn.execute("SELECT id FROM devices WHERE premises_id <> 'P-0001' LIMIT 1").fetchone()
        assert sensor is not None and other is not None
        with pytest.raises(RegistryError, match="point lists belong to a uitd"):
            import_points(conn, str(sensor[0]), [], replace=False, source="x", actor="test")
        mapped = parse_points(f"loop,address,maps_to\n1,1,{other[0]}\n", UITD, source="x")
        with pytest.raises(RegistryError, match="not a device of 'P-0001'"):
            import_points(conn, UITD, mapped, replace=False, source="x", actor="test")
        with pytest.raises(RegistryError, match="unknown device"):
            import_points(conn, "NOPE", [], replace=False, source="x", actor="test")
        left = conn.execute("SELECT count(*) FROM panel_points WHERE device_id = %s", (UITD,)).fetchone()
    assert left is not None and left[0] == 0
