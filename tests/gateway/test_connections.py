"""The gateway's connections over real TCP, in this process, its bridge on a real Mosquitto and the idle
sweep on a clock the test moves: what each way a connection ends says in the UITD's status, and
what the gateway does with a frame from an address that is not the connection's."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry

from core import gb26875 as gb
from core.addresses import MqttUrl
from gateway import Bridge, Gateway, Metrics, Uitd
from tests.ingest.harness import until

A, B, STRANGER = bytes.fromhex("010000000000"), bytes.fromhex("020000000000"), bytes.fromhex("090000000000")
ADDRESSES = {A.hex(): Uitd("P-A", "P-A-UITD"), B.hex(): Uitd("P-B", "P-B-UITD")}
IDLE_S = 90.0


@dataclass
class Heard:
    """What reached the broker: the UITDs' statuses (device, state, detail) and frames (device, bytes)."""

    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    frames: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Running:
    gateway: Gateway
    port: int
    heard: Heard
    registry: CollectorRegistry
    clock: list[float]

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(f"firewarden_gateway_{name}", labels) or 0.0

    async def connect(self, *, receive_buffer: int | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        return await asyncio.open_connection(sock=sock)


def keep_alive(source: bytes, serial: int = 1) -> bytes:
    return gb.encode_frame(serial, gb.SEND_DATA, b"", sent_at=datetime.now(UTC), source=source)


@asynccontextmanager
async def running_gateway(mosquitto: MqttUrl) -> AsyncIterator[Running]:
    heard = Heard()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-listener", protocol=mqtt.MQTTv5)
    subscribed = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        device, channel = message.topic.split("/")[3:5]
        if channel == "status":
            body = json.loads(message.payload)
            heard.statuses.append((device, body["state"], body["detail"]))
        else:
            heard.frames.append((device, bytes(message.payload)))

    listener.on_message = on_message
    listener.on_subscribe = lambda *_: loop.call_soon_threadsafe(subscribed.set)
    listener.on_connect = lambda client, *_: client.subscribe([("fw/v1/+/+/status", 1), ("fw/v1/+/+/gb26875", 1)])
    listener.connect(mosquitto.host, mosquitto.port)
    listener.loop_start()
    registry = CollectorRegistry()
    clock = [1000.0]
    gateway = Gateway(ADDRESSES, IDLE_S, Metrics(registry), clock=lambda: clock[0])
    bridge = gateway.bridge = Bridge(mosquitto, "test-gateway", gateway.downlink)
    bridge.start()
    server = await loop.create_server(gateway.protocol, "127.0.0.1", 0)
    try:
        await asyncio.wait_for(subscribed.wait(), 10)
        await until(bridge.connected.is_set, "the gateway's bridge to connect")
        yield Running(gateway, server.sockets[0].getsockname()[1], heard, registry, clock)
    finally:
        server.close()
        gateway.close_all()
        bridge.stop()
        listener.disconnect()
        listener.loop_stop()


async def closed_by_gateway(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(65536), 10) == b""
    except ConnectionResetError:
        return True


def statuses_of(heard: Heard, device: str) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(state, detail) for d, state, detail in heard.statuses if d == device]


def test_a_silent_connection_is_closed_at_the_sweep_and_its_status_says_why(mosquitto: MqttUrl) -> None:
    async def scenario() -> None:
        async with running_gateway(mosquitto) as run:
            reader, writer = await run.connect()
            first = keep_alive(A)  # built once: its time label is the second it was made in
            writer.write(first)
            await until(lambda: run.heard.frames == [("P-A-UITD", first)], "the keep-alive published")
            run.clock[0] += IDLE_S - 1
            run.gateway.sweep()
            await asyncio.sleep(0.2)
            assert run.gateway.connected == 1, "closed before it was silent for idle_s"
            writer.write(keep_alive(A, 2))  # a read: silent from now on
            await until(lambda: len(run.heard.frames) == 2, "the second keep-alive published")
            run.clock[0] += IDLE_S - 1
            run.gateway.sweep()
            await asyncio.sleep(0.2)
            assert run.gateway.connected == 1, "a read did not restart the silence"
            run.clock[0] += 2
            run.gateway.sweep()
            assert await closed_by_gateway(reader)
            says = statuses_of(run.heard, "P-A-UITD")
            await until(lambda: len(says()) == 2, "online and offline published")
            assert says()[1] == ("offline", "gb26875 connection silent for 90 s: closed by the gateway")
            assert says()[0][0] == "online"
            assert run.metric("closed_total", reason="idle") == 1
            assert run.gateway.connected == 0 and run.metric("connections") == 0
            writer.close()

    asyncio.run(scenario())


