"""The compose project test-deploy drives, and the small helpers every part of it uses: log lines, a
command that must succeed, waiting for a condition, a free port."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROJECT = "fwci"
IMAGE = "localhost/firewarden:latest"
PARTITIONS = 4


def log(message: str) -> None:
    print(f"[test-deploy {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(*args: str, check: bool = True, capture: bool = False, timeout: float = 900, **kw: object) -> str:
    done = subprocess.run(
        list(args),
        check=False,
        text=True,
        timeout=timeout,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        **kw,  # type: ignore[call-overload]
    )
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{(done.stdout or '')[-3000:]}")
    return done.stdout or ""


def wait(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(1.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """The compose project in a scratch copy of deploy/."""

    def __init__(self, work: Path) -> None:
        self.dir = work / "deploy"
        shutil.copytree(DEPLOY, self.dir, ignore=shutil.ignore_patterns("secrets", ".env", "__pycache__"))
        self.compose = [
            sys.executable,
            "-m",
            "podman_compose",
            "-p",
            PROJECT,
            "-f",
            str(self.dir / "compose.yaml"),
            "-f",
            str(self.dir / "ci" / "compose.ci.yaml"),
        ]
        self.network = f"{PROJECT}_default"
        self.env: dict[str, str] = {
            "FIREWARDEN_IMAGE": IMAGE,
            "FIREWARDEN_OWNER_PASSWORD": secrets.token_urlsafe(18),
            "FIREWARDEN_APP_PASSWORD": secrets.token_urlsafe(18),
            "FIREWARDEN_ALERTS_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "FIREWARDEN_KAFKA_IDEMPOTENT": "false",  # tansu cannot init aiokafka's idempotent producer
            "FIREWARDEN_KAFKA_ONE_RECORD_PER_BATCH": "true",  # tansu reports a partition's end short
            "FIREWARDEN_SCORING_PARTITIONS": str(PARTITIONS),
            "FIREWARDEN_MQTTS_PORT": str(free_port()),
            "FIREWARDEN_CONSOLE_PORT": str(free_port()),
            "FIREWARDEN_DB_PORT": str(free_port()),
            "FIREWARDEN_GATEWAY_PORT": str(free_port()),
            "FIREWARDEN_NBIOT_PORT": str(free_port()),
            "FIREWARDEN_CTWING_TOKEN": secrets.token_urlsafe(18),
        }

    def write_env(self) -> None:
        (self.dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))

    def __call__(self, *args: str, **kw: object) -> str:
        return run(*self.compose, *args, cwd=str(self.dir), capture=True, **kw)  # type: ignore[arg-type]

    def container(self, service: str, index: int = 1) -> str:
        return f"{PROJECT}_{service}_{index}"

    def tool(
        self,
        *args: str,
        mounts: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        detach: bool = False,
        name: str | None = None,
    ) -> str:
        """The Firewarden image on the stack's network, outside the compose file (a tester's tool)."""
        command = ["podman", "run", "--network", self.network]
        command += ["-d", "--name", name] if detach else ["--rm"]
        for mount in mounts:
            command += ["-v", mount]
        for key, value in (env or {}).items():
            command += ["-e", f"{key}={value}"]
        return run(*command, IMAGE, *args, capture=True)

    def sql(self, query: str) -> str:
        return run(
            "podman",
            "exec",
            self.container("timescaledb"),
            "psql",
            "-U",
            "firewarden_owner",
            "-d",
            "firewarden",
            "-tAc",
            query,
            capture=True,
        ).strip()
