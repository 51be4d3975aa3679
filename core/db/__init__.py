"""The database: a psycopg 3 pool, versioned migrations, and the schema's status.

Public surface: :func:`open_pool`, :func:`connect`, :func:`first_line`, :func:`migrate`, :func:`schema_status`.
"""

from core.db.migrate import Flavour, MigrationReport, SchemaStatus, migrate, schema_status
from core.db.pool import connect, first_line, open_pool
from core.db.roles import APP_ROLE, can_alter_audit_log, ensure_login_role

__all__ = [
    "APP_ROLE",
    "Flavour",
    "MigrationReport",
    "SchemaStatus",
    "can_alter_audit_log",
    "connect",
    "ensure_login_role",
    "first_line",
    "migrate",
    "open_pool",
    "schema_status",
]
