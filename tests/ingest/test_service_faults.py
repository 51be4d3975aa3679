"""Ingest under faults, in one process: a database outage, broker restarts, a second ingest with the same
client id, a flooding device; real Mosquitto, real PostgreSQL, the local bus."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.errors import ServiceError
from core.policy import IngestPolicy
from core.services import choose_broker, embedded_broker
from ingest.service import PRIORITY_IN_FLIGHT, Ingest, IngestOptions
from ingest.store import load_registry_index
from simulators.engine import Outgoing, Simulation
from tests.fix_postgres import Cluster
from tests.ingest.harness import (
    FLEET,
    dead_letter_reasons,
    import_fleet,
    mixed_stream,
    publish,
    running,
    stored_messages,
)
from tests.ingest.harness import make_ingest as _ingest
from tests.ingest.harness import until as _until
from tests.ports import free_port

TIMEOUT_S = 60.0


@pytest.mark.slow
def test_database_outage_holds_messages_within_the_in_flight_limit(mosquitto: MqttUrl, own_cluster: Cluster) -> None:
    url = own_cluster.url
    import_fleet(url)
    stream = mixed_stream(datetime.now(UTC), duration_s=3600)
    limit = 500
    peak = peak_bulk = 0

    async def scenario() -> Ingest:
        ingest = _ingest(mosquitto, url, LocalBus(), max_in_flight=limit, batch_rows=200)

        async def body() -> None:
            nonlocal peak, peak_bulk
            await asyncio.to_thread(own_cluster.stop)
            publisher = threading.Thread(target=publish, args=(mosquitto, stream.messages))
            publisher.start()
            loop = asyncio.get_running_loop()
            outage_ends = loop.time() + 3.0
            while loop.time() < outage_ends:
                peak = max(peak, ingest.in_flight)
                peak_bulk = max(peak_bulk, ingest.held["bulk"])
                await asyncio.sleep(0.01)
            assert ingest.metrics.value("firewarden_ingest_store_failures_total") > 0
            assert ingest.metrics.value("firewarden_ingest_paused") == 1, "the in-flight limit was not reached"
            await asyncio.to_thread(own_cluster.start)
            await _until(
                lambda: ingest.metrics.value("firewarden_ingest_received_total") >= len(stream.messages), "all"
            )
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")
            await asyncio.to_thread(publisher.join)

        await running(ingest, body)
        return ingest

    ingest = asyncio.run(scenario())
    # The bulk session stops at its limit (its copies of events included); the priority session has its own.
    assert limit * 0.9 <= peak_bulk <= limit, f"bulk in flight peaked at {peak_bulk}, limit {limit}"
    assert peak <= limit + PRIORITY_IN_FLIGHT
    stored = stored_messages(url)
    assert len(stored) == len(set(stored))
    assert set(stored) == stream.valid
    assert dead_letter_reasons(url) == stream.refusals
    assert ingest.metrics.value("firewarden_ingest_paused") == 0


@pytest.mark.slow
def test_ingest_reconnects_after_a_broker_restart(migrated_url: str, tmp_path: Path) -> None:
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=1200)
    half = len(stream.messages) // 2
    port = free_port()
    program = choose_broker()
    if program.kind != "mosquitto":
        pytest.fail("this test needs Mosquitto: `make test` installs it")

    async def scenario() -> Ingest:
        first = embedded_broker(tmp_path / "broker", port=port, program=program)
        url = first.__enter__()
        ingest = _ingest(url, migrated_url, LocalBus())

        async def body() -> None:
            await asyncio.to_thread(publish, url, stream.messages[:half], prefix="before")
            await _until(lambda: ingest.metrics.value("firewarden_ingest_received_total") >= half, "the first half")
            first.__exit__(None, None, None)  # the broker goes away (persisting its sessions)
            await _until(lambda: not ingest.subscriber.connected, "ingest to notice", 10)
            second = embedded_broker(tmp_path / "broker", port=port, program=program)
            again = await asyncio.to_thread(second.__enter__)
            try:
                await _until(lambda: ingest.subscriber.connected, "ingest to reconnect", 30)
                await asyncio.to_thread(publish, again, stream.messages[half:], prefix="after")
                checked = [0.0]

                def all_stored() -> bool:
                    # The database is asked at most once a second, from this loop, which ingest shares.
                    if ingest.in_flight or time.monotonic() - checked[0] < 1.0:
                        return False
                    checked[0] = time.monotonic()
                    return set(stored_messages(migrated_url)) >= stream.valid

                def state() -> str:
                    missing = stream.valid - set(stored_messages(migrated_url))
                    received = ingest.metrics.value("firewarden_ingest_received_total")
                    return (f"(in flight {ingest.in_flight}, received {received:.0f} of {len(stream.messages)} sent, "
                            f"{len(missing)} valid messages not stored, e.g. {sorted(missing)[:3]})")  # fmt: skip

                await _until(all_stored, "all", detail=state)
            finally:
                second.__exit__(None, None, None)

        await running(ingest, body)
        return ingest

    asyncio.run(scenario())
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored))
    assert set(stored) == stream.valid


def test_a_second_ingest_with_the_same_client_id_is_refused_at_start(mosquitto: MqttUrl, migrated_url: str) -> None:
    # Both would take the broker session from each other forever; the database lease stops the second.
    import_fleet(migrated_url)

    async def scenario() -> None:
        first = _ingest(mosquitto, migrated_url, LocalBus())

        async def body() -> None:
            second = _ingest(mosquitto, migrated_url, LocalBus())
            with pytest.raises(ServiceError, match="another ingest process runs as MQTT client test-ingest"):
                await second.run(asyncio.Event())
            assert first.subscriber.connected

        await running(first, body)

    asyncio.run(scenario())


def test_a_standby_ingest_waits_for_the_client_id_and_takes_the_session_over_when_the_first_stops(
    mosquitto: MqttUrl, migrated_url: str
) -> None:
    """FIREWARDEN_INGEST_STANDBY: the second process of a client id waits instead of refusing, and gets
    the session, with what was queued for it meanwhile, as soon as the first is gone."""
    import_fleet(migrated_url)
    stream = mixed_stream(datetime.now(UTC), duration_s=600)

    async def scenario() -> None:
        first = _ingest(mosquitto, migrated_url, LocalBus())
        standby = _ingest(mosquitto, migrated_url, LocalBus(), standby=True)
        stop_standby = asyncio.Event()
        waiting: asyncio.Task[None] | None = None

        async def body() -> None:
            nonlocal waiting
            waiting = asyncio.create_task(standby.run(stop_standby))
            await _until(lambda: standby.standby, "the second to stand by")
            await asyncio.sleep(0.5)
            assert standby.standby and not standby.ready and first.subscriber.connected

        await running(first, body)  # the first stops here; its session stays with the broker
        publisher = threading.Thread(target=publish, args=(mosquitto, stream.messages))
        publisher.start()
        await _until(lambda: standby.ready, "the standby to take over", 10)
        assert not standby.standby
        await asyncio.to_thread(publisher.join)
        await _until(lambda: stream.valid <= set(stored_messages(migrated_url)), "the standby to store the stream")
        stop_standby.set()
        assert waiting is not None
        await asyncio.wait_for(waiting, TIMEOUT_S)

    asyncio.run(scenario())
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored))


def test_a_standby_ingest_stopped_while_waiting_exits_cleanly(mosquitto: MqttUrl, migrated_url: str) -> None:
    import_fleet(migrated_url)

    async def scenario() -> None:
        first = _ingest(mosquitto, migrated_url, LocalBus())

        async def body() -> None:
            standby = _ingest(mosquitto, migrated_url, LocalBus(), standby=True)
            stop = asyncio.Event()
            waiting = asyncio.create_task(standby.run(stop))
            await _until(lambda: standby.standby, "the second to stand by")
            stop.set()
            await asyncio.wait_for(waiting, 5)
            assert not standby.subscriber.connected and first.subscriber.connected

        await running(first, body)

    asyncio.run(scenario())


def test_a_broker_that_lost_the_session_is_an_error_counted_and_not_ready_until_acknowledged(
    migrated_url: str, tmp_path: Path
) -> None:
    """Mosquitto comes back without its persistence (a fresh data directory): ingest's session and what
    was queued for it are gone. Ingest says so (error log, metric, /readyz), and once more when a new
    process starts against a broker with no session it expected (its predecessor's, from the database);
    an operator's acknowledgement makes it ready again."""
    from ingest import acknowledge_session_losses, session_losses
    from ingest.sessions import NOTE_EVERY_S

    import_fleet(migrated_url)
    port = free_port()
    program = choose_broker()

    async def scenario() -> None:
        first_broker = embedded_broker(tmp_path / "first", port=port, program=program)
        mqtt = await asyncio.to_thread(first_broker.__enter__)
        ingest = _ingest(mqtt, migrated_url, LocalBus())

        async def body() -> None:
            assert ingest.ready and not ingest.sessions.unsettled
            await asyncio.sleep(NOTE_EVERY_S + 1)  # the sessions noted as connected
            await asyncio.to_thread(first_broker.__exit__, None, None, None)
            fresh = embedded_broker(tmp_path / "fresh", port=port, program=program)
            await asyncio.to_thread(fresh.__enter__)
            try:
                await _until(lambda: ingest.subscriber.connected and ingest.priority_subscriber.connected, "reconnect")
                lost = ingest.metrics.value("firewarden_ingest_sessions_lost_total", session="bulk")
                assert (
                    lost == 1 and ingest.metrics.value("firewarden_ingest_sessions_lost_total", session="priority") == 1
                )
                assert not ingest.ready
                assert {d["client_id"] for d in ingest.sessions.detail()} == {"test-ingest", "test-ingest-priority"}
                await _until(lambda: len(session_losses(migrated_url, pending_only=True)) == 2, "the losses recorded")
                done = await asyncio.to_thread(
                    acknowledge_session_losses, migrated_url, None, "admin:test", datetime.now(UTC)
                )
                assert len(done) == 2
                await _until(lambda: ingest.ready, "ready again once acknowledged", 3 * NOTE_EVERY_S)
            finally:
                await asyncio.to_thread(fresh.__exit__, None, None, None)

        await running(ingest, body)

        # a new process, a broker without the session its predecessor had moments ago
        again = embedded_broker(tmp_path / "again", port=port, program=program)
        mqtt = await asyncio.to_thread(again.__enter__)
        try:
            successor = _ingest(mqtt, migrated_url, LocalBus())

            async def noticed() -> None:
                assert successor.metrics.value("firewarden_ingest_sessions_lost_total", session="bulk") == 1
                assert not successor.ready

            await running(successor, noticed)
        finally:
            await asyncio.to_thread(again.__exit__, None, None, None)

    asyncio.run(scenario())
    newest_first = session_losses(migrated_url, pending_only=False)
    assert [loss.acknowledged_by for loss in newest_first] == [None, None, "admin:test", "admin:test"]


@pytest.mark.slow
def test_an_ingest_waiting_for_the_database_notices_a_broker_restart_within_seconds(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    # Ingest at its in-flight limit with the database down still reads its socket: it sees the broker
    # go at once (not at the keep-alive timeout) and is back within the reconnect cap, database or not.
    url = own_cluster.url
    import_fleet(url)
    stream = mixed_stream(datetime.now(UTC), duration_s=1800)
    port = free_port()
    program = choose_broker()
    noticed_s = back_s = 0.0

    async def scenario() -> None:
        nonlocal noticed_s, back_s
        broker = embedded_broker(tmp_path / "broker", port=port, program=program)
        mqtt = broker.__enter__()
        ingest = _ingest(mqtt, url, LocalBus(), max_in_flight=300, batch_rows=100)
        loop = asyncio.get_running_loop()

        async def body() -> None:
            nonlocal noticed_s, back_s
            await asyncio.to_thread(own_cluster.stop)
            publisher = threading.Thread(target=publish, args=(mqtt, stream.messages))
            publisher.start()
            await _until(lambda: ingest.metrics.value("firewarden_ingest_paused") == 1, "the in-flight limit")
            gone = loop.time()
            await asyncio.to_thread(broker.__exit__, None, None, None)
            await _until(lambda: not ingest.subscriber.connected, "ingest to notice the broker is gone", 5)
            noticed_s = loop.time() - gone
            again = embedded_broker(tmp_path / "broker", port=port, program=program)
            await asyncio.to_thread(again.__enter__)
            try:
                started = loop.time()
                await _until(lambda: ingest.subscriber.connected, "ingest to reconnect", 10)
                back_s = loop.time() - started
                assert ingest.metrics.value("firewarden_ingest_store_failures_total") > 0  # still no database
                await asyncio.to_thread(own_cluster.start)
                await asyncio.to_thread(publisher.join)
                checked = [0.0]

                def all_stored() -> bool:
                    if ingest.in_flight or loop.time() - checked[0] < 1.0:
                        return False
                    checked[0] = loop.time()
                    return set(stored_messages(url)) >= stream.valid

                await _until(all_stored, "every message stored")
            finally:
                await asyncio.to_thread(again.__exit__, None, None, None)

        await running(ingest, body)

    asyncio.run(scenario())
    assert noticed_s < 3.0, f"noticed after {noticed_s:.1f} s"
    assert back_s < 6.0, f"reconnected {back_s:.1f} s after the broker was back"
    stored = stored_messages(url)
    assert len(stored) == len(set(stored))
    assert set(stored) == stream.valid


def test_a_flooding_device_is_limited_while_fifty_normal_devices_lose_nothing(
    mosquitto: MqttUrl, migrated_url: str
) -> None:
    import_fleet(migrated_url)
    loud = next(d for d in FLEET.devices if d.type == "tank_level")
    now = datetime.now(UTC)
    sim = Simulation(FLEET, seed=5, start=now.timestamp() - 1200, duration=1200)
    normal = [m for m in sim.messages() if m.device_id != loud.id]
    devices = sorted({m.device_id for m in normal if m.device_id})[:50]
    normal = [m for m in normal if m.device_id in devices]
    assert len(devices) == 50
    stamp = int(now.timestamp() * 1000)
    flood = [
        Outgoing(n, now.timestamp(), f"fw/v1/{loud.premises}/{loud.id}/telemetry",
                 msgspec.json.encode({"seq": n, "ts": stamp, "metrics": {"tank_level_m": 2.5}}), loud.id, n)
        for n in range(1, 10_001)
    ]  # fmt: skip
    policy = IngestPolicy(rate_per_s=20, burst=100, rate_summary_s=3600)
    took = [0.0]

    async def scenario() -> Ingest:
        ingest = Ingest(
            mqtt_url=mosquitto, database_url=migrated_url, bus=LocalBus(),
            options=IngestOptions(client_id="flood-ingest"), index=load_registry_index(migrated_url), policy=policy,
        )  # fmt: skip

        async def body() -> None:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.gather(
                asyncio.to_thread(publish, mosquitto, flood, prefix="loud"),
                asyncio.to_thread(publish, mosquitto, normal, prefix="normal"),
            )
            total = len(flood) + len(normal)
            await _until(lambda: ingest.metrics.value("firewarden_ingest_received_total") >= total, "all")
            took[0] = loop.time() - started
            await _until(lambda: ingest.in_flight == 0, "every message acknowledged")

        await running(ingest, body)
        return ingest

    ingest = asyncio.run(scenario())
    stored = stored_messages(migrated_url)
    assert {(m.device_id, m.seq) for m in normal} <= set(stored), "a normal device lost a message"
    loud_stored = sum(1 for device, _ in stored if device == loud.id)
    assert 100 <= loud_stored <= 100 + 20 * took[0] + 1, (loud_stored, took[0])
    dropped = int(ingest.metrics.value("firewarden_ingest_rate_limited_total"))
    assert dropped == len(flood) - loud_stored
    with connect(migrated_url) as conn:
        details = [str(d) for (d,) in conn.execute("SELECT detail FROM dead_letters WHERE reason = 'rate_limited'")]
    assert len(details) == 1 and details[0].startswith(f"{dropped} message(s) of device {loud.id} dropped")
