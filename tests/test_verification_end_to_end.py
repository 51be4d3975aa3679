"""Alarm verification end to end: verification trials published over MQTT to `firewarden up` (real
Mosquitto and PostgreSQL), at the room sensor's fastest (1 s) and slowest (1 h) interval; what is
confirmed, the evidence in the alarms table, on the console's queue and in the inspector's webhook."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.rows import dict_row

from core.addresses import MqttUrl
from core.db import connect, migrate, open_pool
from core.registry import Inspector, RegistryFile, Shift
from core.registry.store import import_registry
from simulators.engine import Outgoing
from simulators.inbox import Inbox
from simulators.publisher import Publisher, PublishOptions
from simulators.trials import Devices, Trial, duration, merged, registry, stream
from tests.running import running_up

SECRET = "verification-e2e-secret-0123456789"
# (premises, case, interval, use): what each premises of the run plays, and whether it is a fire to confirm.
PLAYS = [
    ("P-V01", "lone_alarm", 1.0, "ordinary", False),
    ("P-V02", "flaming_fire", 1.0, "ordinary", True),
    ("P-V03", "two_smoke_alarms", 1.0, "ordinary", True),
    ("P-V04", "flow_then_detector", 1.0, "ordinary", True),
    ("P-V05", "manual_call_point", 1.0, "ordinary", True),
    ("P-V06", "cooking", 1.0, "kitchen", False),
    ("P-V07", "lone_alarm", 3600.0, "ordinary", False),
    ("P-V08", "flaming_fire", 3600.0, "ordinary", True),
    ("P-V09", "two_smoke_alarms", 3600.0, "ordinary", True),
    ("P-V10", "flow_then_detector", 3600.0, "ordinary", True),
    ("P-V11", "manual_call_point", 3600.0, "ordinary", True),
]


def _registry(now: datetime, hook: str) -> RegistryFile:
    trials = merged([registry(use, interval, premises) for premises, _, interval, use, _ in PLAYS])  # type: ignore[arg-type]
    inspector = Inspector(id="I-V", name="inspector", jurisdiction="J-TRIAL", webhook_url=f"{hook}/inspectors/I-V")
    day = timedelta(days=1)
    shift = Shift(inspector="I-V", jurisdiction="J-TRIAL", starts_at=now - day, ends_at=now + day)
    return trials.model_copy(update={"inspectors": [inspector], "duty_roster": [shift]})


def _messages(now: float) -> list[Outgoing]:
    """Every play's stream, each ending a few seconds before now, merged in time order."""
    merged: list[Outgoing] = []
    for premises, case, interval, use, _ in PLAYS:
        trial = Trial(case, interval, 0.5, use, 7)  # type: ignore[arg-type]
        merged += stream(trial, start=now - duration(trial) - 5, premises=premises).messages
    return sorted(merged, key=lambda m: m.at)


