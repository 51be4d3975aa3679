"""GB/T 26875.3 over real TCP: a UITD connects to `firewarden gateway gb26875` (a process of its own) as it
does in the field, on real Mosquitto and PostgreSQL with ingest and the scoring runner. Its frames,
glued together, split at odd bytes and with garbage between them, are stored and zoned, two detectors
of one zone are a confirmed fire, and each frame is confirmed on the connection once it is stored; a
frame sent again is confirmed again and stored once; the operator's duty check reaches the connection;
a connection from an address the registry does not know is closed and counted."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core import gb26875 as gb
from core import uitd as commands
from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.gb26875 import FrameCutter
from core.policy import Policy
from core.registry import dump
from scoring.models import Models
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.store import DecisionStore
from simulators.engine import Simulation
from simulators.uitd_tcp import TcpUitd as TcpUitdSim
from tests.certificates import certificates
from tests.fix_postgres import PgServer
from tests.gateway.compare import another_database, decisions, settled
from tests.ingest.harness import FLEET, import_fleet, make_ingest, stored_messages, until
from tests.ports import free_port
from tests.running import Process
from tests.test_gb26875_end_to_end import _alarms, _detectors

UITD = "P-000000-UITD"


class TcpUitd:
    """A UITD's end of a TCP connection: sends bytes, reads the frames the centre writes back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.cutter = FrameCutter()
        self.received: list[gb.Frame] = []

    def send(self, data: bytes, piece: int = 0) -> None:
        for i in range(0, len(data), piece or len(data)):
            self.sock.sendall(data[i : i + (piece or len(data))])
            if piece:
                time.sleep(0.001)  # a separate read for each piece, as a slow link gives them

    def read_until(self, done: object, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {[(f.command, f.serial) for f in self.received]}")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(4096)
            if not data:
                raise AssertionError("the gateway closed the connection")
            self.received += [gb.decode_frame(raw) for raw in self.cutter.feed(data)]

    def answers(self) -> Counter[tuple[int, int]]:
        return Counter((f.command, f.serial) for f in self.received)

    def closed_by_peer(self, timeout_s: float = 10.0) -> bool:
        self.sock.settimeout(timeout_s)
        try:
            return self.sock.recv(4096) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


class GatewayProcess(Process):
    """`firewarden gateway gb26875` on a TCP port of its own, kept across restarts; :meth:`start` returns
    once it is ready."""

    def __init__(self, mosquitto: MqttUrl, database_url: str, tmp_path: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")} | {
            "FIREWARDEN_MQTT_URL": mosquitto.render(mask=False),
            "FIREWARDEN_DATABASE_URL": database_url,
            "FIREWARDEN_DATA_DIR": str(tmp_path / "gateway"),
            "FIREWARDEN_GATEWAY_HOST": "127.0.0.1",
            "FIREWARDEN_GATEWAY_PORT": str(self.port),
        }
        super().__init__("gateway", ["gateway", "gb26875"], env, tmp_path / "gateway.log")

    @property
    def metrics(self) -> str:
        return self.ready_url.removesuffix("readyz") + "metrics"

    def start(self) -> None:
        self.start_ready()


@pytest.fixture
def gateway(mosquitto: MqttUrl, migrated_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    """The gateway on free ports, the test fleet imported; it must stop cleanly (exit 0) at the end."""
    import_fleet(migrated_url)
    process = GatewayProcess(mosquitto, migrated_url, tmp_path)
    process.start()
    try:
        yield process
    finally:
        code = process.stop()
    assert code == 0, process.log.read_text()


def _metric(url: str, line: str) -> float:
    for row in httpx.get(url, timeout=5).text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.slow
def test_a_uitd_over_tcp_is_stored_verified_confirmed_and_commanded(
    mosquitto: MqttUrl, migrated_url: str, models: Models, gateway: GatewayProcess
) -> None:
    url, port, metrics = migrated_url, gateway.port, gateway.metrics
    now = time.time()
    sim = Simulation(FLEET, seed=3, start=now - 180, duration=180, gb26875=1.0)
    _, (first, second, *_) = next((z, p) for z, p in _detectors(sim, UITD).items() if len(p) >= 2)
    sim.event(now - 100, sim.devices[UITD], "fire_alarm", first)
    sim.event(now - 90, sim.devices[UITD], "fire_alarm", second)
    frames = [m.payload for m in sim.messages() if m.device_id == UITD and m.topic.endswith("/gb26875")]
    assert len(frames) >= 3
    serials = Counter((gb.CONFIRM, gb.decode_frame(f).serial) for f in frames)
    noise = b"\x00\xffAT\r\n#@"
    stream = b"".join(noise + f for f in frames)

    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)
    device = TcpUitd(port)
    stranger = TcpUitd(port)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            await asyncio.to_thread(device.send, stream, 7)  # glued, split every 7 bytes, garbage between
            await asyncio.to_thread(device.read_until, lambda: device.answers() >= serials)
            await until(lambda: "confirmed" in {c for _, c in _alarms(url, "P-000000")}, "the fire confirmed")
            await asyncio.to_thread(device.send, frames[0])  # sent again: confirmed again, stored once
            again = serials + Counter({(gb.CONFIRM, gb.decode_frame(frames[0]).serial): 1})
            await asyncio.to_thread(device.read_until, lambda: device.answers() >= again)
            sent = await asyncio.to_thread(
                commands.send_command, url, mosquitto, UITD, "duty_check", actor="test", now=datetime.now(UTC)
            )
            await asyncio.to_thread(device.read_until, lambda: (gb.CONTROL, sent.serial) in device.answers())
            unknown = gb.encode_frame(
                1, gb.SEND_DATA, b"", sent_at=datetime.now(UTC), source=bytes.fromhex("0000000000ee")
            )
            await asyncio.to_thread(stranger.send, unknown)
            assert await asyncio.to_thread(stranger.closed_by_peer), "a UITD the registry lacks stays connected"
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()
            device.close()
            stranger.close()

    asyncio.run(scenario())

    confirms = Counter({key: n for key, n in device.answers().items() if key[0] == gb.CONFIRM})
    order = [(f.command, f.serial) for f in device.received]
    assert confirms == serials + Counter({(gb.CONFIRM, gb.decode_frame(frames[0]).serial): 1}), str(order)
    assert {c for c, _ in device.answers()} == {gb.CONFIRM, gb.CONTROL}, "a frame was denied"
    assert all(f.destination == gb.decode_frame(frames[0]).source for f in device.received)
    with connect(url) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT (device_id, seq)) FROM events WHERE device_id = %s",
                              (UITD,)).fetchone()  # fmt: skip
    assert stored is not None and stored[0] == stored[1] > 0, f"an event stored twice: {stored}"
    assert _metric(metrics, "firewarden_gateway_frames_total") == len(frames) + 1
    assert _metric(metrics, 'firewarden_gateway_refused_total{reason="unknown_address"}') == 1
    assert _metric(metrics, "firewarden_gateway_garbage_bytes_total") == len(noise) * len(frames)


