"""End to end on real Mosquitto and PostgreSQL: `firewarden up` in a child process, a simulated fire
published over MQTT, and the webhook of the premises' on-duty inspector receiving it; on the local bus,
and on a Kafka-protocol broker, where `up` runs scoring as a faust worker in a child process."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.store.roster import load_roster
from core.addresses import MqttUrl
from core.db import connect, migrate
from core.registry.store import import_registry
from simulators.engine import Simulation
from simulators.fleet import generate_fleet, with_webhooks
from simulators.inbox import Inbox
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import Scenario, ScenarioEvent, apply_scenario
from tests.running import running_up

SECRET = "e2e-secret-0123456789abcdef"


def test_a_simulated_fire_reaches_the_webhook_of_the_on_duty_inspector(
    database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path
) -> None:
    _fire_reaches_the_webhook(database_url, mosquitto, models_dir, tmp_path, None)


@pytest.mark.slow
def test_up_on_kafka_scores_in_its_faust_worker_and_pages_the_fire(
    database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path, own_kafka: str
) -> None:
    _fire_reaches_the_webhook(database_url, mosquitto, models_dir, tmp_path, own_kafka)


def _fire_reaches_the_webhook(
    database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path, kafka: str | None
) -> None:
    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    with Inbox(SECRET.encode()) as inbox:
        today = datetime.now(UTC).date()
        fleet = generate_fleet(8, seed=11, roster_start=today - timedelta(days=1), roster_days=3)
        fleet = with_webhooks(fleet, inbox.url)
        with connect(database_url) as conn:
            import_registry(conn, fleet, source="e2e")
            conn.commit()
        target = next(d.premises for d in fleet.devices if d.type == "uitd")

        with running_up(
            database_url, mosquitto, models_dir, tmp_path, secret=SECRET, client_id="e2e-ingest", kafka=kafka
        ) as up:
            start = float(int(time.time())) - 30
            sim = Simulation(fleet, seed=11, start=start, duration=90)
            apply_scenario(sim, Scenario(events=[ScenarioEvent(kind="fire", at=5, premises=target)]))
            with Publisher(PublishOptions(url=mosquitto, speed=0)) as publisher:
                publisher.publish(sim.messages(), sim_start=start)
            fire_at = datetime.fromtimestamp(start + 5, UTC)

            deadline = time.monotonic() + 60
            fires = []
            while time.monotonic() < deadline and not fires:
                fires = [
                    r for r in inbox.delivered.values()
                    # opened as an unverified alarm, then raised to a fire by the second detector
                    if r.body.get("event") in ("incident.opened", "incident.raised")
                    and r.body["incident"]["class"] == "fire"
                ]  # fmt: skip
                time.sleep(0.2)
            assert fires, f"no fire reached any webhook: {_counts(database_url)}\n{up.log_path.read_text()[-3000:]}"

            with connect(database_url) as conn:
                roster = load_roster(conn)
            on_duty = {i.id for i in roster.route(target, fire_at).inspectors}
            assert on_duty, "the generated roster has someone on duty for the premises"
            assert {f.path.rsplit("/", 1)[1] for f in fires} == on_duty
            for fire in fires:
                assert fire.body["premises"]["id"] == target and fire.signed
                assert fire.body["recipient"] == f"inspector:{fire.path.rsplit('/', 1)[1]}"


def _counts(url: str) -> dict[str, object]:
    tables = ("readings", "events", "dead_letters", "alarms", "incidents", "deliveries", "delivery_attempts")
    with connect(url) as conn:
        counts: dict[str, object] = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables}
        counts["last_attempts"] = conn.execute(
            "SELECT outcome, status_code, error FROM delivery_attempts LIMIT 3"
        ).fetchall()
        counts["alarms"] = conn.execute("SELECT premises_id, classification FROM alarms").fetchall()
        return counts
