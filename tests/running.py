"""Helpers for tests that run `firewarden up` in a child process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_for_up(port: int, up: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 90) -> None:
    """Until the API answers and ingest has subscribed (so nothing published after is lost)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise AssertionError(f"firewarden up exited with {up.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            answered = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
            if answered and "ingesting $share/" in log_path.read_text():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the API did not come up:\n{log_path.read_text()[-3000:]}")