def test_a_connection_that_reads_nothing_is_closed_as_a_slow_reader(mosquitto: MqttUrl) -> None:
    async def scenario() -> None:
        async with running_gateway(mosquitto) as run:
            _, writer = await run.connect(receive_buffer=4096)
            writer.write(keep_alive(A))
            await until(lambda: run.gateway.connected == 1, "the UITD known")
            command = gb.encode_frame(9, gb.CONTROL, bytes(1000), sent_at=datetime.now(UTC), destination=A)
            written = 0
            while run.metric("closed_total", reason="slow_reader") == 0:  # the kernel's buffers fill first
                assert written < 64 * 1024 * 1024, "64 MiB written and the connection still open"
                for _ in range(64):
                    run.gateway.downlink("P-A-UITD", command)
                written += 64 * len(command)
                await asyncio.sleep(0.01)
            says = statuses_of(run.heard, "P-A-UITD")
            await until(lambda: len(says()) == 2, "online and offline published")
            why = "gb26875 connection not reading what the centre writes: closed by the gateway"
            assert says()[1] == ("offline", why)
            run.gateway.downlink("P-A-UITD", command)
            assert run.metric("downlink_total", outcome="not_connected") >= 1
            writer.close()

    asyncio.run(scenario())


def test_a_uitd_connecting_again_replaces_its_old_connection_silently(mosquitto: MqttUrl) -> None:
    async def scenario() -> None:
        async with running_gateway(mosquitto) as run:
            old_reader, old_writer = await run.connect()
            old_writer.write(keep_alive(A))
            await until(lambda: run.gateway.connected == 1, "the UITD known")
            reader, writer = await run.connect()
            writer.write(keep_alive(A, 2))
            assert await closed_by_gateway(old_reader)
            assert run.metric("closed_total", reason="replaced") == 1
            run.gateway.downlink("P-A-UITD", keep_alive(A, 3))
            assert gb.decode_frame(await reader.readexactly(gb.EMPTY_FRAME_BYTES)).serial == 3  # the new one
            writer.close()
            says = statuses_of(run.heard, "P-A-UITD")
            await until(lambda: len(says()) == 2, "offline published when the newer connection closed")
            assert [state for state, _ in says()] == ["online", "offline"]  # the replacement said nothing
            assert says()[1][1] == "gb26875 connection closed by the UITD"
            old_writer.close()

    asyncio.run(scenario())


def test_frames_from_an_address_not_the_connections_are_refused(mosquitto: MqttUrl) -> None:
    async def scenario() -> None:
        async with running_gateway(mosquitto) as run:
            _, writer = await run.connect()
            writer.write(keep_alive(A) + keep_alive(B, 2) + keep_alive(A, 3))  # B's frame on A's connection
            await until(lambda: len(run.heard.frames) == 2, "A's two frames published")
            assert [d for d, _ in run.heard.frames] == ["P-A-UITD", "P-A-UITD"]
            assert run.metric("refused_total", reason="other_address") == 1
            assert run.gateway.connected == 1
            stranger_reader, stranger_writer = await run.connect()
            stranger_writer.write(keep_alive(STRANGER))
            assert await closed_by_gateway(stranger_reader)
            assert run.metric("refused_total", reason="unknown_address") == 1
            assert len(run.heard.frames) == 2 and run.metric("frames_total") == 2
            writer.close()
            stranger_writer.close()

    asyncio.run(scenario())
