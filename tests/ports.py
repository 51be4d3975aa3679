"""Free TCP ports for servers the tests start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_rng = random.SystemRandom()


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port that was free a moment ago on every interface, chosen below the kernel's ephemeral range.

    The kernel hands ports of that range to outgoing connections: a many-process test opens dozens
    (Kafka, PostgreSQL, MQTT), and one of them took a port the test had picked for a process's health
    server before the process bound it ("Address already in use", CI). A port below the range is only
    ever taken by a server that asked for it."""
    high = _ephemeral_low()
    low = max(1024, high - 12_000)
    for _ in range(500):
        port = _rng.randrange(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port between {low} and {high}")
