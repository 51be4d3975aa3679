"""What the benchmarks that run the system as shipped share: a free port, the settings of a process run
against the embedded services, and `firewarden up` in a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.addresses import MqttUrl
from core.services.postgres import EmbeddedUrls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_env(db: EmbeddedUrls, broker: MqttUrl, root: Path) -> dict[str, str]:
    """This process's environment without any FIREWARDEN_ setting, then a Firewarden process's on ``db``
    (its app login) and ``broker``, its data under ``root``, logging warnings only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")} | {
        "FIREWARDEN_DATABASE_URL": db.app,
        "FIREWARDEN_MQTT_URL": f"mqtt://{broker.host}:{broker.port}",
        "FIREWARDEN_DATA_DIR": str(root / "data"),
        "FIREWARDEN_LOG_LEVEL": "warning",
    }


@contextmanager
def running_up(
    db: EmbeddedUrls,
    broker: MqttUrl,
    root: Path,
    *,
    model_dir: Path | None,
    secret: str,
    metrics_port: int = 0,
    wall_clock: bool = True,
) -> Iterator[str]:
    """`firewarden up` against ``db`` (its app login; migrations as its owner) and ``broker`` until the
    block ends (then SIGINT); yields the console's URL once its API answers. Scores with the models in
    ``model_dir``, or the shipped defaults."""
    port = free_port()
    env = {
        **os.environ,
        "FIREWARDEN_DATABASE_URL": db.app,
        "FIREWARDEN_DATABASE_OWNER_URL": db.owner,
        "FIREWARDEN_MQTT_URL": f"mqtt://{broker.host}:{broker.port}",
        "FIREWARDEN_DATA_DIR": str(root / "data"),
        "FIREWARDEN_API_PORT": str(port),
        "FIREWARDEN_METRICS_PORT": str(metrics_port),
        "FIREWARDEN_ALERTS_WEBHOOK_SECRET": secret,
        "FIREWARDEN_LOG_LEVEL": "warning",
        "FIREWARDEN_SCORING_WALL_CLOCK": "true" if wall_clock else "false",
    }
    if model_dir is not None:
        env["FIREWARDEN_MODEL_DIR"] = str(model_dir)
    log_path = root / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen([sys.executable, "-m", "firewarden", "up"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if up.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"firewarden up did not come up:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=120)
