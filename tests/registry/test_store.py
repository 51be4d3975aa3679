"""Registry import and export against a real PostgreSQL: upsert, idempotence, round trip, all-or-nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from psycopg.rows import dict_row

from core import registry
from core.db import connect
from core.errors import DatabaseError, RegistryError
from core.policy import Policy
from supervision.credit_store import review

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"


def _import(url: str, path: Path) -> dict[str, tuple[int, int, int]]:
    with connect(url, autocommit=True) as conn:
        results = registry.import_registry(conn, registry.load(path), source=str(path))
    return {r.table: (r.inserted, r.updated, r.unchanged) for r in results}


def _export(url: str) -> registry.RegistryFile:
    with connect(url) as conn:
        return registry.export_registry(conn)


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_import_is_an_idempotent_upsert(migrated_url: str) -> None:
    first = _import(migrated_url, EXAMPLE)
    assert first == {
        "jurisdictions": (4, 0, 0),
        "departments": (1, 0, 0),
        "inspectors": (3, 0, 0),
        "duty_roster": (3, 0, 0),
        "premises": (5, 0, 0),
        "devices": (21, 0, 0),
        "panel_points": (5, 0, 0),
        "zones": (2, 0, 0),
    }
    snapshot = _export(migrated_url)
    second = _import(migrated_url, EXAMPLE)
    assert all(inserted == updated == 0 for inserted, updated, _ in second.values())
    assert _export(migrated_url) == snapshot


def test_changed_records_are_updated_and_others_kept(migrated_url: str, tmp_path: Path) -> None:
    _import(migrated_url, EXAMPLE)
    changes = {"premises": [{**yaml.safe_load(EXAMPLE.read_text())["premises"][2], "credit_status": "normal"}]}
    counts = _import(migrated_url, _write(tmp_path, "changes.yaml", changes))
    assert counts["premises"] == (0, 1, 0)
    exported = _export(migrated_url)
    assert len(exported.premises) == 5  # an upsert never deletes what the file leaves out
    assert next(p for p in exported.premises if p.id == "P-0003").credit_status == "normal"


def test_export_then_import_elsewhere_gives_the_same_data(
    migrated_url: str, tmp_path: Path, pg_server: object, database_url: str
) -> None:
    _import(migrated_url, EXAMPLE)
    exported = _export(migrated_url)
    assert next(d for d in exported.devices if d.id == "D-0001-SP-01").water_system == "sprinkler"
    for fmt in ("yaml", "json"):
        path = tmp_path / f"export.{fmt}"
        path.write_text(registry.dump(exported, fmt), encoding="utf-8")
        assert registry.load(path) == exported
    # A second, separate database (database_url is not migrated_url's database).
    from core.db import migrate

    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    _import(database_url, tmp_path / "export.json")
    assert _export(database_url) == exported


def test_exported_defaults_are_explicit(migrated_url: str) -> None:
    _import(migrated_url, EXAMPLE)
    devices = {d.id: d for d in _export(migrated_url).devices}
    assert devices["D-0003-SA-01"].expected_interval_s == 3_600  # smoke alarm's default, now written down
    assert devices["D-0001-EM-01"].setpoints == {"residual_current_ma": 300.0, "cable_temp_c": 70.0}


def test_device_of_unknown_premises_is_rejected_and_nothing_changes(migrated_url: str, tmp_path: Path) -> None:
    _import(migrated_url, EXAMPLE)
    before = _export(migrated_url)
    data = yaml.safe_load(EXAMPLE.read_text())
    data["premises"][0]["name"] = "changed, but must not be stored"
    data["devices"].append({"id": "D-9999", "premises": "P-404", "type": "tank_level", "location": "roof"})
    with pytest.raises(RegistryError) as caught:
        _import(migrated_url, _write(tmp_path, "bad.yaml", data))
    assert "devices[21] (id 'D-9999'): field 'premises': unknown premises 'P-404'" in str(caught.value)
    assert _export(migrated_url) == before


def test_zone_uses_are_checked_named_and_updated(migrated_url: str, tmp_path: Path) -> None:
    _import(migrated_url, EXAMPLE)
    assert {(z.premises, z.zone): z.use for z in _export(migrated_url).zones} == {
        ("P-0002", "5F-food"): "kitchen",
        ("P-0003", "1F"): "ebike_charging",
    }
    bad = {
        "zones": [
            {"premises": "P-0004", "zone": "1F", "use": "kitchen"},
            {"premises": "P-0004", "zone": "1F", "use": "boiler_room"},
            {"premises": "P-404", "zone": "B1", "use": "car_park"},
        ]
    }
    with pytest.raises(RegistryError) as caught:
        _import(migrated_url, _write(tmp_path, "zones.yaml", bad))
    assert "zones[1] (id 'P-0004@1F'): field 'id': duplicate of zones[0]" in str(caught.value)
    unknown_use = {"zones": [{"premises": "P-0004", "zone": "1F", "use": "sauna"}]}
    with pytest.raises(RegistryError, match=r"zones\[0\]: field 'use': Input should be 'ordinary', 'kitchen'"):
        _import(migrated_url, _write(tmp_path, "use.yaml", unknown_use))
    missing = {"zones": [{"premises": "P-404", "zone": "B1", "use": "car_park"}]}
    with pytest.raises(RegistryError, match=r"zones\[0\]: field 'premises': unknown premises 'P-404'"):
        _import(migrated_url, _write(tmp_path, "missing.yaml", missing))
    changed = {"zones": [{"premises": "P-0002", "zone": "5F-food", "use": "boiler_room"}]}
    assert _import(migrated_url, _write(tmp_path, "changed.yaml", changed))["zones"] == (0, 1, 0)


def test_references_may_be_satisfied_by_the_database(migrated_url: str, tmp_path: Path) -> None:
    _import(migrated_url, EXAMPLE)
    devices_only = {
        "devices": [{"id": "D-0002-TK-01", "premises": "P-0002", "type": "tank_level", "location": "roof tank"}]
    }
    assert _import(migrated_url, _write(tmp_path, "devices.yaml", devices_only))["devices"] == (1, 0, 0)


@pytest.mark.parametrize(
    "breakage",
    ["missing_field", "unknown_category", "unknown_premises", "duplicate_id", "wrong_type", "bad_yaml"],
)
def test_bad_files_leave_the_database_unchanged(migrated_url: str, tmp_path: Path, breakage: str) -> None:
    _import(migrated_url, EXAMPLE)
    before = _export(migrated_url)
    data = yaml.safe_load(EXAMPLE.read_text())
    for premises in data["premises"]:
        premises["occupancy"] = 1  # a change that would show if anything got through
    if breakage == "missing_field":
        del data["devices"][3]["location"]
    elif breakage == "unknown_category":
        data["premises"][4]["category"] = "castle"
    elif breakage == "unknown_premises":
        data["devices"][0]["premises"] = "P-NOPE"
    elif breakage == "duplicate_id":
        data["premises"].append(dict(data["premises"][0]))
    elif breakage == "wrong_type":
        data["premises"][3]["height_m"] = "tall"
    path = _write(tmp_path, "bad.yaml", data)
    if breakage == "bad_yaml":
        path.write_text(path.read_text() + "\n  - : : [\n")
    with pytest.raises(RegistryError):
        _import(migrated_url, path)
    assert _export(migrated_url) == before


def test_import_before_migrate_says_what_to_do(database_url: str) -> None:
    with connect(database_url) as conn, pytest.raises(DatabaseError, match="run `firewarden db migrate` first"):
        registry.import_registry(conn, registry.load(EXAMPLE), source="example")


def test_a_credit_status_from_the_registry_is_in_the_units_credit_record(migrated_url: str, tmp_path: Path) -> None:
    def record() -> list[tuple[object, ...]]:
        with connect(migrated_url) as conn:
            return conn.execute(
                "SELECT premises_id, from_status, to_status, reason, actor FROM credit_changes ORDER BY id"
            ).fetchall()

    listed = {p["id"]: p["credit_status"] for p in yaml.safe_load(EXAMPLE.read_text())["premises"]}
    _import(migrated_url, EXAMPLE)
    first = record()
    assert first == [
        (pid, "normal", status, "registry", "system") for pid, status in listed.items() if status != "normal"
    ]
    assert first, "the example lists a premises below or above normal"
    _import(migrated_url, EXAMPLE)
    assert record() == first  # the same file again: nothing changed, nothing recorded
    with connect(migrated_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        later = datetime.now(UTC) + timedelta(days=800)
        assert review(cur, Policy(), later) == []  # listed by the registry, never by supervision: no repair
    pid = str(first[0][0])
    changes = {"premises": [{**next(p for p in yaml.safe_load(EXAMPLE.read_text())["premises"] if p["id"] == pid),
                             "credit_status": "normal"}]}  # fmt: skip
    _import(migrated_url, _write(tmp_path, "changes.yaml", changes))
    assert record()[len(first) :] == [(pid, listed[pid], "normal", "registry", "system")]