@pytest.mark.slow
def test_verification_trials_over_mqtt_confirm_what_they_should_and_name_their_evidence(
    database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path
) -> None:
    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    now = datetime.now(UTC).replace(microsecond=0)
    with Inbox(SECRET.encode()) as inbox:
        with connect(database_url) as conn:
            import_registry(conn, _registry(now, inbox.url), source="e2e")
            conn.commit()
        with open_pool(database_url, max_size=2) as pool:
            from console.store.accounts import Accounts

            Accounts(pool).add_user("op", "Operator", "operator", now, password="correct horse battery")
        with running_up(database_url, mosquitto, models_dir, tmp_path, secret=SECRET, client_id="e2e-verify") as up:
            messages = _messages(time.time())
            with Publisher(PublishOptions(url=mosquitto, speed=0)) as publisher:
                stats = publisher.publish(messages, sim_start=messages[0].at)
            assert stats.sent == len(messages) and stats.errors == 0
            fires = {p for p, *_, fire in PLAYS if fire}
            confirmed = _wait_for_confirmed(database_url, fires, up.log_path)
            assert set(confirmed) == fires
            _wait_until_settled(database_url, len(messages))  # every message stored, the decisions settled
            with connect(database_url) as conn:
                rows = conn.execute("SELECT premises_id FROM alarms WHERE classification = 'confirmed'").fetchall()
            assert {r[0] for r in rows} == fires  # the lone alarms and the cooking were never confirmed

            for premises, case, interval, _, fire in PLAYS:
                if not fire:
                    continue
                ids = Devices(premises)
                kinds = [(e["kind"], e["device_id"]) for e in confirmed[premises]]
                expected = {
                    "flaming_fire": {("alarm", ids.uitd), ("heat", ids.sensor)},
                    "two_smoke_alarms": {("alarm", ids.alarms[0]), ("alarm", ids.alarms[1])},
                    "flow_then_detector": {("flow", ids.uitd), ("alarm", ids.uitd)},
                    "manual_call_point": {("alarm", ids.uitd)},
                }[case]
                assert set(kinds) == expected, (premises, case, interval, kinds)
                times = [datetime.fromisoformat(e["time"]) for e in confirmed[premises]]
                assert times == sorted(times)
                if case == "flow_then_detector":
                    assert kinds[0] == ("flow", ids.uitd)  # the flow came first and is named first

            with httpx.Client(base_url=up.url, timeout=10) as client:
                login = client.post("/api/auth/login", json={"user": "op", "password": "correct horse battery"})
                assert login.status_code == 200, login.text
                queue = client.get("/api/incidents", params={"class": "fire"}).json()
            on_queue = {i["premises_id"]: i["evidence"] for i in queue}
            assert set(on_queue) == fires
            assert all(on_queue[p] for p in fires)
            pages = _wait_for_pages(inbox, fires)
            for premises in fires:
                assert pages[premises], premises
                assert {e["kind"] for e in pages[premises]} == {e["kind"] for e in confirmed[premises]}


def _wait_for_confirmed(url: str, premises: set[str], log: Path, timeout_s: float = 120) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    found: dict[str, list[dict[str, Any]]] = {}
    while time.monotonic() < deadline and set(found) != premises:
        with connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT DISTINCT ON (premises_id) premises_id, evidence FROM alarms WHERE classification = 'confirmed' "
                "ORDER BY premises_id, revision"
            )
            found = {r["premises_id"]: r["evidence"] for r in cur.fetchall()}
        time.sleep(0.5)
    assert set(found) == premises, f"confirmed: {sorted(found)}\n{log.read_text()[-3000:]}"
    return found


def _wait_until_settled(url: str, published: int, quiet_s: float = 4.0, timeout_s: float = 120) -> None:
    """Until every published message is a row (each is one reading or one event) and the alarm decisions
    have not moved for ``quiet_s``: scoring has read them all (an unconfirmed alarm now waits for the
    zone's heat sensors, its smoke alarms' hourly readings among them, longer than the streams last)."""
    deadline = time.monotonic() + timeout_s
    last: tuple[int, int] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM events), (SELECT count(*) FROM alarms)"
            ).fetchone()
        stored, decided = (int(row[0]), int(row[1])) if row else (0, 0)
        if stored >= published and (stored, decided) == last and time.monotonic() - since >= quiet_s:
            return
        if (stored, decided) != last:
            last, since = (stored, decided), time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"not settled: {last} (stored, alarm decisions) of {published} messages")


def _wait_for_pages(inbox: Inbox, premises: set[str], timeout_s: float = 60) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    pages: dict[str, list[dict[str, Any]]] = {}
    while time.monotonic() < deadline and set(pages) != premises:
        for received in list(inbox.delivered.values()):
            body = received.body
            if body.get("incident", {}).get("class") == "fire":
                pages[body["premises"]["id"]] = body["incident"]["evidence"]
        time.sleep(0.3)
    return pages