@pytest.mark.slow
def test_a_uitd_connection_is_its_status_online_then_offline_with_the_reason(
    mosquitto: MqttUrl, migrated_url: str, models: Models, gateway: GatewayProcess
) -> None:
    url = migrated_url
    address = bytes.fromhex(next(d.gb26875_address for d in FLEET.devices if d.id == UITD) or "")
    keep_alive = gb.encode_frame(7, gb.SEND_DATA, b"", sent_at=datetime.now(UTC), source=address)
    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)

    def statuses() -> list[tuple[str, str]]:
        with connect(url) as conn:
            rows = conn.execute(
                "SELECT state, detail FROM device_status WHERE device_id = %s AND detail LIKE 'gb26875 connection%%' "
                "ORDER BY time, seq",
                (UITD,),
            ).fetchall()
        return [(str(state), str(detail)) for state, detail in rows]

    def offline_reasons() -> list[str]:
        with connect(url) as conn:
            rows = conn.execute(
                "SELECT evidence->>'reason' FROM signals WHERE device_id = %s AND rule = 'device_offline' "
                "AND state = 'raised'",
                (UITD,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            device = TcpUitd(gateway.port)
            await asyncio.to_thread(device.send, keep_alive)
            await asyncio.to_thread(device.read_until, lambda: (gb.CONFIRM, 7) in device.answers())
            device.close()  # the UITD goes away
            await until(lambda: [s for s, _ in statuses()] == ["online", "offline"], "online, then offline stored")
            await until(lambda: bool(offline_reasons()), "the UITD raised as offline")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()

    asyncio.run(scenario())
    (_, came), (_, why) = statuses()
    assert came.startswith("gb26875 connection from 127.0.0.1:"), came
    assert why == "gb26875 connection closed by the UITD"
    assert offline_reasons() == [why]  # the operator reads why, not "broker last will"


@pytest.mark.slow
def test_a_gateway_killed_while_a_uitd_sends_loses_nothing_and_stores_nothing_twice(
    mosquitto: MqttUrl, migrated_url: str, gateway: GatewayProcess
) -> None:
    """kill -9 of the gateway mid-stream, started again half a second later: the UITD (one frame at a
    time, sent again when no confirm comes, reconnecting) gets every frame confirmed, and each is
    stored once, whether the kill came before its publish, between publish and confirm, or after."""
    url = migrated_url
    source = bytes.fromhex(next(d.gb26875_address for d in FLEET.devices if d.id == UITD) or "")
    start = datetime.now(UTC) - timedelta(minutes=10)
    frames = [gb.encode_frame(n, gb.SEND_DATA, b"", sent_at=start + timedelta(seconds=n), source=source)
              for n in range(1, 121)]  # fmt: skip
    uitd = TcpUitdSim("127.0.0.1", gateway.port, confirm_timeout_s=1.0, give_up_s=90)
    sender = threading.Thread(target=uitd.send_all, args=(frames,))
    ingest = make_ingest(mosquitto, url, LocalBus())

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            sender.start()
            await until(lambda: uitd.stats.frames >= 40, "40 frames confirmed")
            gateway.kill9()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(gateway.start)
            await asyncio.to_thread(sender.join, 120)
        finally:
            stop.set()
            await task
            uitd.close()

    asyncio.run(scenario())
    print(f"UITD over TCP, gateway killed: {uitd.stats}")
    assert not sender.is_alive(), "the UITD never got every frame confirmed"
    assert uitd.stats.frames == len(frames) and uitd.stats.denied == 0, uitd.stats
    assert uitd.stats.connects >= 2, uitd.stats  # the kill dropped its connection
    stored = [m for m in stored_messages(url) if m[0] == UITD]
    said = [m for m in stored if (m[1] >> 7) & 0xFF == gb.CONNECTION_INDEX]  # the gateway's "online"s
    sent = [m for m in stored if m not in said]
    assert len(sent) == len(set(sent)) == len(frames), f"{len(sent)} stored, {len(set(sent))} distinct"
    assert 1 <= len(said) == len(set(said)) <= uitd.stats.connects, said


@pytest.mark.slow
def test_simulate_run_sends_the_frames_to_the_gateway_and_the_fire_is_confirmed(
    mosquitto: MqttUrl, migrated_url: str, models: Models, gateway: GatewayProcess, tmp_path: Path
) -> None:
    """`firewarden simulate run --gateway`: every UITD speaks GB/T 26875.3 over TCP (the rest of the fleet
    over MQTT), a scenario's fire at a UITD's premises is stored, confirmed as a fire, and every frame is
    confirmed to its UITD."""
    url = migrated_url
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(dump(FLEET, "yaml"), encoding="utf-8")
    premises = next(d.premises for d in FLEET.devices if d.type == "uitd")
    scenario = tmp_path / "fire.yaml"
    scenario.write_text(f"duration: 3m\nevents:\n  - {{kind: fire, at: 1m, premises: {premises}}}\n", encoding="utf-8")
    command = [sys.executable, "-m", "firewarden", "simulate", "run", "--fleet", str(fleet), "--scenario",
               str(scenario), "--speed", "0", "--gb26875", "1", "--gateway", f"127.0.0.1:{gateway.port}",
               "--no-background", "--ground-truth", str(tmp_path / "truth.jsonl")]  # fmt: skip
    env = gateway.env | {"FIREWARDEN_DATA_DIR": str(tmp_path / "sim")}
    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)
    ran: dict[str, subprocess.CompletedProcess[str]] = {}

    async def scenario_run() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            ran["sim"] = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True,
                                                 timeout=240)  # fmt: skip
            await until(lambda: "confirmed" in {c for _, c in _alarms(url, premises)}, "the fire confirmed")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()

    asyncio.run(scenario_run())
    sim = ran["sim"]
    assert sim.returncode == 0, sim.stdout + sim.stderr
    confirmed = re.search(r"over TCP to \S+: ([\d,]+) frames confirmed, 0 denied", sim.stdout)
    assert confirmed and int(confirmed.group(1).replace(",", "")) > 0, sim.stdout
    assert "0 given up" in sim.stdout, sim.stdout
    uitds = {d.id for d in FLEET.devices if d.type == "uitd"}
    with connect(url) as conn:
        (frames,) = conn.execute(
            "SELECT count(*) FROM device_status WHERE device_id = ANY(%s) AND detail = 'keep-alive'", (list(uitds),)
        ).fetchone() or (0,)
    assert int(str(frames)) > 0  # every UITD's keep-alives came over TCP
    assert _metric(gateway.metrics, "firewarden_gateway_frames_total") >= int(confirmed.group(1).replace(",", ""))


