"""test-deploy's checks of devices connecting from outside the stack: an MQTT device over TLS (and not
in clear text), a UITD over TCP to the gb26875 gateway, a CTWing push to the NB-IoT gateway."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from deploy_stack import Stack, log, run, wait

if TYPE_CHECKING:
    from core.registry import RegistryFile

CTWING_PRODUCT = "ctwing:15000001"


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
