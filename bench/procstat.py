"""CPU time of processes from /proc: what the benches divide by the messages they moved.

CPU seconds (user + system) are stable on a shared, noisy machine where wall time is not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def total_cpu_s(pids: Iterable[int]) -> float:
    return sum(cpu_s(p) for p in pids)


def _processes(name: str) -> Iterator[tuple[int, bytes]]:
    """(pid, contents of /proc/<pid>/<name>) of every process that is still there when read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / name).read_bytes()
            except OSError:
                continue


def children(ppid: int) -> list[int]:
    return [pid for pid, stat in _processes("stat") if int(stat[stat.rindex(b")") + 2 :].split()[1]) == ppid]


def postgres_pids(pgdata: Path) -> list[int]:
    """The postmaster of ``pgdata`` and its children (backends, writers) now."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


def pids_with(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (a broker's config path, say)."""
    wanted = text.encode()
    return [pid for pid, cmdline in _processes("cmdline") if wanted in cmdline.replace(b"\0", b" ")]
