"""Stopping `firewarden demo` at any moment: Ctrl-C (SIGINT to its process group) ends it within 5 s, and
nothing of it is left; killed outright, its embedded services stop anyway, now or at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.ports import free_port

STOP_WITHIN_S = 5.0


def _processes_of(data_dir: Path) -> list[str]:
    """Processes that belong to a demo on ``data_dir``: its embedded servers and their reapers."""
    found = []
    for process in psutil.process_iter():
        try:
            line = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if str(data_dir) in line:
            found.append(f"{process.pid} {line[:120]}")
    return found


def _start_demo(
    data_dir: Path, *, models_dir: Path | None = None, ignore_sigint: bool = False
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env |= {
        "FIREWARDEN_DATA_DIR": str(data_dir),
        "FIREWARDEN_EMBEDDED_MQTT_PORT": str(free_port()),
        "FIREWARDEN_API_PORT": str(free_port()),
        "FIREWARDEN_METRICS_PORT": "0",
    }
    if models_dir is not None:
        env["FIREWARDEN_MODEL_DIR"] = str(models_dir)

    def own_group() -> None:
        # As a terminal runs it: a process group of its own, which Ctrl-C signals as a whole, SIGINT as
        # the terminal leaves it (whatever this test runner inherited); as a script's `&` runs it,
        # with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else signal.SIG_DFL)

    with (data_dir.parent / "demo.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "firewarden", "demo", "--premises", "12"],
            env=env, stdout=log, stderr=log, start_new_session=True, preexec_fn=own_group,
        )  # fmt: skip


def _wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    for line in _processes_of(path):  # never leave a server behind, whatever the test found
        os.kill(int(line.split()[0]), signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("after_s", "ignore_sigint"),
    [(0.3, False), (1.5, False), (4.0, False), (8.0, False), (8.0, True), (0.3, True)],
    ids=[
        "starting-postgres",
        "migrating",
        "importing",
        "training",
        "training-sigint-ignored-by-parent",
        "loading-sigint-ignored-by-parent",
    ],
)
def test_ctrl_c_stops_a_first_demo_at_any_moment_within_5_s_and_leaves_nothing(
    data_dir: Path, after_s: float, ignore_sigint: bool
) -> None:
    # A first demo: no database, no models yet (it trains them, which takes minutes).
    demo = _start_demo(data_dir, ignore_sigint=ignore_sigint)
    time.sleep(after_s)
    assert demo.poll() is None, (data_dir.parent / "demo.log").read_text()[-2000:]
    os.killpg(demo.pid, signal.SIGINT)
    started = time.monotonic()
    try:
        demo.wait(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        demo.kill()
        pytest.fail(
            f"still running {STOP_WITHIN_S} s after Ctrl-C:\n{(data_dir.parent / 'demo.log').read_text()[-2000:]}"
        )
    assert time.monotonic() - started < STOP_WITHIN_S
    assert _wait_for(lambda: not _processes_of(data_dir), 2.0), _processes_of(data_dir)


def _demo_up(data_dir: Path, models_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A demo with models at hand, once it says it is up; and its log."""
    demo = _start_demo(data_dir, models_dir=models_dir)
    log = data_dir.parent / "demo.log"
    assert _wait_for(lambda: "firewarden is up" in log.read_text(), 60), log.read_text()[-3000:]
    return demo, log


@pytest.mark.slow
def test_ctrl_c_stops_a_running_demo_within_5_s_and_leaves_nothing(data_dir: Path, models_dir: Path) -> None:
    demo, log = _demo_up(data_dir, models_dir)
    time.sleep(2.0)  # the scenario is playing
    os.killpg(demo.pid, signal.SIGINT)
    assert demo.wait(timeout=STOP_WITHIN_S) == 0, log.read_text()[-3000:]
    assert "stopped cleanly" in log.read_text()
    assert _wait_for(lambda: not _processes_of(data_dir), 2.0), _processes_of(data_dir)


@pytest.mark.slow
def test_a_killed_demo_leaves_no_embedded_service(data_dir: Path, models_dir: Path) -> None:
    demo, _ = _demo_up(data_dir, models_dir)
    servers = [line for line in _processes_of(data_dir) if "reaper" not in line]
    assert any("postgres" in line for line in servers) and any("mosquitto" in line for line in servers)
    os.killpg(demo.pid, signal.SIGKILL)
    demo.wait()
    assert _wait_for(lambda: not _processes_of(data_dir), STOP_WITHIN_S), _processes_of(data_dir)


@pytest.mark.slow
def test_a_server_whose_every_user_was_killed_is_stopped_by_the_next_start(data_dir: Path) -> None:
    # Even the reaper may be gone (killed with its parent): the next Firewarden process that uses the
    # embedded server drops the dead from its users, so it stops the server when it leaves.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env["FIREWARDEN_DATA_DIR"] = str(data_dir)
    status = [sys.executable, "-m", "firewarden", "db", "status"]
    user = subprocess.Popen(
        [sys.executable, "-c", "from core.services import embedded_postgres\n"
         f"import pathlib, time\nwith embedded_postgres(pathlib.Path({str(data_dir)!r})):\n    time.sleep(60)"],
        env=env, start_new_session=True,
    )  # fmt: skip
    assert _wait_for(lambda: any("postgres -D" in line for line in _processes_of(data_dir)), 60)
    for line in _processes_of(data_dir):
        if "reaper" in line:
            os.kill(int(line.split()[0]), signal.SIGKILL)
    os.killpg(user.pid, signal.SIGKILL)
    user.wait()
    assert any("postgres -D" in line for line in _processes_of(data_dir))  # left running, nobody to stop it
    subprocess.run(status, env=env, capture_output=True, timeout=120, check=True)
    assert _wait_for(lambda: not any("postgres" in line for line in _processes_of(data_dir)), STOP_WITHIN_S)