@pytest.mark.slow
def test_a_uitd_that_reconnects_to_another_gateway_gets_its_commands_there(
    mosquitto: MqttUrl, migrated_url: str, gateway: GatewayProcess, tmp_path: Path
) -> None:
    """Two gateways behind one address: the UITD first on one, then (its connection lost) on the other;
    the operator's duty check finds it on the second, and the first writes nothing to a closed link."""
    (tmp_path / "second").mkdir()
    other = GatewayProcess(mosquitto, migrated_url, tmp_path / "second")
    other.env["FIREWARDEN_GATEWAY_CLIENT_ID"] = "firewarden-gateway-2"
    other.start()
    source = bytes.fromhex(next(d.gb26875_address for d in FLEET.devices if d.id == UITD) or "")
    at = datetime.now(UTC) - timedelta(minutes=1)
    ingest = make_ingest(mosquitto, migrated_url, LocalBus())
    received: dict[str, list[gb.Frame]] = {}
    written = [0.0]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            first = TcpUitdSim("127.0.0.1", gateway.port, confirm_timeout_s=5)
            await asyncio.to_thread(first.send_all, [gb.encode_frame(1, gb.SEND_DATA, b"", sent_at=at, source=source)])
            first.close()  # the link drops; the UITD comes back through the other gateway
            second = TcpUitdSim("127.0.0.1", other.port, confirm_timeout_s=5)
            later = at + timedelta(seconds=1)
            await asyncio.to_thread(
                second.send_all, [gb.encode_frame(2, gb.SEND_DATA, b"", sent_at=later, source=source)]
            )
            sent = await asyncio.to_thread(
                commands.send_command, migrated_url, mosquitto, UITD, "duty_check", actor="test", now=datetime.now(UTC)
            )
            # the command arrives while the UITD waits for its next confirm
            keep_alive = gb.encode_frame(3, gb.SEND_DATA, b"", sent_at=later + timedelta(seconds=1), source=source)
            await asyncio.to_thread(second.send_all, [keep_alive])
            await until(lambda: any(f.serial == sent.serial for f in second.received), "the duty check on the second")
            received["second"] = second.received
            written[0] = _metric(other.metrics, 'firewarden_gateway_downlink_total{outcome="written"}')
            second.close()
        finally:
            stop.set()
            await task

    try:
        asyncio.run(scenario())
    finally:
        code = other.stop()
    assert code == 0, other.log.read_text()
    assert [f.command for f in received["second"]] == [gb.CONTROL]
    assert _metric(gateway.metrics, 'firewarden_gateway_downlink_total{outcome="not_connected"}') >= 1
    assert written[0] >= 3  # two confirms and the command


