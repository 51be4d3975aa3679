"""The embedded MQTT broker: Mosquitto when installed, else the pip-installed amqtt.

How it decides (:func:`choose_broker`):
1. ``mosquitto`` on ``PATH``, or at Debian's ``/usr/sbin/mosquitto`` (``/usr/sbin`` is often missing
   from a non-root ``PATH``): Mosquitto, MQTT 5 and 3.1.1, shared subscriptions, persistence;
2. otherwise ``amqtt``, a dependency of Firewarden, so one is always there. amqtt speaks MQTT 3.1.1
   only: enough to try Firewarden, not for production ingest, which wants MQTT 5 shared
   subscriptions (use Mosquitto or EMQX through ``FIREWARDEN_MQTT_URL``).

Either broker runs as a child process bound to 127.0.0.1 with anonymous access: it is for one machine,
never exposed. Its files live under ``<data_dir>/mqtt``. It stops when the context ends, or, when the
process that started it is killed, through its reaper (:mod:`core.services.reaper`).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.addresses import MqttUrl
from core.errors import ServiceError
from core.services.reaper import Reaper

STARTUP_TIMEOUT_S = 15.0
DEBIAN_MOSQUITTO = Path("/usr/sbin/mosquitto")


@dataclass(frozen=True, slots=True)
class BrokerProgram:
    kind: Literal["mosquitto", "amqtt"]
    command: tuple[str, ...]


AMQTT = BrokerProgram("amqtt", (sys.executable, "-m", "amqtt.scripts.broker_script"))


def choose_broker(which: Callable[[str], str | None] = shutil.which) -> BrokerProgram:
    """The broker program to run, by the rule in the module docstring."""
    mosquitto = which("mosquitto") or (str(DEBIAN_MOSQUITTO) if DEBIAN_MOSQUITTO.is_file() else None)
    if mosquitto:
        return BrokerProgram("mosquitto", (mosquitto,))
    return AMQTT


@contextmanager
def embedded_broker(
    data_dir: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    program: BrokerProgram | None = None,
) -> Iterator[MqttUrl]:
    """Run a broker on ``host:port`` for as long as the context lasts; stopped (SIGTERM) on exit."""
    program = program or choose_broker()
    _check_port_free(host, port)
    workdir = data_dir.resolve() / "mqtt"
    workdir.mkdir(parents=True, exist_ok=True)
    config = _write_config(program, workdir, host, port)
    log_path = workdir / f"{program.kind}.log"
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [*program.command, "-c", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C at the terminal reaches only us, and we stop the broker after
            # ingest has drained (PostgreSQL's pg_ctl detaches the same way).
            start_new_session=True,
        )
    # If this process dies without stopping the broker (SIGKILL), the reaper does.
    reaper = Reaper("broker", str(proc.pid), str(config))
    try:
        _wait_until_listening(proc, host, port, log_path)
        yield MqttUrl(host=host, port=port, tls=False)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reaper.dismiss()


def _write_config(program: BrokerProgram, workdir: Path, host: str, port: int) -> Path:
    if program.kind == "mosquitto":
        path = workdir / "mosquitto.conf"
        path.write_text(
            "# written by firewarden at every start; edit deploy/ configs for a real broker\n"
            f"listener {port} {host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            # Stay the invoking user: the default drops root to 'mosquitto', who cannot write workdir.
            f"user {getpass.getuser()}\n"
            # QoS 1 messages wait for a slow or restarting ingest instead of being dropped.
            "max_queued_messages 1000000\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        return path
    path = workdir / "amqtt.yaml"
    path.write_text(
        "# written by firewarden at every start\n"
        "listeners:\n"
        "  default:\n"
        "    type: tcp\n"
        f"    bind: {host}:{port}\n"
        "plugins:\n"
        "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
        "    allow_anonymous: true\n"
    )
    return path


def _check_port_free(host: str, port: int) -> None:
    # Without this, a foreign listener on the port would pass for our broker until ours gave up.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the brokers do
        try:
            probe.bind((host, port))
        except OSError:
            raise ServiceError(
                f"port {host}:{port} is taken; set FIREWARDEN_EMBEDDED_MQTT_PORT to a free one "
                "or FIREWARDEN_MQTT_URL to the broker already running there"
            ) from None


def _wait_until_listening(proc: subprocess.Popen[bytes], host: str, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(
                f"MQTT broker exited with code {proc.returncode} at start (port {port} in use?); "
                f"its log {log_path} ends with:\n{_tail(log_path)}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise ServiceError(
        f"MQTT broker did not listen on {host}:{port} within {STARTUP_TIMEOUT_S:.0f} s:\n{_tail(log_path)}"
    )


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"
