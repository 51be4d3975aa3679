"""Alerts' pure logic with a fake clock: routing, grouping, inhibition, escalation, schedule, draw, backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from alerts.channels import Result, retry_after_seconds, sign
from alerts.dispatch import backoff_s, next_step
from alerts.incidents import Incident, apply, escalation_step, trigger_of
from alerts.roster import Inspector, Roster, Site
from alerts.schedule import draw, inspection_due
from core.policy import AlertsPolicy, Policy, SchedulePolicy, WebhookPolicy
from core.words import render
from scoring.records import AlarmDecision, Signal

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in China


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def roster() -> Roster:
    r = Roster(
        parents={"CITY": None, "STATION": "CITY", "GRID": "STATION", "GRID2": "STATION"},
        inspectors={
            "I-GRID": Inspector("I-GRID", "grid", "GRID", webhook_url="http://grid"),
            "I-STATION": Inspector("I-STATION", "station", "STATION", webhook_url="http://station"),
            "I-CITY": Inspector("I-CITY", "city", "CITY"),
            "I-OTHER": Inspector("I-OTHER", "other", "GRID2"),
        },
        sites={"P": Site("P", "Tower", "GRID", "Unit"), "Q": Site("Q", "Hall", "GRID2", "Unit Q")},
    )
    r.shifts["GRID"].append((at(0), at(3600), "I-GRID"))
    r.shifts["STATION"].append((at(-86_400), at(86_400), "I-STATION"))
    r.shifts["CITY"].append((at(-86_400), at(86_400), "I-CITY"))
    return r


def alarm(cls: str, seconds: float, zone: str = "3F", alarm_id: str = "D1:1", final: bool = False) -> AlarmDecision:
    return AlarmDecision(at(seconds), "P", alarm_id, 1, zone, cls, "why", "D1:1", at(0), final)  # type: ignore[arg-type]


def signal(rule: str, state: str, seconds: float, device: str = "SP", kind: str = "trouble") -> Signal:
    return Signal(at(seconds), "P", device, rule, kind, state)  # type: ignore[arg-type]


POLICY = AlertsPolicy()


def fold(
    current: Incident | None, decision: AlarmDecision | Signal, fire: Incident | None = None
) -> tuple[Incident, str]:
    trigger = trigger_of(decision)
    assert trigger is not None
    result = apply(current, trigger, jurisdiction_id="GRID", fire=fire, policy=POLICY)
    assert result is not None
    incident, change = result
    if incident.id is None:
        incident.id = 1
    return incident, change


# ---- routing ------------------------------------------------------------------------------------


def test_routes_to_the_on_duty_inspector_of_the_premises_jurisdiction() -> None:
    route = roster().route("P", at(60))
    assert [i.id for i in route.inspectors] == ["I-GRID"]
    assert route.jurisdiction_id == "GRID" and route.passed == ()


def test_falls_back_to_the_parent_jurisdiction_when_nobody_is_on_duty() -> None:
    route = roster().route("P", at(7200))  # the grid shift ended at 3600
    assert [i.id for i in route.inspectors] == ["I-STATION"]
    assert route.passed == ("GRID",)


def test_shift_end_is_exclusive_and_escalation_starts_higher() -> None:
    r = roster()
    assert [i.id for i in r.route("P", at(3600)).inspectors] == ["I-STATION"]
    assert [i.id for i in r.route("P", at(60), level=1).inspectors] == ["I-STATION"]
    assert [i.id for i in r.route("P", at(60), level=2).inspectors] == ["I-CITY"]


def test_nobody_anywhere_gives_an_empty_route() -> None:
    r = roster()
    assert r.route("P", at(200_000)).inspectors == ()
    assert r.route("UNKNOWN", at(0)).inspectors == ()


def test_regular_inspector_is_stable_and_from_home() -> None:
    r = roster()
    assert r.regular_inspector("P") == r.regular_inspector("P")
    assert r.regular_inspector("P") is not None and r.regular_inspector("P").id == "I-GRID"  # type: ignore[union-attr]


# ---- grouping, raising, inhibition ----------------------------------------------------------------


def test_one_incident_per_premises_and_zone_repeats_update_it() -> None:
    first, change = fold(None, alarm("unverified", 0))
    assert change == "opened" and first.dedup_key == "P/alarm/3F" and first.cls == "alarm"
    again, change = fold(first, alarm("unverified", 30, alarm_id="D2:7"))
    assert change == "updated" and again.events == 2 and set(again.refs) == {"D1:1", "D2:7"}
    other = trigger_of(alarm("unverified", 30, zone="5F"))
    assert other is not None and other.dedup_key != first.dedup_key


def test_repeated_signals_of_one_rule_group_into_one_incident() -> None:
    first, _ = fold(None, signal("device_offline", "raised", 0, device="A"))
    second, change = fold(first, signal("device_offline", "raised", 10, device="B"))
    assert change == "updated" and second.events == 2 and second.active
    cleared, _ = fold(second, signal("device_offline", "cleared", 20, device="A"))
    assert cleared.refs == {"A/device_offline/": False, "B/device_offline/": True} and cleared.active


def test_a_clear_with_nothing_open_records_nothing() -> None:
    trigger = trigger_of(signal("device_offline", "cleared", 0))
    assert trigger is not None
    assert apply(None, trigger, jurisdiction_id="GRID", fire=None, policy=POLICY) is None


def test_an_alarm_confirmed_as_fire_is_raised_and_wants_a_new_acknowledgement() -> None:
    incident, _ = fold(None, alarm("unverified", 0))
    incident.state, incident.acknowledged_by = "acknowledged", "op"
    raised, change = fold(incident, alarm("confirmed", 40))
    assert change == "raised" and raised.cls == "fire" and raised.state == "open"
    assert raised.acknowledged_by is None
    assert raised.next_escalation_at == at(40 + 60)
    later, change = fold(raised, alarm("nuisance_likely", 50))
    assert change == "updated" and later.cls == "fire"  # never lowered


def test_a_confirmed_fire_inhibits_new_lower_incidents_of_the_premises() -> None:
    fire, _ = fold(None, alarm("confirmed", 0))
    trouble, change = fold(None, signal("component_fault", "raised", 5), fire=fire)
    assert change == "opened" and trouble.inhibited_by == fire.id and trouble.next_escalation_at is None
    second_fire, _ = fold(None, alarm("confirmed", 5, zone="9F"), fire=fire)
    assert second_fire.inhibited_by is None


# ---- escalation ------------------------------------------------------------------------------------


def test_fire_escalates_after_60_s_then_reminds_every_60_s_until_acknowledged() -> None:
    fire, _ = fold(None, alarm("confirmed", 0))
    assert escalation_step(fire, at(59), POLICY) is None
    step = escalation_step(fire, at(60), POLICY)
    assert step is not None and step[0] == "escalate" and step[1].escalation_level == 1
    fire = step[1]
    assert fire.next_escalation_at == at(120)
    assert escalation_step(fire, at(119), POLICY) is None
    step = escalation_step(fire, at(121), POLICY)  # a tick a second late keeps the cadence
    assert step is not None and step[0] == "remind" and step[1].reminders == 1
    assert step[1].next_escalation_at == at(180)
    fire = step[1]
    fire.state = "acknowledged"
    assert escalation_step(fire, at(1000), POLICY) is None


def test_after_an_outage_missed_reminders_are_not_sent_in_a_burst() -> None:
    fire, _ = fold(None, alarm("confirmed", 0))
    fire.escalation_level = 1
    fire.next_escalation_at = at(120)
    step = escalation_step(fire, at(3600), POLICY)
    assert step is not None and step[1].next_escalation_at == at(3660)


def test_supervisory_and_trouble_times_come_from_the_policy() -> None:
    supervisory, _ = fold(None, signal("valve", "raised", 0, kind="supervisory"))
    trouble, _ = fold(None, signal("component_fault", "raised", 0))
    assert supervisory.next_escalation_at == at(2 * 3600)
    assert trouble.next_escalation_at == at(4 * 3600)
    nuisance, _ = fold(None, alarm("nuisance_likely", 0))
    assert nuisance.next_escalation_at is None


def test_policy_file_changes_escalation(tmp_path: object) -> None:
    policy = Policy.model_validate({"alerts": {"classes": {"fire": {"ack_within_s": 15, "remind_every_s": 30}}}})
    assert policy.alerts.classes["fire"].ack_within_s == 15
    assert policy.alerts.classes["trouble"].ack_within_s == 4 * 3600  # the others keep their defaults


# ---- schedule --------------------------------------------------------------------------------------


def test_inspection_due_dates_follow_the_tier_table() -> None:
    policy = SchedulePolicy()
    entered = at(0)
    red = inspection_due("red", entered, None, policy)
    assert red.at == entered + timedelta(days=1)
    since = entered.isoformat()
    assert red.reason == {"code": "task.first_inspection", "args": {"tier": "red", "since": since, "days": 1}}
    assert render("en", red.reason) == f"red (major) since {entered:%Y-%m-%d %H:%M} UTC: first inspection within 1 d"
    assert render("zh", red.reason).endswith("1 天内完成首次检查")
    weekly = inspection_due("red", entered, entered + timedelta(hours=5), policy)
    assert weekly.at == entered + timedelta(hours=5, days=7)
    orange = inspection_due("orange", entered, entered - timedelta(days=40), policy)
    assert orange.at == entered + timedelta(days=7)  # an inspection before entering does not count
    assert inspection_due("yellow", entered, None, policy).at == entered + timedelta(days=91)
    blue = inspection_due("blue", entered, entered + timedelta(days=1), policy)
    assert blue.at == entered + timedelta(days=1 + 3 * 365)


def test_the_draw_is_reproducible_and_never_picks_the_regular_inspector() -> None:
    policy = SchedulePolicy(draw_share=0.3)
    pool = [f"P{i}" for i in range(40)]
    inspectors = [f"I{i}" for i in range(6)]
    candidates = {p: inspectors for p in pool}
    regular = {p: inspectors[i % 6] for i, p in enumerate(pool)}
    first = draw("2026-11", 7, pool, candidates, regular, policy)
    again = draw("2026-11", 7, list(reversed(pool)), candidates, regular, policy)
    assert first == again and len(first) == 12
    assert all(regular[d.premises_id] not in d.inspectors and len(set(d.inspectors)) == 2 for d in first)
    assert draw("2026-12", 7, pool, candidates, regular, policy) != first
    assert draw("2026-11", 8, pool, candidates, regular, policy) != first


def test_the_draw_skips_premises_without_enough_inspectors() -> None:
    drawn = draw("p", 1, ["P"], {"P": ["I1", "I2"]}, {"P": "I1"}, SchedulePolicy(draw_share=1))
    assert drawn == []


# ---- delivery backoff --------------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = WebhookPolicy(backoff_base_s=1, backoff_cap_s=10)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        waits = [backoff_s(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits) and max(waits) > ceiling * 0.8


def test_next_step_retries_5xx_honours_retry_after_and_stops_on_4xx() -> None:
    policy = WebhookPolicy(max_attempts=3)
    rng = random.Random(1)
    assert next_step(Result("delivered", 200), 1, policy, rng) == ("delivered", None)
    state, wait = next_step(Result("retry", 503), 1, policy, rng)
    assert state == "pending" and wait is not None
    assert next_step(Result("retry", 429, retry_after_s=7), 1, policy, rng) == ("pending", 7)
    assert next_step(Result("dead", 404), 1, policy, rng) == ("dead", None)
    assert next_step(Result("retry", 500), 3, policy, rng) == ("dead", None)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("5", now) == 5
    assert retry_after_seconds("Mon, 23 Nov 2026 00:00:30 GMT", now) == 30
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 16, b"123.{}", hashlib.sha256).hexdigest()
    assert sign(b"k" * 16, "123", b"{}") == f"sha256={expected}"


@pytest.mark.parametrize("tier", ["purple"])
def test_unknown_tier_in_policy_is_refused(tier: str) -> None:
    with pytest.raises(ValueError, match="unknown tiers"):
        Policy.model_validate({"schedule": {"tiers": {tier: {"every_days": 1}}}})