@pytest.mark.slow
def test_a_gateway_with_a_certificate_speaks_tls_only(mosquitto: MqttUrl, migrated_url: str, tmp_path: Path) -> None:
    """With gateway_tls_cert_file and _key_file set, a UITD that trusts the CA gets its frame confirmed
    over TLS; one that speaks plain TCP to the port gets nothing and is dropped."""
    import_fleet(migrated_url)
    certs = tmp_path / "certs"
    certs.mkdir()
    certificates(certs)
    process = GatewayProcess(mosquitto, migrated_url, tmp_path)
    process.env |= {
        "FIREWARDEN_GATEWAY_TLS_CERT_FILE": str(certs / "broker.pem"),
        "FIREWARDEN_GATEWAY_TLS_KEY_FILE": str(certs / "broker.key"),
    }
    process.start()
    source = bytes.fromhex(next(d.gb26875_address for d in FLEET.devices if d.id == UITD) or "")
    frame = gb.encode_frame(1, gb.SEND_DATA, b"", sent_at=datetime.now(UTC) - timedelta(seconds=5), source=source)
    ingest = make_ingest(mosquitto, migrated_url, LocalBus())
    trusting = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    over_tls = TcpUitdSim("127.0.0.1", process.port, confirm_timeout_s=5, give_up_s=30, tls=trusting)
    plain = TcpUitd(process.port)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            stats = await asyncio.to_thread(over_tls.send_all, [frame])
            assert (stats.frames, stats.connects) == (1, 1), stats
            await asyncio.to_thread(plain.send, frame)
            assert await asyncio.to_thread(plain.closed_by_peer), "a plain TCP client stayed connected"
        finally:
            stop.set()
            await task
            over_tls.close()
            plain.close()

    try:
        asyncio.run(scenario())
    finally:
        code = process.stop()
    assert code == 0, process.log.read_text()
    assert "over TLS on 127.0.0.1" in process.log.read_text()


