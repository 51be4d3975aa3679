"""The actions interface the console calls, against real PostgreSQL on the local bus: each action is a
transaction with its audit row, what people found out goes to scoring on ``fw.feedback``, a refused
action changes and publishes nothing, and the registry snapshot is read again after the policy's
``alerts.roster_reload_s``."""

from __future__ import annotations

import asyncio

import pytest
from psycopg_pool import ConnectionPool

from alerts.actions import Actions
from alerts.errors import ActionError
from alerts.outbox import Directory
from alerts.store.desk import Desk
from core.bus import LocalBus
from core.policy import Policy
from scoring.records import FEEDBACK_TOPIC, AlarmDecision, decode_feedback
from tests.alerts.conftest import at
from tests.clock import Clock


def _open_fire(desk: Desk) -> int:
    fire = AlarmDecision(at(10), "P", "UITD:1", 1, "1F", "confirmed", "two detectors", "UITD:1", at(9))
    desk.handle([fire], at(10))
    with desk.pool.connection() as conn:
        row = conn.execute("SELECT id FROM incidents WHERE premises_id = 'P' AND class = 'fire'").fetchone()
    assert row is not None
    return int(row[0])


def _audit(pool: ConnectionPool, target: str) -> list[tuple[str, str]]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT actor, action FROM audit_log WHERE subject = %s ORDER BY id", (target,)).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def test_acknowledge_and_resolve_are_audited_and_a_false_fire_goes_back_to_scoring(
    pool: ConnectionPool, desk: Desk
) -> None:
    incident = _open_fire(desk)

    async def scenario() -> tuple[list[object], str, str]:
        bus = LocalBus()
        scoring = bus.consumer([FEEDBACK_TOPIC], "firewarden-scoring")
        actions = Actions(pool, Policy(), Directory(email=False), bus)
        acked = await actions.acknowledge(incident, "operator:wang", at(20))
        assert await scoring.get(10, 0.0) == [], "an acknowledgement tells scoring nothing"
        await actions.resolve(incident, "operator:wang", "false_alarm_cooking", "steam from the kitchen", at(30), {})
        messages = await scoring.get(10, 1.0)
        assert [m.key for m in messages] == [b"P"]
        with pool.connection() as conn:
            row = conn.execute("SELECT state, resolution FROM incidents WHERE id = %s", (incident,)).fetchone()
        assert row is not None
        return [decode_feedback(m.value) for m in messages], acked.state, f"{row[0]}/{row[1]}"

    feedback, acked_state, final = asyncio.run(scenario())
    assert acked_state == "acknowledged"
    assert final == "resolved/false_alarm_cooking"
    assert [(f.premises_id, f.kind, f.ref) for f in feedback] == [("P", "false_alarm", "UITD:1")]  # type: ignore[attr-defined]
    actions_done = [a for _, a in _audit(pool, f"incident:{incident}")]
    assert actions_done[-2:] == ["incident.acknowledged", "incident.resolved"]
    assert _audit(pool, f"incident:{incident}")[-1][0] == "operator:wang"


def test_a_refused_action_changes_nothing_and_publishes_nothing(pool: ConnectionPool, desk: Desk) -> None:
    incident = _open_fire(desk)

    async def scenario() -> None:
        bus = LocalBus()
        scoring = bus.consumer([FEEDBACK_TOPIC], "firewarden-scoring")
        actions = Actions(pool, Policy(), Directory(email=False), bus)
        with pytest.raises(ActionError, match="unknown resolution code 'arson'"):
            await actions.resolve(incident, "operator:wang", "arson", "", at(30), {})
        with pytest.raises(ActionError):
            await actions.acknowledge(999_999, "operator:wang", at(30))
        assert await scoring.get(10, 0.2) == []

    before = _audit(pool, f"incident:{incident}")
    asyncio.run(scenario())
    assert _audit(pool, f"incident:{incident}") == before
    with pool.connection() as conn:
        row = conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert row is not None and row[0] == "open"


def test_the_registry_snapshot_is_read_again_after_the_policy_interval(pool: ConnectionPool, desk: Desk) -> None:
    incident = _open_fire(desk)
    clock = Clock()
    policy = Policy.model_validate({"alerts": {"roster_reload_s": 30}})
    actions = Actions(pool, policy, Directory(email=False), LocalBus(), monotonic=clock)
    loads = 0
    real = actions._load_roster

    def counting() -> object:
        nonlocal loads
        loads += 1
        return real()

    actions._load_roster = counting  # type: ignore[method-assign]
    asyncio.run(actions.acknowledge(incident, "operator:wang", at(20)))
    clock.now = 29.0
    asyncio.run(actions.task_list("I-GRID", at(86_400)))
    assert loads == 0
    clock.now = 30.0
    asyncio.run(actions.task_list("I-GRID", at(86_400)))
    assert loads == 1


def test_an_incident_written_without_a_label_is_acted_on_by_its_stored_title(pool: ConnectionPool, desk: Desk) -> None:
    """Rows another writer made without a label (the column's default) still acknowledge and page;
    migration 0010 gave the rows before it a label holding their text."""
    incident = _open_fire(desk)
    with pool.connection() as conn:
        conn.execute("UPDATE incidents SET label = '{}', title = 'Fire on 1F (typed)' WHERE id = %s", (incident,))

    async def scenario() -> str:
        actions = Actions(pool, Policy(), Directory(email=False), LocalBus())
        return (await actions.acknowledge(incident, "operator:wang", at(20))).state

    assert asyncio.run(scenario()) == "acknowledged"
    with pool.connection() as conn:
        row = conn.execute("SELECT label, title FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert row == ({"code": "text", "args": {"text": "Fire on 1F (typed)"}}, "Fire on 1F (typed)")
