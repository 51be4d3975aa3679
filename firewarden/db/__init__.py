"""The database: a psycopg 3 pool, versioned migrations, and the schema's status.

Public surface: :func:`open_pool`, :func:`connect`, :func:`first_line`, :func:`migrate`, :func:`schema_status`.
"""

from firewarden.db.migrate import Flavour, MigrationReport, SchemaStatus, migrate, schema_status
from firewarden.db.pool import connect, first_line, open_pool

__all__ = [
    "Flavour",
    "MigrationReport",
    "SchemaStatus",
    "connect",
    "first_line",
    "migrate",
    "open_pool",
    "schema_status",
]
