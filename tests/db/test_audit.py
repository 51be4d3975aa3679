"""The audit log against PostgreSQL: the application's role cannot switch it off, the hash chain shows
a removed or altered entry, concurrent writers neither deadlock nor break the chain."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from core.db import audit, connect
from core.registry import load
from core.registry.store import import_registry
from scoring.models import Models
from scoring.risk import RiskModel
from scoring.store import record_models

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "registry.yaml"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _write(url: str, count: int, actor: str = "operator:wang") -> None:
    for n in range(count):
        with connect(url) as conn, conn.cursor() as cur:
            audit.record(cur, NOW, actor, "incident.acknowledged", f"incident:{n}", note=f"n{n}")
            conn.commit()


def _verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firewarden", "--database-url", url, "audit", "verify"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'nobody'",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "UPDATE audit_chain SET pos = 0",
        "DROP TRIGGER audit_log_chain ON audit_log",
        "CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN NEW; END $$",
    ],
)
def test_the_application_role_cannot_switch_the_audit_log_off(migrated_url: str, statement: str) -> None:
    _write(migrated_url, 1)
    with connect(migrated_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        rows = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert rows == (1,)


def test_the_chain_is_intact_and_shows_a_row_removed_altered_or_cut_off_by_the_owner(
    migrated_url: str, database_url: str
) -> None:
    owner = database_url  # the owner of the tables can disable the triggers: the chain still tells
    _write(migrated_url, 6)
    intact = _verify(migrated_url)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("audit log intact: 6 entries, head at position 6: ")

    with connect(owner, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        conn.execute("DELETE FROM audit_log WHERE chain_pos = 3")
        conn.execute('UPDATE audit_log SET details = \'{"note": "changed"}\' WHERE chain_pos = 5')
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    broken = _verify(migrated_url)
    assert broken.returncode == 1
    assert "entries at chain position 3 are missing (removed)" in broken.stderr
    assert "entry at chain position 5" in broken.stderr and "was altered" in broken.stderr

    with connect(owner, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        conn.execute("DELETE FROM audit_log WHERE chain_pos = 6")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
        verdict = audit.verify(conn)
    assert "the newest entries, at chain position 6, are missing (removed)" in verdict.problems


def test_an_entry_written_around_the_chain_is_found(migrated_url: str, database_url: str) -> None:
    _write(migrated_url, 2)
    with connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        conn.execute("INSERT INTO audit_log (at, actor, action, subject, details) VALUES (now(), 'x', 'y', 'z', '{}')")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain")
    with connect(migrated_url) as conn:
        verdict = audit.verify(conn)
    assert any("is not sealed into the chain" in p for p in verdict.problems)


def test_concurrent_writers_that_also_lock_other_rows_neither_deadlock_nor_break_the_chain(
    migrated_url: str,
) -> None:
    # One writer audits and then updates a row, the other updates it and then audits: with a lock taken at
    # each audit insert they would deadlock; the chain is sealed at commit instead.
    with connect(migrated_url, autocommit=True) as conn:
        conn.execute("INSERT INTO jurisdictions (id, name, kind) VALUES ('J', 'j', 'city')")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(audit_first: bool) -> None:
        try:
            for n in range(30):
                with connect(migrated_url) as conn, conn.cursor() as cur:
                    if n == 0:
                        start.wait(timeout=10)
                    if audit_first:
                        audit.record(cur, NOW, "a", "x", f"s{n}")
                    cur.execute("UPDATE jurisdictions SET name = %s WHERE id = 'J'", (f"n{n}",))
                    if not audit_first:
                        audit.record(cur, NOW, "b", "x", f"s{n}")
                    conn.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(first,)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with connect(migrated_url) as conn:
        verdict = audit.verify(conn)
    assert verdict.intact and verdict.entries == verdict.head_pos == 60


def test_a_registry_import_is_audited(migrated_url: str) -> None:
    with connect(migrated_url, autocommit=True) as conn:
        import_registry(conn, load(EXAMPLE), source="examples/registry.yaml", actor="cli:tester")
        row = conn.execute(
            "SELECT actor, subject, details FROM audit_log WHERE action = 'registry.imported'"
        ).fetchone()
    assert row is not None
    actor, subject, details = row
    assert (actor, subject) == ("cli:tester", "registry:examples/registry.yaml")
    assert details["tables"]["premises"]["new"] == len(load(EXAMPLE).premises)  # type: ignore[index]


def test_the_models_a_scoring_process_starts_with_are_audited_when_they_change(
    migrated_url: str, models: Models
) -> None:
    assert record_models(migrated_url, models, "system:up")
    assert not record_models(migrated_url, models, "system:score")  # the same models again: nothing new
    retrained = Models(RiskModel("risk-retrained", models.risk.folds, models.risk.baseline), models.anomaly)
    assert record_models(migrated_url, retrained, "system:up")
    with connect(migrated_url) as conn:
        rows = conn.execute(
            "SELECT actor, details FROM audit_log WHERE action = 'model.activated' ORDER BY id"
        ).fetchall()
    assert [(actor, details["risk"]) for actor, details in rows] == [  # type: ignore[index]
        ("system:up", models.risk.version),
        ("system:up", "risk-retrained"),
    ]
