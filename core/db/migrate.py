"""Versioned SQL migrations, applied once each, safe when several processes run them at once.

Migrations live in ``core/db/migrations`` as ``NNNN_name.sql`` (both flavours) and, where the
flavours differ, ``NNNN_name.timescale.sql`` / ``NNNN_name.plain.sql`` applied right after it in the
same transaction. The flavour is chosen at the first migration (setting ``timescale``) and recorded
with every applied version, so a database never mixes the two.

Guarantees:
- each version is applied in its own transaction and recorded in ``firewarden_migrations`` with a
  checksum of the SQL that ran; an applied migration whose file later changed is refused;
- a session-level advisory lock serialises concurrent runs: the second waits, then finds nothing
  to do;
- every run ends by granting the application role its rights (:mod:`core.db.roles`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import psycopg

from core.db.roles import can_alter_audit_log, grant_application_role
from core.errors import MigrationError

log = logging.getLogger(__name__)

Flavour = Literal["timescale", "plain"]
TimescaleChoice = Literal["auto", "on", "off"]
TimescaleSupport = Literal["absent", "not_preloaded", "ready"]

# Any constant works as long as every Firewarden process uses the same one; these are "fwmigrat".
ADVISORY_LOCK_KEY = 0x66776D6967726174
_FILE_NAME = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<flavour>timescale|plain))?\.sql")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS firewarden_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    flavour     text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    common_sql: str
    flavour_sql: dict[str, str] = field(default_factory=dict)

    def sql(self, flavour: Flavour) -> str:
        """The SQL that brings a database of this flavour to this version."""
        return self.common_sql + "\n" + self.flavour_sql.get(flavour, "")

    def checksum(self, flavour: Flavour) -> str:
        return hashlib.sha256(self.sql(flavour).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationReport:
    flavour: Flavour
    applied: list[int]
    version: int


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    server_version: str
    version: int
    latest: int
    pending: list[int]
    flavour: Flavour | None
    timescale_support: TimescaleSupport
    timescale_installed: str | None

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def available_migrations() -> list[Migration]:
    """Every migration shipped with this version of Firewarden, in order."""
    common: dict[int, tuple[str, str]] = {}
    flavoured: dict[int, dict[str, str]] = {}
    folder = resources.files("core.db").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        text = entry.read_text(encoding="utf-8")
        if match["flavour"]:
            flavoured.setdefault(version, {})[match["flavour"]] = text
        elif version in common:
            raise MigrationError(f"two migrations with version {version}: {common[version][0]} and {match['name']}")
        else:
            common[version] = (match["name"], text)
    orphans = sorted(set(flavoured) - set(common))
    if orphans:
        raise MigrationError(f"flavour-specific migrations without a common file: versions {orphans}")
    return [Migration(v, name, sql, flavoured.get(v, {})) for v, (name, sql) in sorted(common.items())]


def migrate(conn: psycopg.Connection[tuple[object, ...]], timescale: TimescaleChoice = "auto") -> MigrationReport:
    """Bring the schema to the latest version. ``conn`` must be in autocommit mode."""
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection: each migration runs in its own transaction")
    row = conn.execute("SHOW server_encoding").fetchone()
    value = row[0] if row else b"unknown"
    found = value.decode() if isinstance(value, bytes) else str(value)  # bytes: psycopg on SQL_ASCII
    if found.upper() not in ("UTF8", "UTF-8"):
        raise MigrationError(
            f"the database's encoding is {found}, Firewarden stores Chinese and English text and needs UTF8: "
            "create the database with ENCODING 'UTF8' (initdb --encoding=UTF8 --locale=C.UTF-8)"
        )
    migrations = available_migrations()
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        conn.execute(_CREATE_LEDGER)
        ledger = _read_ledger(conn)
        flavour = _recorded_flavour(ledger) or _choose_flavour(conn, timescale)
        _check_applied(migrations, ledger, flavour)
        applied = []
        for migration in migrations:
            if migration.version in ledger:
                continue
            log.info("applying migration %04d_%s (%s)", migration.version, migration.name, flavour)
            try:
                with conn.transaction():
                    conn.execute(migration.sql(flavour).encode())
                    conn.execute(
                        "INSERT INTO firewarden_migrations (version, name, flavour, checksum) VALUES (%s, %s, %s, %s)",
                        (migration.version, migration.name, flavour, migration.checksum(flavour)),
                    )
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} ({flavour}) failed and was rolled back: "
                    f"{str(exc).strip()}"
                ) from None
            applied.append(migration.version)
        try:
            if can_alter_audit_log(conn):  # the owner (the application itself has nothing to grant)
                grant_application_role(conn)
        except psycopg.Error as exc:
            raise MigrationError(f"granting the application role its rights failed: {str(exc).strip()}") from None
    finally:
        if not conn.closed:  # a lost connection already released the lock; keep the original error
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return MigrationReport(flavour, applied, migrations[-1].version if migrations else 0)


def schema_status(conn: psycopg.Connection[tuple[object, ...]]) -> SchemaStatus:
    """Where the schema stands against the migrations this version ships. Read-only."""
    migrations = available_migrations()
    ledger_exists = conn.execute("SELECT to_regclass('firewarden_migrations') IS NOT NULL").fetchone()
    ledger = _read_ledger(conn) if ledger_exists and ledger_exists[0] else {}
    server = conn.execute("SHOW server_version").fetchone()
    installed = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return SchemaStatus(
        server_version=str(server[0]) if server else "?",
        version=max(ledger, default=0),
        latest=migrations[-1].version if migrations else 0,
        pending=[m.version for m in migrations if m.version not in ledger],
        flavour=_recorded_flavour(ledger),
        timescale_support=timescale_support(conn),
        timescale_installed=str(installed[0]) if installed else None,
    )


def _read_ledger(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, tuple[str, Flavour]]:
    rows = conn.execute("SELECT version, checksum, flavour FROM firewarden_migrations").fetchall()
    return {int(str(v)): (str(c), _as_flavour(str(f))) for v, c, f in rows}


def _as_flavour(text: str) -> Flavour:
    if text == "timescale":
        return "timescale"
    if text == "plain":
        return "plain"
    raise MigrationError(f"firewarden_migrations records an unknown flavour {text!r}")


def _recorded_flavour(ledger: dict[int, tuple[str, Flavour]]) -> Flavour | None:
    flavours = {flavour for _, flavour in ledger.values()}
    if len(flavours) > 1:
        raise MigrationError(f"firewarden_migrations mixes flavours {sorted(flavours)}; repair by hand")
    return flavours.pop() if flavours else None


def _choose_flavour(conn: psycopg.Connection[tuple[object, ...]], timescale: TimescaleChoice) -> Flavour:
    if timescale == "off":
        return "plain"
    support = timescale_support(conn)
    if support != "ready":
        why = {
            "absent": "the timescaledb extension is not installed on the server",
            "not_preloaded": "the timescaledb extension is installed but not preloaded: add timescaledb to "
            "shared_preload_libraries in postgresql.conf and restart the server",
        }[support]
        if timescale == "on":
            raise MigrationError(f"setting timescale is 'on' but {why}")
        if support == "not_preloaded":
            log.warning("%s; using plain PostgreSQL", why)
        return "plain"
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        if timescale == "on" or conn.closed:
            raise MigrationError(f"cannot enable timescaledb: {str(exc).strip()}") from None
        log.warning("timescaledb is installed but cannot be enabled (%s); using plain PostgreSQL", str(exc).strip())
        return "plain"
    return "timescale"


def timescale_support(conn: psycopg.Connection[tuple[object, ...]]) -> TimescaleSupport:
    """Whether this server can run TimescaleDB, asked without trying: ``CREATE EXTENSION`` of a library
    that is not preloaded ends the session with FATAL, and a migration must not lose its connection."""
    # The loader, once preloaded, defines its settings in every session; shared_preload_libraries itself
    # is readable by superusers only, and the application's role must be able to ask too.
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),"
        " current_setting('timescaledb.disable_load', true) IS NOT NULL"
    ).fetchone()
    assert row is not None
    available, preloaded = bool(row[0]), bool(row[1])
    if not available:
        return "absent"
    return "ready" if preloaded else "not_preloaded"


def _check_applied(migrations: list[Migration], ledger: dict[int, tuple[str, Flavour]], flavour: Flavour) -> None:
    known = {m.version: m for m in migrations}
    for version, (checksum, _) in sorted(ledger.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version}, which this version of Firewarden does not know: "
                "it was migrated by a newer release"
            )
        if migration.checksum(flavour) != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name} changed after it was applied; "
                "write a new migration instead of editing an applied one"
            )
