"""Database roles: the owner that migrates, and the application role every process runs as.

Migrations run as the owner of the tables (setting ``database_owner_url``). The processes connect
with ``database_url``, as a login role that is a member of :data:`APP_ROLE`, which may read and
write the application's tables but owns none of them: it can neither alter nor drop a table, nor
disable the triggers that keep the audit log append-only, and it may only read and insert that log.

:func:`grant_application_role` runs at the end of every ``firewarden db migrate``, so the grants
follow the schema; it is idempotent.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import sql

APP_ROLE: Final = "firewarden_app"

# Read-only for the application: what migrations record, and the head of the audit chain.
_READ_ONLY: Final = ("firewarden_migrations", "audit_chain")
# Read and insert only: the audit log itself.
_APPEND_ONLY: Final = ("audit_log",)


def grant_application_role(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Give :data:`APP_ROLE` what the application needs of every table, sequence and function in the
    schema, and no more. Runs as the owner of the tables."""
    role = sql.Identifier(APP_ROLE)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
        sql.SQL("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}").format(role),
    ]
    for table in (*_READ_ONLY, *_APPEND_ONLY):
        statements.append(sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), role))
    for table in _READ_ONLY:
        statements.append(sql.SQL("REVOKE INSERT ON {} FROM {}").format(sql.Identifier(table), role))
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)


def ensure_login_role(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """Make the group role and a login role ``name`` in it, unless they exist (the embedded server's
    application login; needs a superuser or CREATEROLE). No password: the embedded server trusts its
    own Unix socket only."""
    with conn.transaction():
        exists = conn.execute("SELECT rolname FROM pg_roles WHERE rolname IN (%s, %s)", (APP_ROLE, name)).fetchall()
        have = {str(r[0]) for r in exists}
        if APP_ROLE not in have:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(APP_ROLE)))
        if name not in have:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(APP_ROLE))
            )


def can_alter_audit_log(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether this connection's role could switch the audit log off: a superuser, or the owner of the
    table (or a member of the owner's role). The application should never run as such a role."""
    row = conn.execute(
        "SELECT rolsuper OR pg_has_role(current_user, (SELECT relowner FROM pg_class"
        " WHERE oid = to_regclass('audit_log')), 'MEMBER')"
        " FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])
