"""Firewarden commands in child processes for end-to-end tests: `firewarden up` started on real services and
stopped by SIGINT, and any command as a :class:`Process` that can be killed and started again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.addresses import MqttUrl
from simulators.inbox import Received
from tests.ports import free_port


@dataclass(frozen=True)
class Up:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running_up(
    database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path, *, secret: str, client_id: str,
    kafka: str | None = None,
) -> Iterator[Up]:  # fmt: skip
    """`firewarden up` with the console on a free port, until the block ends; then SIGINT, and it must
    exit 0 having stopped cleanly. Scoring's wall clock is off: time moves with the records only.
    ``kafka``: the bus (``host:port``, its topics made first), where `up` runs scoring as a faust worker."""
    port = free_port()
    env = {
        **os.environ,
        "FIREWARDEN_DATABASE_URL": database_url,
        "FIREWARDEN_MQTT_URL": f"mqtt://{mosquitto.host}:{mosquitto.port}",
        "FIREWARDEN_DATA_DIR": str(tmp_path / "data"),
        "FIREWARDEN_MODEL_DIR": str(models_dir),
        "FIREWARDEN_API_PORT": str(port),
        "FIREWARDEN_METRICS_PORT": "0",
        "FIREWARDEN_ALERTS_WEBHOOK_SECRET": secret,
        "FIREWARDEN_INGEST_CLIENT_ID": client_id,
        "FIREWARDEN_SCORING_WALL_CLOCK": "false",
    }
    if kafka is not None:
        # tansu cannot init aiokafka's idempotent producer
        env |= {"FIREWARDEN_BUS": f"kafka://{kafka}", "FIREWARDEN_KAFKA_IDEMPOTENT": "false"}
        env["FIREWARDEN_KAFKA_ONE_RECORD_PER_BATCH"] = "true"  # tansu reports a partition's end short
        made = subprocess.run([sys.executable, "-m", "firewarden", "topics", "create"], env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen([sys.executable, "-m", "firewarden", "up"], env=env, stdout=log, stderr=log)
    try:
        wait_for_up(port, up, log_path)
        yield Up(port, log_path)
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=60)
    text = log_path.read_text()
    assert code == 0, text[-3000:]
    assert "stopped cleanly" in text


def wait_for_up(port: int, up: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 90) -> None:
    """Until the API answers and ingest has subscribed (so nothing published after is lost)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise AssertionError(f"firewarden up exited with {up.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            answered = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
            if answered and "ingesting as " in log_path.read_text():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the API did not come up:\n{log_path.read_text()[-3000:]}")


@dataclass
class Process:
    """A `firewarden` command as a child process, started again with the same settings after a kill."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    codes: list[int] = field(default_factory=list)
    ready_url: str = ""

    def start(self) -> None:
        """Start (again), with a health port free now: the one of an earlier start may have become
        another connection's port meanwhile."""
        port = free_port()
        self.ready_url = f"http://127.0.0.1:{port}/readyz"
        env = self.env | {"FIREWARDEN_METRICS_PORT": str(port)}
        if "FIREWARDEN_API_PORT" in env:
            env["FIREWARDEN_API_PORT"] = str(free_port())
        command = [sys.executable, "-m", "firewarden", *self.args]
        with self.log.open("ab") as out:
            out.write(f"\n---- start {self.name} at {time.time():.3f}\n".encode())
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.codes.append(self.proc.wait(timeout=10))

    def stop(self) -> int:
        """SIGTERM, and the exit code (SIGKILL after 60 s: a hung stop is a failure, not a pass)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -999

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
        try:
            return httpx.get(self.ready_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_ready(self, timeout_s: float = 60.0) -> None:
        """:meth:`start`, then wait until its ``/readyz`` answers 200."""
        Process.start(self)
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            assert time.monotonic() < deadline, f"{self.name} never got ready:\n{self.tail()}"
            time.sleep(0.1)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


class InboxProcess:
    """`firewarden simulate inbox` in a process of its own, recording every request to a file: the
    webhook receiver of the many-process tests, apart from the test's own process and its threads.
    :attr:`requests` and :attr:`delivered` read as :class:`simulators.inbox.Inbox`'s do."""

    def __init__(self, secret: str, directory: Path) -> None:
        self.port = free_port()
        self.record = directory / "inbox.jsonl"
        self.log = directory / "inbox.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
        env |= {"FIREWARDEN_ALERTS_WEBHOOK_SECRET": secret, "FIREWARDEN_DATA_DIR": str(directory / "inbox-data")}
        command = [sys.executable, "-m", "firewarden", "simulate", "inbox", "--port", str(self.port),
                   "--record", str(self.record)]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> InboxProcess:
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the inbox did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def answers(self) -> bool:
        """Whether a TCP connection to the inbox is accepted now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    @property
    def requests(self) -> list[Received]:
        if not self.record.exists():
            return []
        out = []
        for line in self.record.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            out.append(Received(r["at"], r["path"], r["key"], r["signed"], r["body"], r["status"]))
        return out

    @property
    def delivered(self) -> dict[str, Received]:
        """Idempotency key → the first request answered 2xx."""
        first: dict[str, Received] = {}
        for r in self.requests:
            if 200 <= r.status < 300:
                first.setdefault(r.key, r)
        return first

    def state(self) -> str:
        """For a wait that timed out: whether the inbox process lives and accepts connections."""
        alive = "alive" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        return (f"inbox at {self.url}: process {alive}, accepts connections {self.answers()}, "
                f"requests {len(self.requests)}, delivered {len(self.delivered)}; its log: "
                f"{self.log.read_text(errors='replace')[-500:]}")  # fmt: skip