@pytest.mark.slow
def test_a_run_over_tcp_makes_the_decisions_the_same_run_over_mqtt_makes(
    mosquitto: MqttUrl, migrated_url: str, models: Models, gateway: GatewayProcess, tmp_path: Path, pg_server: PgServer
) -> None:
    """The same simulated run (fleet, scenario, seed and start, a little ahead of the clock; 20 simulated
    seconds a second, so each path delivers in about the order of time, as in the field), once with
    every UITD publishing its GB/T 26875.3 frames over MQTT and once speaking them over TCP to the
    gateway, each into a database of its own: the same alarms, revision by revision, and the same
    signals."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(dump(FLEET, "yaml"), encoding="utf-8")
    premises = next(d.premises for d in FLEET.devices if d.type == "uitd")
    scenario = tmp_path / "fire.yaml"
    scenario.write_text(
        f"duration: 3m\nevents:\n  - {{kind: fire, at: 1m, premises: {premises}}}\n"
        "random: {cooking_nuisance: 1, pipe_leak: 1}\n",
        encoding="utf-8",
    )
    # A minute ahead, for both runs: the gateway stamps a UITD's connection with its own clock, and a
    # connection stamped after the run's records would move the premises' clock past them.
    start = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0).isoformat()

    def run(url: str, over: list[str], client_id: str) -> str:
        command = [sys.executable, "-m", "firewarden", "simulate", "run", "--fleet", str(fleet), "--scenario",
                   str(scenario), "--speed", "20", "--gb26875", "1", "--seed", "11", "--start", start,
                   "--no-background", "--ground-truth", str(tmp_path / f"{client_id}.jsonl"), *over]  # fmt: skip
        env = gateway.env | {"FIREWARDEN_DATA_DIR": str(tmp_path / client_id)}
        bus = LocalBus()
        store = DecisionStore(url)
        runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
        ingest = make_ingest(mosquitto, url, bus, client_id=client_id)
        out: dict[str, subprocess.CompletedProcess[str]] = {}

        async def scenario_run() -> None:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
            try:
                await until(lambda: ingest.ready, "ingest to subscribe")
                out["sim"] = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True,
                                                     text=True, timeout=240)  # fmt: skip
                sent = re.search(r"([\d,]+) messages", out["sim"].stdout)
                assert out["sim"].returncode == 0 and sent, out["sim"].stdout + out["sim"].stderr
                await settled(ingest, url)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                store.close()

        asyncio.run(scenario_run())
        return out["sim"].stdout

    with another_database(pg_server, FLEET) as mqtt_url:
        run(mqtt_url, [], "test-ingest-mqtt")
        over_mqtt = decisions(mqtt_url)
    said = run(migrated_url, ["--gateway", f"127.0.0.1:{gateway.port}"], "test-ingest-tcp")
    assert "0 given up" in said, said
    over_tcp = decisions(migrated_url)
    alarms, signals = over_mqtt
    assert any(a[5] == "confirmed" for a in alarms), alarms
    assert over_tcp[0] == alarms, "\n".join(map(str, ["the alarms differ:", *alarms, "--- over TCP", *over_tcp[0]]))
    assert over_tcp[1] == signals, "\n".join(map(str, ["the signals differ:", *signals, "--- over TCP", *over_tcp[1]]))


@pytest.mark.slow
def test_the_simulated_uitd_confirms_the_operators_commands_idle_or_busy(
    mosquitto: MqttUrl, migrated_url: str, gateway: GatewayProcess
) -> None:
    """The TCP simulator's UITD, connected through the gateway, confirms a duty check that comes while
    it is idle (read by :meth:`TcpUitd.poll`) and a clock sync that comes while it waits for its own
    frame's confirm; both commands are confirmed in the operator's list, and the UITD's own frames are
    confirmed as ever (the centre's answer to its confirm is not taken for one)."""
    source = bytes.fromhex(next(d.gb26875_address for d in FLEET.devices if d.id == UITD) or "")
    at = datetime.now(UTC) - timedelta(minutes=1)
    ingest = make_ingest(mosquitto, migrated_url, LocalBus())
    uitd = TcpUitdSim("127.0.0.1", gateway.port, confirm_timeout_s=5)
    sent: list[commands.Command] = []

    def command(kind: commands.CommandKind) -> commands.Command:
        made = commands.send_command(migrated_url, mosquitto, UITD, kind, actor="test", now=datetime.now(UTC))
        sent.append(made)
        return made

    def confirmed() -> set[int]:
        return {c.serial for c in commands.commands(migrated_url, UITD) if c.confirmed_at is not None}

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            first = gb.encode_frame(1, gb.SEND_DATA, b"", sent_at=at, source=source)
            await asyncio.to_thread(uitd.send_all, [first])
            check = await asyncio.to_thread(command, "duty_check")
            while not any(f.serial == check.serial for f in uitd.received):  # idle: it reads when it polls
                await asyncio.to_thread(uitd.poll)
                await asyncio.sleep(0.1)
            await until(lambda: check.serial in confirmed(), "the duty check confirmed")
            sync = await asyncio.to_thread(command, "sync_clock")
            await asyncio.sleep(0.5)  # the command waits on the connection while the UITD sends its next frame
            later = [gb.encode_frame(n, gb.SEND_DATA, b"", sent_at=at + timedelta(seconds=n), source=source)
                     for n in range(2, 6)]  # fmt: skip
            await asyncio.to_thread(uitd.send_all, later)
            await until(lambda: sync.serial in confirmed(), "the clock sync confirmed")
        finally:
            stop.set()
            await task
            uitd.close()

    asyncio.run(scenario())
    assert [f.command for f in uitd.received] == [gb.CONTROL, gb.CONTROL]
    assert uitd.stats.commands == 2 and uitd.stats.frames == 5 and uitd.stats.denied == 0, uitd.stats
    assert confirmed() == {c.serial for c in sent}
    stored = [m for m in stored_messages(migrated_url) if m[0] == UITD]
    assert len(stored) == len(set(stored))
