"""The desk against real PostgreSQL, with a fake clock: incidents, lifecycle, audit, hazards, schedule."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.errors import ActionError
from alerts.store.desk import Desk
from alerts.store.draws import run_draw
from alerts.store.inspections import as_csv, as_ical, record_result, task_list
from core.db import connect
from core.registry import Department
from scoring.records import AlarmDecision, Evidence, Factor, RiskScore, Signal
from tests.alerts.conftest import T0, at, load, make_desk, small_registry

# The incidents' entries (registry imports are audited too). Written with a regex: the query has no parameters.
INCIDENT_ACTIONS = "SELECT action FROM audit_log WHERE action ~ '^incident[.]' ORDER BY id"


def alarm(cls: str, seconds: float, premises: str = "P", zone: str = "3F", ident: str = "UITD:1") -> AlarmDecision:
    return AlarmDecision(at(seconds), premises, ident, 1, zone, cls, "why", ident, at(0))  # type: ignore[arg-type]


def signal(rule: str, state: str, seconds: float, kind: str = "trouble", device: str = "SP") -> Signal:
    return Signal(at(seconds), "P", device, rule, kind, state)  # type: ignore[arg-type]


def risk(tier: str, seconds: float, previous: str | None, revision: int = 1, score: float = 70.0) -> RiskScore:
    return RiskScore(at(seconds), "P", revision, score, tier, previous, (Factor("fires_365d", 1.0, 12.0),), "v1")  # type: ignore[arg-type]


def rows(desk: Desk, query: str, *args: Any) -> list[dict[str, Any]]:
    with desk.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def deliveries(desk: Desk) -> list[tuple[str, str, str, str]]:
    found = rows(desk, "SELECT kind, recipient, channel, state FROM deliveries ORDER BY id")
    return [(r["kind"], r["recipient"], r["channel"], r["state"]) for r in found]


def test_a_fire_pages_the_on_duty_inspector_and_the_centre(desk: Desk) -> None:
    out = desk.handle([alarm("confirmed", 10)], at(10))
    assert out.queued == 1  # the inspector's webhook; the centre's console row is delivered by being written
    [incident] = rows(desk, "SELECT * FROM incidents")
    assert incident["class"] == "fire" and incident["state"] == "open" and incident["dedup_key"] == "P/alarm/3F"
    assert incident["next_escalation_at"] == at(70)
    assert ("opened", "centre", "console", "delivered") in deliveries(desk)
    assert ("opened", "inspector:I-GRID", "webhook", "pending") in deliveries(desk)
    assert [r["action"] for r in rows(desk, INCIDENT_ACTIONS)] == ["incident.opened"]


def test_an_alarm_incident_keeps_and_pages_every_piece_of_evidence_in_the_order_it_happened(desk: Desk) -> None:
    detector = Evidence(at(0), "alarm", "UITD", "smoke_detector", "1/1")
    heat = Evidence(at(-40), "heat", "TS3", "temperature_c", rule="rate_of_rise", value=31.5, rate_c_per_min=12.0)
    second = Evidence(at(50), "alarm", "UITD", "smoke_detector", "1/2")
    unverified = AlarmDecision(at(0), "P", "UITD:1", 1, "3F", "unverified", "one_detector", "UITD:1", at(0),
                               evidence=(detector,))  # fmt: skip
    confirmed = AlarmDecision(at(0.5), "P", "UITD:1", 2, "3F", "confirmed", "alarm_and_heat", "TS3:9", at(0),
                              evidence=(heat, detector))  # fmt: skip
    desk.handle([unverified, confirmed], at(1))
    desk.handle([AlarmDecision(at(50), "P", "UITD:1", 3, "3F", "confirmed", "two_detectors", "UITD:2", at(0),
                               evidence=(heat, detector, second))], at(50))  # fmt: skip
    [incident] = rows(desk, "SELECT evidence FROM incidents")
    assert [(e["kind"], e["device_id"], e.get("point")) for e in incident["evidence"]] == [
        ("heat", "TS3", None),
        ("alarm", "UITD", "1/1"),
        ("alarm", "UITD", "1/2"),
    ]
    assert incident["evidence"][0]["rate_c_per_min"] == 12.0
    [raised] = rows(desk, "SELECT payload FROM deliveries WHERE kind = 'raised' AND recipient = 'centre'")
    assert [e["kind"] for e in raised["payload"]["incident"]["evidence"]] == ["heat", "alarm"]


def test_nobody_on_duty_falls_back_to_the_parent_jurisdiction(desk: Desk) -> None:
    desk.handle([alarm("confirmed", 7200)], at(7200))  # the grid shift is over
    recipients = {r[1] for r in deliveries(desk)}
    assert recipients == {"centre", "inspector:I-STATION"}


def test_the_same_decision_twice_pages_once(desk: Desk) -> None:
    desk.handle([alarm("confirmed", 10)], at(10))
    before = deliveries(desk)
    desk.handle([alarm("confirmed", 10)], at(11))
    assert deliveries(desk) == before
    assert len(rows(desk, "SELECT id FROM incidents")) == 1


def test_two_desks_racing_make_one_incident_per_key_and_apply_each_decision_once(
    pool: ConnectionPool, migrated_url: str
) -> None:
    """Every alerts process reads every alarm decision: both desks are handed the shared one of each
    zone (applied once) and one of their own (both folded into the zone's one incident)."""
    from core.db import open_pool

    with open_pool(migrated_url, max_size=4) as other_pool:
        desks = [make_desk(pool), make_desk(other_pool)]

        def decisions(own: str) -> list[AlarmDecision]:
            shared = [alarm("unverified", 5, zone=f"Z{i}", ident=f"UITD:{i}") for i in range(40)]
            mine = [alarm("unverified", 5, zone=f"Z{i}", ident=f"{own}:{i}") for i in range(40)]
            return [d for pair in zip(shared, mine, strict=True) for d in pair]

        barrier = threading.Barrier(2)

        def run(d: Desk, own: str) -> None:
            barrier.wait()
            for decision in decisions(own):
                d.handle([decision], at(5))

        threads = [threading.Thread(target=run, args=(d, f"OWN{n}")) for n, d in enumerate(desks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        found = rows(desks[0], "SELECT dedup_key, events FROM incidents")
    assert len(found) == 40 and {r["events"] for r in found} == {3}
    opened = rows(desks[0], "SELECT count(*) AS n FROM deliveries WHERE kind = 'opened' AND channel = 'webhook'")
    assert opened[0]["n"] == 40


def test_escalation_then_reminders_until_acknowledged(desk: Desk) -> None:
    desk.handle([alarm("confirmed", 0)], at(0))
    desk.tick(at(59))
    assert {r[0] for r in deliveries(desk)} == {"opened"}
    desk.tick(at(60))
    escalated = {r[1] for r in deliveries(desk) if r[0] == "escalated"}
    assert escalated == {"centre", "inspector:I-STATION"}  # one level up: the station
    desk.tick(at(120))
    reminded = {r[1] for r in deliveries(desk) if r[0] == "reminder"}
    assert reminded == {"centre", "inspector:I-GRID", "inspector:I-STATION"}
    [incident] = rows(desk, "SELECT id FROM incidents")
    desk.acknowledge(incident["id"], "operator:wang", at(130))
    count = len(deliveries(desk))
    desk.tick(at(10_000))
    assert len(deliveries(desk)) == count
    actions = [r["action"] for r in rows(desk, INCIDENT_ACTIONS)]
    assert actions == ["incident.opened", "incident.escalated", "incident.reminder", "incident.acknowledged"]


def test_a_fire_inhibits_lower_alerts_until_resolved(desk: Desk) -> None:
    desk.handle([signal("component_fault", "raised", 0)], at(0))
    desk.handle([alarm("confirmed", 10)], at(10))
    desk.handle([signal("device_offline", "raised", 20)], at(20))
    by_class = {r["class"]: r for r in rows(desk, "SELECT * FROM incidents")}
    fire_id = by_class["fire"]["id"]
    assert by_class["trouble"]["inhibited_by"] == fire_id and by_class["trouble"]["next_escalation_at"] is None
    offline = rows(desk, "SELECT * FROM incidents WHERE dedup_key = 'P/trouble/device_offline'")[0]
    assert offline["inhibited_by"] == fire_id
    assert not any(r[0] == "opened" and r[3] == "pending" and "offline" in r[1] for r in deliveries(desk))
    assert len([r for r in deliveries(desk) if r[0] == "opened" and r[2] == "webhook"]) == 2  # fault, fire
    desk.resolve(fire_id, "operator:wang", "real_fire", "crew on site", at(600))
    released = rows(desk, "SELECT * FROM incidents WHERE inhibited_by IS NULL AND class <> 'fire'")
    assert len(released) == 2 and all(r["next_escalation_at"] is not None for r in released)
    assert len([r for r in deliveries(desk) if r[0] == "released"]) >= 2


def test_resolution_codes_are_checked_and_feed_scoring(desk: Desk) -> None:
    desk.handle([alarm("confirmed", 0)], at(0))
    [incident] = rows(desk, "SELECT id FROM incidents")
    with pytest.raises(ActionError, match="unknown resolution code 'oops'; valid codes are real_fire"):
        desk.resolve(incident["id"], "op", "oops", "", at(5))
    out = desk.resolve(incident["id"], "op", "false_alarm_dust", "builders", at(5))
    assert [(f.kind, f.ref) for f in out.feedback] == [("false_alarm", "UITD:1")]
    with pytest.raises(ActionError, match="already resolved"):
        desk.acknowledge(incident["id"], "op", at(6))
    with pytest.raises(ActionError, match="no incident 999"):
        desk.resolve(999, "op", "duplicate", "", at(6))


def test_an_unconfirmed_alarm_resolved_as_real_fire_feeds_scoring(desk: Desk) -> None:
    desk.handle([alarm("unverified", 0)], at(0))
    [incident] = rows(desk, "SELECT id FROM incidents")
    out = desk.resolve(incident["id"], "op", "real_fire", "", at(5))
    assert [f.kind for f in out.feedback] == ["real_fire"]


def test_three_false_alarms_in_30_days_open_a_hazard(desk: Desk) -> None:
    for day in range(3):
        t = day * 86_400.0
        desk.handle([alarm("unverified", t, ident=f"UITD:{day}")], at(t))
        [incident] = rows(desk, "SELECT id FROM incidents WHERE state <> 'resolved'")
        desk.resolve(incident["id"], "op", "false_alarm_cooking", "", at(t + 60))
    [hazard] = rows(desk, "SELECT * FROM hazards")
    assert hazard["source"] == "false_alarms" and hazard["title"].startswith("3 false alarms")


def test_the_audit_log_is_append_only(desk: Desk, database_url: str) -> None:
    desk.handle([alarm("confirmed", 0)], at(0))
    statements = ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log")
    for statement in statements:  # the application's role has no such right at all
        with pytest.raises(psycopg.errors.InsufficientPrivilege), desk.cursor() as cur:
            cur.execute(statement)
    with connect(database_url, autocommit=True) as owner:  # the owner has, and the triggers refuse
        for statement in statements:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                owner.execute(statement)


def test_low_pressure_held_two_hours_opens_a_hazard_that_closes_after_recovery_and_confirmation(desk: Desk) -> None:
    desk.handle([signal("low_sprinkler_pressure", "raised", 0, kind="hazard_candidate")], at(0))
    desk.tick(at(7199))
    assert rows(desk, "SELECT * FROM hazards") == []
    desk.tick(at(7200))
    [hazard] = rows(desk, "SELECT * FROM hazards")
    assert hazard["state"] == "open" and hazard["deadline"] == at(7200) + timedelta(days=3)
    assert hazard["inspector_id"] in {"I-GRID", "I-GRID2"} and hazard["unit_name"] == "Unit P"
    [task] = rows(desk, "SELECT * FROM tasks WHERE kind = 'hazard'")
    assert task["inspector_id"] == hazard["inspector_id"] and task["due_at"] == hazard["deadline"]
    assert ("hazard", "unit:P", "email", "pending") in deliveries(desk)
    with pytest.raises(ActionError, match="signal is still active"):
        desk.prevention.close_hazard(hazard["id"], "inspector:I-GRID", "", at(8000))
    desk.handle([signal("low_sprinkler_pressure", "cleared", 9000, kind="hazard_candidate")], at(9000))
    assert rows(desk, "SELECT state FROM hazards")[0]["state"] == "recovered"
    desk.prevention.close_hazard(hazard["id"], "inspector:I-GRID", "valve reopened", at(9500))
    assert rows(desk, "SELECT state FROM hazards")[0]["state"] == "closed"
    assert rows(desk, "SELECT state, result FROM tasks WHERE kind = 'hazard'")[0] == {
        "state": "done",
        "result": "closed",
    }


def test_a_short_dip_opens_no_hazard(desk: Desk) -> None:
    desk.handle([signal("low_sprinkler_pressure", "raised", 0, kind="hazard_candidate")], at(0))
    desk.handle([signal("low_sprinkler_pressure", "cleared", 600, kind="hazard_candidate")], at(600))
    desk.tick(at(10_000))
    assert rows(desk, "SELECT * FROM hazards") == []


def test_an_overdue_hazard_escalates_and_raises_risk(desk: Desk) -> None:
    desk.handle([signal("cable_over_temperature", "raised", 0, kind="hazard_candidate", device="EM")], at(0))
    [hazard] = rows(desk, "SELECT * FROM hazards")  # opened at once: after_s is 0 for this rule
    out = desk.tick(hazard["deadline"] - timedelta(seconds=1))
    assert out.feedback == []
    out = desk.tick(hazard["deadline"])
    assert [(f.kind, f.ref) for f in out.feedback] == [("hazard_overdue", str(hazard["id"]))]
    told = {r[1] for r in deliveries(desk) if r[0] == "hazard_overdue"}
    assert {"centre", "inspector:I-STATION", "unit:P"} <= told
    assert desk.tick(hazard["deadline"] + timedelta(hours=1)).feedback == []  # once


def test_entering_red_schedules_an_inspection_and_sends_a_warning_notice(desk: Desk) -> None:
    desk.handle([risk("red", 0, None)], at(0))
    [notice] = rows(desk, "SELECT * FROM notices")
    assert notice["tier"] == "red" and "Unit P" in notice["text"]
    assert ("notice", "unit:P", "email", "pending") in deliveries(desk)
    [task] = rows(desk, "SELECT * FROM tasks")
    assert task["kind"] == "inspection" and task["due_at"] == at(0) + timedelta(days=1)
    inspector = task["inspector_id"]
    items = task_list(desk, inspector, at(2 * 86_400))
    assert [i.id for i in items] == [task["id"]] and "first inspection within 1 d" in items[0].reason
    assert task_list(desk, inspector, at(3600)) == []  # not due yet today
    assert "Tower P" in as_csv(items) and b"BEGIN:VTODO" in as_ical(items, inspector)
    with pytest.raises(ActionError, match="no inspector 'I-NOBODY'"):
        task_list(desk, "I-NOBODY", at(0))

    out = record_result(desk, task["id"], f"inspector:{inspector}", ["blocked fire exit on 3F"], at(3600))
    assert out.queued > 0
    [finding] = rows(desk, "SELECT * FROM hazards")
    assert finding["rule"] == "inspection_finding" and finding["title"] == "blocked fire exit on 3F"
    [following] = rows(desk, "SELECT * FROM tasks WHERE kind = 'inspection' AND state = 'open'")
    assert following["due_at"] == at(3600) + timedelta(days=7)  # weekly while red
    with pytest.raises(ActionError, match="already done"):
        record_result(desk, task["id"], "x", [], at(3700))


def test_a_tier_change_tells_the_on_duty_inspector_and_moves_the_task(desk: Desk) -> None:
    desk.handle([risk("blue", 0, None, score=5)], at(0))
    desk.handle([risk("orange", 100, "blue", revision=2, score=40)], at(100))
    assert ("tier_change", "inspector:I-GRID", "webhook", "pending") in deliveries(desk)
    [task] = rows(desk, "SELECT * FROM tasks WHERE state = 'open'")
    assert task["tier"] == "orange" and task["due_at"] == at(100) + timedelta(days=7)
    assert len(rows(desk, "SELECT * FROM notices")) == 1


def test_the_draw_is_recorded_and_made_once_per_period(desk: Desk) -> None:
    desk.policy = desk.policy.model_copy(
        update={"schedule": desk.policy.schedule.model_copy(update={"draw_share": 1.0})}
    )
    drawn = run_draw(desk, "2026-11", 42, at(0))
    assert [p for p, _ in drawn] == ["P", "Q"]
    for premises_id, inspectors in drawn:
        regular = desk.roster.regular_inspector(premises_id)
        assert regular is not None and regular.id not in inspectors and len(inspectors) == 2
    recorded = rows(desk, "SELECT period, premises_id, inspectors, seed FROM draws ORDER BY premises_id")
    assert [(r["premises_id"], tuple(r["inspectors"]), r["seed"]) for r in recorded] == [(p, i, 42) for p, i in drawn]
    assert len(rows(desk, "SELECT * FROM tasks WHERE kind = 'draw'")) == 4
    with pytest.raises(ActionError, match="already drawn"):
        run_draw(desk, "2026-11", 42, at(10))
    assert T0.year == 2026


def test_alarm_decisions_go_first_and_inhibit_the_signals_queued_ahead_of_them(desk: Desk) -> None:
    batch = [signal("component_fault", "raised", 5, device="UITD"), risk("red", 6, None), alarm("confirmed", 7)]
    desk.handle(batch, at(8))
    assert batch == []  # every decision stored
    found = {r["class"]: r for r in rows(desk, "SELECT id, class, inhibited_by FROM incidents")}
    assert found["trouble"]["inhibited_by"] == found["fire"]["id"]
    opened = [(kind, recipient) for kind, recipient, _, _ in deliveries(desk) if kind == "opened"]
    assert opened == [("opened", "centre"), ("opened", "inspector:I-GRID")]  # the fire's; the trouble is held


def test_a_batch_that_fails_halfway_resumes_where_it_stopped(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    real_risk = desk.prevention.on_risk
    calls: list[int] = []

    def flaky(cur: Any, decision: RiskScore, now: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real_risk(cur, decision, now)

    monkeypatch.setattr(desk.prevention, "on_risk", flaky)
    batch = [alarm("unverified", 5), risk("orange", 6, None), alarm("unverified", 9, zone="4F", ident="UITD:2")]
    with pytest.raises(psycopg.OperationalError):
        desk.handle(batch, at(10))
    assert batch == [risk("orange", 6, None)]  # the alarms went first and are stored; the rest waits
    desk.handle(batch, at(11))
    assert batch == []
    incidents = rows(desk, "SELECT zone, events FROM incidents ORDER BY zone")
    assert [(r["zone"], r["events"]) for r in incidents] == [("3F", 1), ("4F", 1)]  # none applied twice
    assert len(rows(desk, "SELECT * FROM premises_schedule WHERE premises_id = 'P'")) == 1


def test_a_warning_notice_reaches_the_premises_supervising_departments(pool: ConnectionPool, migrated_url: str) -> None:
    """Departments named in the registry (行业主管部门) get the notice by webhook and e-mail; a premises'
    department unknown to the roster is skipped, not an error."""
    registry = small_registry()
    edu = Department(id="EDU", name="区教育局", email="fire@edu.example.cn", webhook_url="http://127.0.0.1:9/edu")
    health = Department(id="HEALTH", name="区卫健委")  # no channel: recorded, nobody to send to
    premises = [
        p.model_copy(update={"departments": ["EDU", "HEALTH"]}) if p.id == "P" else p for p in registry.premises
    ]
    load(migrated_url, registry.model_copy(update={"departments": [edu, health], "premises": premises}))
    desk = make_desk(pool)
    desk.handle([risk("red", 0, None)], at(0))
    told = {(r[1], r[2]) for r in deliveries(desk) if r[0] == "notice"}
    assert {("department:EDU", "webhook"), ("department:EDU", "email"), ("unit:P", "email")} <= told
    assert not any(recipient == "department:HEALTH" for recipient, _ in told)
    [entry] = rows(desk, "SELECT details FROM audit_log WHERE action = 'notice.issued'")
    assert entry["details"]["departments"] == ["EDU", "HEALTH"]


def test_one_fire_is_one_fire_a_second_zone_joins_the_first_and_pages_its_spread(desk: Desk) -> None:
    desk.handle([alarm("confirmed", 10, zone="6F", ident="UITD:1")], at(10))
    desk.handle([alarm("unverified", 20, zone="2F", ident="UITD:2")], at(20))  # inhibited by the fire
    confirmed_2f = AlarmDecision(at(40), "P", "UITD:2", 2, "2F", "confirmed", "why", "UITD:2", at(20))
    out = desk.handle([confirmed_2f], at(40))
    (fire,) = rows(desk, "SELECT * FROM incidents WHERE state <> 'resolved'")
    assert (fire["class"], fire["zone"], fire["dedup_key"]) == ("fire", "6F, 2F", "P/alarm/6F")
    assert fire["refs"] == {"UITD:1": True, "UITD:2": True}
    assert fire["title"] == "Fire spreading to zone 2F (zones confirmed: 6F, 2F)"
    (alarm_2f,) = rows(desk, "SELECT * FROM incidents WHERE dedup_key = 'P/alarm/2F'")
    assert (alarm_2f["state"], alarm_2f["resolution"]) == ("resolved", "duplicate")
    assert out.queued == 1 and ("spread", "inspector:I-GRID", "webhook", "pending") in deliveries(desk)
    actions = [r["action"] for r in rows(desk, INCIDENT_ACTIONS)]
    assert actions.count("incident.spread") == 1 and "incident.raised" not in actions  # no second fire raised

    # the 2F episode's later decisions update the fire; a third zone confirmed outright spreads it again
    final_2f = AlarmDecision(at(300), "P", "UITD:2", 3, "2F", "confirmed", "why", "UITD:2", at(20), True)
    desk.handle([final_2f, alarm("confirmed", 320, zone="3F", ident="UITD:3")], at(320))
    (fire,) = rows(desk, "SELECT * FROM incidents WHERE class = 'fire'")
    assert fire["zone"] == "6F, 2F, 3F" and fire["refs"] == {"UITD:1": True, "UITD:2": False, "UITD:3": True}
    assert len(rows(desk, "SELECT * FROM incidents")) == 2  # the fire, and 2F's alarm joined to it
    assert [r["action"] for r in rows(desk, INCIDENT_ACTIONS)].count("incident.spread") == 2
