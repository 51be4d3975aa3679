"""Migrations against a real PostgreSQL: empty database, repeated runs, concurrent runs, tampering."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from core.db import Flavour, connect, migrate, open_pool, schema_status
from core.db.migrate import available_migrations
from core.errors import DatabaseError, MigrationError
from tests.fix_postgres import PgServer, require_timescale

EXPECTED_TABLES = {
    "jurisdictions",
    "premises",
    "devices",
    "inspectors",
    "duty_roster",
    "readings",
    "events",
    "dead_letters",
    "device_status",
    "firewarden_migrations",
}


def _tables(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {str(r[0]) for r in rows}


def test_migrate_an_empty_database(flavour: Flavour, flavoured_database_url: str) -> None:
    """``auto`` takes TimescaleDB where the server preloads it, plain PostgreSQL where it does not."""
    latest = available_migrations()[-1].version
    with connect(flavoured_database_url, autocommit=True) as conn:
        before = schema_status(conn)
        assert (before.version, before.flavour, before.pending[-1]) == (0, None, latest)
        report = migrate(conn, "auto")
        assert report.applied == [m.version for m in available_migrations()]
        assert report.flavour == flavour
        assert _tables(conn) >= EXPECTED_TABLES
        after = schema_status(conn)
        hypertables = {
            str(r[0])
            for r in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables" if flavour == "timescale" else
                "SELECT NULL WHERE false"
            ).fetchall()
        }  # fmt: skip
    assert after.up_to_date and after.version == latest and after.flavour == flavour
    if flavour == "timescale":
        assert after.timescale_installed is not None and after.timescale_support == "ready"
        assert hypertables >= {"readings", "events", "device_status"}
    else:
        assert after.timescale_installed is None


def test_auto_takes_plain_on_a_server_where_timescaledb_is_installed_but_not_preloaded(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The state right after installing the package: CREATE EXTENSION would end the session with FATAL.
    require_timescale()
    with connect(database_url, autocommit=True) as conn:
        assert schema_status(conn).timescale_support == "not_preloaded"
        with caplog.at_level(logging.WARNING, logger="core.db.migrate"):
            report = migrate(conn, "auto")
        assert (report.flavour, report.version) == ("plain", available_migrations()[-1].version)
        assert not conn.closed and _tables(conn) >= EXPECTED_TABLES
    assert "add timescaledb to shared_preload_libraries" in caplog.text
    status = subprocess.run(
        [sys.executable, "-m", "firewarden", "--database-url", database_url, "db", "status"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "installed on the server but not in shared_preload_libraries" in status.stdout


def test_migrate_twice_applies_nothing_the_second_time(flavoured_database_url: str) -> None:
    with connect(flavoured_database_url, autocommit=True) as conn:
        migrate(conn)
        again = migrate(conn)
        rows = conn.execute("SELECT count(*) FROM firewarden_migrations").fetchone()
    assert again.applied == []
    assert rows is not None and rows[0] == len(available_migrations())


def test_two_processes_at_once_apply_each_migration_once(flavoured_database_url: str) -> None:
    database_url = flavoured_database_url
    command = [sys.executable, "-m", "firewarden", "--database-url", database_url, "db", "migrate"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    latest = len(available_migrations())
    assert said[0].startswith(f"applied {latest} migration(s)")
    assert said[1].startswith(f"schema already at version {latest}")
    with connect(database_url) as conn:
        rows = conn.execute("SELECT version, count(*) FROM firewarden_migrations GROUP BY version").fetchall()
    assert sorted(rows) == [(m.version, 1) for m in available_migrations()]


def test_an_edited_applied_migration_is_refused(migrated_url: str, database_url: str) -> None:
    with connect(database_url, autocommit=True) as conn:  # the owner: the application may not write the ledger
        conn.execute("UPDATE firewarden_migrations SET checksum = 'edited' WHERE version = 1")
        with pytest.raises(MigrationError, match="0001_registry changed after it was applied"):
            migrate(conn)


def test_a_newer_schema_is_refused(migrated_url: str, database_url: str) -> None:
    with connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO firewarden_migrations VALUES (9999, 'future', 'plain', 'x', now())")
        with pytest.raises(MigrationError, match="migrated by a newer release"):
            migrate(conn)


def test_timescale_on_without_the_extension_fails_clearly(database_url: str) -> None:
    # The plain test server has the extension either not at all or not preloaded: both are named.
    with connect(database_url, autocommit=True) as conn:
        with pytest.raises(
            MigrationError,
            match=r"timescale is 'on' but the timescaledb extension is (not installed|installed but not preloaded: "
            r"add timescaledb to shared_preload_libraries)",
        ):
            migrate(conn, "on")
        assert "premises" not in _tables(conn)


def test_migrate_needs_autocommit(database_url: str) -> None:
    with connect(database_url) as conn, pytest.raises(ValueError, match="autocommit"):
        migrate(conn)


def test_hourly_aggregate_answers_on_plain_postgresql(migrated_url: str) -> None:
    with connect(migrated_url) as conn:
        conn.execute(
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) VALUES "
            "('2026-11-23 08:10+00', 'P', 'D', 'water_pressure_mpa', 0.30, 1),"
            "('2026-11-23 08:50+00', 'P', 'D', 'water_pressure_mpa', 0.20, 2),"
            "('2026-11-23 09:05+00', 'P', 'D', 'water_pressure_mpa', 0.10, 3)"
        )
        rows = conn.execute("SELECT bucket, n, avg, min, max FROM readings_hourly ORDER BY bucket").fetchall()
    assert rows == [
        (datetime(2026, 11, 23, 8, tzinfo=UTC), 2, pytest.approx(0.25), 0.20, 0.30),
        (datetime(2026, 11, 23, 9, tzinfo=UTC), 1, pytest.approx(0.10), 0.10, 0.10),
    ]


def test_a_message_is_stored_once(migrated_url: str) -> None:
    insert = (
        "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) "
        "VALUES ('2026-11-23 08:00+00', 'P', 'D', 'battery_pct', 50, 7)"
    )
    with connect(migrated_url) as conn:
        conn.execute(insert)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert)


def test_pool_serves_connections(migrated_url: str) -> None:
    with open_pool(migrated_url, min_size=2, max_size=4) as pool, pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM premises").fetchone()
    assert row == (0,)


def test_unreachable_database_is_a_database_error_without_the_password() -> None:
    url = "postgresql://fw:hunter2@127.0.0.1:1/firewarden"
    with pytest.raises(DatabaseError) as caught:
        connect(url)
    assert "hunter2" not in str(caught.value)
    assert "postgresql://fw:***@127.0.0.1:1/firewarden" in str(caught.value)


def test_a_database_that_is_not_utf8_is_refused_with_what_to_do(pg_server: PgServer) -> None:
    name = f"fw_ascii_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        with connect(pg_server.url_for(name), autocommit=True) as conn, pytest.raises(MigrationError) as caught:
            migrate(conn, "off")
        assert "encoding is SQL_ASCII" in str(caught.value)
        assert "ENCODING 'UTF8'" in str(caught.value)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


# What every shipped migration's SQL hashes to, per flavour. A database records these when it applies a
# migration and refuses to go on when a file no longer matches, so an edit to a shipped migration, even
# of a comment, stops every database that applied it (it happened once: a comment naming a moved
# module). Write a new migration instead; add its line here.
SHIPPED_CHECKSUMS = {
    (1, "plain"): "6e1c85411add6803bca54d42b30e38da3b6a889bed1e6ef1d5817c3e9d732c8d",
    (1, "timescale"): "6e1c85411add6803bca54d42b30e38da3b6a889bed1e6ef1d5817c3e9d732c8d",
    (2, "plain"): "d914d341ccc6b1a3ef1620fc517792fd82105665866780d57f8a61dfd1b6c8ea",
    (2, "timescale"): "003402c966541313114bd4d96833fb72e6985ffb17660f7f6686185ce953a6d3",
    (3, "plain"): "100b72a43fe3652dd6f24fa3e80810e8c9d508253481167ed6b718a52b2fd573",
    (3, "timescale"): "3e4b82891d0395a84116ca1317d66491a7966b94d05ba93f775703971519a013",
    (4, "plain"): "6ebb5398e30734cf1e7922964c45dc5f9545f41ba2fdab2a8a530dafff6429ed",
    (4, "timescale"): "6ebb5398e30734cf1e7922964c45dc5f9545f41ba2fdab2a8a530dafff6429ed",
    (5, "plain"): "c10094b0a438ccf1b85433cad18c7a468e86a08c475317ba6ead2c54ac91d17f",
    (5, "timescale"): "c10094b0a438ccf1b85433cad18c7a468e86a08c475317ba6ead2c54ac91d17f",
    (6, "plain"): "950ebbc4bf525a905829469fb783b58dde83b1809939e799f7135f31528c728f",
    (6, "timescale"): "950ebbc4bf525a905829469fb783b58dde83b1809939e799f7135f31528c728f",
    (7, "plain"): "5712dc1cd7b13f1b3499ce3dfce931b4fc6fc7aeaf14c2ba52b9b35f8b6cb35b",
    (7, "timescale"): "f63cb8c5dbfb3c27f76f3f9c55706e28160aeef0e864790efaa634d1f51c4293",
    (8, "plain"): "3fb42e28918f75e058f730d89f6aee67174a57eb56148b807aaaade9a488bac6",
    (8, "timescale"): "3fb42e28918f75e058f730d89f6aee67174a57eb56148b807aaaade9a488bac6",
}


def test_shipped_migrations_are_never_edited() -> None:
    found = {
        (m.version, flavour): m.checksum(flavour)
        for m in available_migrations()
        for flavour in ("plain", "timescale")
        if (m.version, flavour) in SHIPPED_CHECKSUMS
    }
    changed = sorted(key for key, checksum in SHIPPED_CHECKSUMS.items() if found.get(key) != checksum)
    assert not changed, f"shipped migrations edited (write a new migration instead): {changed}"
