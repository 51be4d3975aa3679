"""The database: a psycopg 3 pool, versioned migrations, and the schema's status.

Public surface: :func:`open_pool`, :func:`connect`, :func:`first_line`, :func:`migrate`, :func:`schema_status`,
:func:`live_state` (a premises' most urgent open incident class, in SQL),
and what every store does with it (:mod:`core.db.access`): :func:`transaction`, :func:`database_errors`,
:func:`locked`, and the types ``Pool``, ``Connection``, ``Cursor``, ``Row``.
"""

from core.db.access import TRANSIENT, Connection, Cursor, Pool, Row, database_errors, locked, rows, transaction
from core.db.live import LIVE_CLASSES, class_priority, live_state
from core.db.migrate import Flavour, MigrationReport, SchemaStatus, migrate, schema_status
from core.db.pool import connect, first_line, open_pool
from core.db.roles import APP_ROLE, can_alter_audit_log, ensure_login_role

__all__ = [
    "APP_ROLE",
    "LIVE_CLASSES",
    "TRANSIENT",
    "Connection",
    "Cursor",
    "Flavour",
    "MigrationReport",
    "Pool",
    "Row",
    "SchemaStatus",
    "can_alter_audit_log",
    "class_priority",
    "connect",
    "database_errors",
    "ensure_login_role",
    "first_line",
    "live_state",
    "locked",
    "migrate",
    "open_pool",
    "rows",
    "schema_status",
    "transaction",
]
