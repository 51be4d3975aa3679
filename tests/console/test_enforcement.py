"""The supervision workflow through the API on real PostgreSQL: a unit's account sees its own premises
only; it self-checks, reports a hazard itself, reports a fix with evidence that an inspector rejects
and then verifies; an inspector opens a case with its order, re-checks it late, proposes a seal-up
that only another person may approve; penalties follow the discretion table and its exemptions; the
documents are generated and numbered; credit follows the record and is repaired; everything is
audited and the enforcement information is published."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg_pool import ConnectionPool

from tests.alerts.conftest import load
from tests.console.conftest import PASSWORD, Served, as_json, city_registry, login

JPEG = b"\xff\xd8\xff\xe0" + b"\x02" * 4096


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(served: Served) -> Clock:
    fake = Clock()
    assert served.console is not None
    served.console.clock = fake
    return fake


def unit_of(served: Served, premises: list[str], user: str = "unit-p") -> httpx.Client:
    admin = login(served, "adm")
    made = as_json(admin.post("/api/users", json={"id": user, "name": "Unit P", "role": "unit", "password": PASSWORD,
                                                   "premises": premises}), 201)  # fmt: skip
    assert made["premises"] == sorted(premises)
    return login(served, user)


def checks_for(unit: httpx.Client, premises: str, failed: str) -> list[dict[str, Any]]:
    items = as_json(unit.get(f"/api/unit/premises/{premises}/checklist"))["items"]
    return [{"item": i["id"], "result": "fail" if i["id"] == failed else "pass",
             "note": "chained shut" if i["id"] == failed else ""} for i in items]  # fmt: skip


def audit_actions(pool: ConnectionPool) -> set[str]:
    with pool.connection() as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT action FROM audit_log").fetchall()}


def test_a_unit_sees_its_own_premises_only(served: Served, pool: ConnectionPool) -> None:
    unit = unit_of(served, ["P"])
    me = as_json(unit.get("/api/me"))
    assert me["role"] == "unit" and me["premises"] == ["P"]
    portal = as_json(unit.get("/api/unit"))
    assert [p["id"] for p in portal["premises"]] == ["P"]
    assert portal["premises"][0]["self_check"]["due"] is True  # never self-checked
    assert (
        portal["premises"][0]["live"] is None and portal["premises"][0]["if_closed"] is None
    )  # nothing open, unscored
    for path in ("/api/premises/P", "/api/incidents", "/api/hazards", "/api/cases", "/api/tasks", "/api/audit"):
        assert unit.get(path).status_code == 403, path
    assert unit.get("/api/unit/premises/Q/checklist").status_code == 404
    assert unit.post("/api/unit/premises/Q/hazards", json={"text": "x"}).status_code == 404
    # another premises' notice is none of its business; its own it reads, once
    with pool.connection() as conn:
        ids = [conn.execute(
            "INSERT INTO notices (premises_id, tier, score, issued_at, unit_name, jurisdiction_id, text) "
            "VALUES (%s, 'red', 70, now(), 'u', 'J-GRID', 'warning') RETURNING id", (p,)).fetchone()[0]  # type: ignore[index]
            for p in ("P", "Q")]  # fmt: skip
    assert unit.post(f"/api/unit/notices/{ids[1]}/read").status_code == 404
    first = as_json(unit.post(f"/api/unit/notices/{ids[0]}/read"))["read_at"]
    assert as_json(unit.post(f"/api/unit/notices/{ids[0]}/read"))["read_at"] == first
    assert [n["read_at"] for n in as_json(unit.get("/api/unit"))["notices"]] == [first]
    # a unit account needs premises, and only a unit has them
    admin = login(served, "adm")
    assert admin.post("/api/users", json={"id": "u2", "name": "u", "role": "unit"}).status_code == 422
    assert (
        admin.post("/api/users", json={"id": "u3", "name": "u", "role": "unit", "premises": ["NOPE"]}).status_code
        == 404
    )
    assert (
        admin.post("/api/users", json={"id": "u4", "name": "u", "role": "operator", "premises": ["P"]}).status_code
        == 422
    )


def test_self_checks_self_reports_and_a_rectification_the_inspector_rejects_then_verifies(
    served: Served, pool: ConnectionPool, clock: Clock
) -> None:
    unit = unit_of(served, ["P"])
    done = as_json(unit.post("/api/unit/premises/P/self-checks", json={"checks": checks_for(unit, "P", "exits_clear")}),
                   201)  # fmt: skip
    failed = [c for c in done["checks"] if c["result"] == "fail"]
    assert len(failed) == 1 and failed[0]["hazard_id"] is not None
    photo = as_json(unit.post("/api/evidence", content=JPEG, headers={"Content-Type": "image/jpeg"}), 201)["sha256"]
    reported = as_json(unit.post("/api/unit/premises/P/hazards", json={"text": "extinguisher missing on 5F",
                                                                         "evidence": [photo]}), 201)  # fmt: skip
    portal = as_json(unit.get("/api/unit"))
    assert {h["id"] for h in portal["hazards"]} == {failed[0]["hazard_id"], reported["hazard_id"]}
    assert all(h["self_reported"] for h in portal["hazards"])
    assert portal["premises"][0]["self_check"]["due"] is False
    assert as_json(login(served, "insp").get("/api/hazards"))  # the inspector sees them in their list

    # evidence: the unit gets its own files, not an inspector's
    other = as_json(login(served, "insp").post("/api/evidence", content=JPEG + b"x",
                                               headers={"Content-Type": "image/jpeg"}), 201)["sha256"]  # fmt: skip
    assert unit.get(f"/api/evidence/{photo}").content == JPEG
    assert unit.get(f"/api/evidence/{other}").status_code == 404

    hazard = reported["hazard_id"]
    assert unit.post(f"/api/unit/hazards/{hazard}/rectification", json={"note": "x", "evidence": []}).status_code == 422
    assert unit.post(f"/api/unit/hazards/{hazard}/rectification",
                     json={"note": "x", "evidence": ["1" * 64]}).status_code == 409  # fmt: skip
    report = as_json(unit.post(f"/api/unit/hazards/{hazard}/rectification",
                               json={"note": "new extinguisher", "evidence": [photo]}), 201)  # fmt: skip
    insp, other_insp = login(served, "insp"), login(served, "other")
    assert [r["id"] for r in as_json(insp.get("/api/rectifications"))] == [report["id"]]
    assert as_json(other_insp.get("/api/rectifications")) == []
    assert other_insp.post(f"/api/rectifications/{report['id']}/verify", json={}).status_code == 404
    assert insp.post(f"/api/rectifications/{report['id']}/reject", json={"note": ""}).status_code == 422
    as_json(insp.post(f"/api/rectifications/{report['id']}/reject", json={"note": "photo shows 3F, not 5F"}))
    shown = next(h for h in as_json(unit.get("/api/unit"))["hazards"] if h["id"] == hazard)
    assert shown["rectification"] == "rejected" and shown["decision_note"] == "photo shows 3F, not 5F"
    again = as_json(unit.post(f"/api/unit/hazards/{hazard}/rectification",
                              json={"note": "5F now", "evidence": [photo]}), 201)  # fmt: skip
    as_json(insp.post(f"/api/rectifications/{again['id']}/verify", json={"note": "seen on site"}))
    assert hazard not in {h["id"] for h in as_json(unit.get("/api/unit"))["hazards"]}
    assert {"self_check.done", "hazard.self_reported", "rectification.submitted", "rectification.rejected",
            "rectification.verified", "evidence.stored", "hazard.closed"} <= audit_actions(pool)  # fmt: skip


def test_a_case_from_order_to_seal_up_approved_by_a_second_person_and_closed(
    served: Served, pool: ConnectionPool, clock: Clock
) -> None:
    insp, adm, other = login(served, "insp"), login(served, "adm"), login(served, "other")
    opened = as_json(insp.post("/api/cases", json={"premises_id": "P", "offence": "escape_routes_blocked",
                                                    "circumstance": "general", "requirements": "unlock stair B",
                                                    "deadline_days": 3}), 201)  # fmt: skip
    case_id = opened["id"]
    order = opened["steps"][0]
    assert order["kind"] == "order" and order["state"] == "effective"
    assert order["number"] == f"消责改〔{clock.now.year}〕1号" and opened["number"] == f"消案〔{clock.now.year}〕1号"
    assert other.get(f"/api/cases/{case_id}").status_code == 404  # another jurisdiction
    assert other.post("/api/cases", json={"premises_id": "P", "offence": "escape_routes_blocked"}).status_code == 404
    assert insp.post("/api/cases", json={"premises_id": "P", "offence": "no_such"}).status_code == 409
    page = insp.get(f"/api/cases/{case_id}/steps/{order['id']}/document")
    assert page.status_code == 200 and "责令改正通知书" in page.text and order["number"] in page.text
    assert "unlock stair B" in page.text and "《消防法》第六十条第一款第（三）项" in page.text
    pdf = insp.get(f"/api/cases/{case_id}/steps/{order['id']}/document?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    printed = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout
    printed = printed.decode()
    assert "责令改正通知书" in printed and "unlock stair B" in printed  # the Chinese text is in the PDF, not boxes

    # a seal-up needs a re-check that found it not corrected; the late re-check lists the unit
    assert insp.post(f"/api/cases/{case_id}/steps", json={"kind": "seal_up"}).status_code == 409
    clock.now += timedelta(days=4)
    insp, adm = login(served, "insp"), login(served, "adm")  # sessions last hours: the clock moved days
    late = as_json(insp.post(f"/api/cases/{case_id}/steps", json={"kind": "recheck", "passed": False}), 201)
    assert late["step"]["detail"]["overdue"] is True and late["case"]["credit_status"] == "watchlist"
    sealed = as_json(insp.post(f"/api/cases/{case_id}/steps", json={"kind": "seal_up", "note": "stair B"}), 201)["step"]
    assert sealed["state"] == "pending" and sealed["number"] is None
    assert insp.post(f"/api/case-steps/{sealed['id']}/approve", json={}).status_code == 403  # admins approve
    assert insp.post(f"/api/cases/{case_id}/steps", json={"kind": "close"}).status_code == 409  # pending
    assert [c["id"] for c in as_json(adm.get("/api/cases?state=pending"))] == [case_id]
    approved = as_json(adm.post(f"/api/case-steps/{sealed['id']}/approve", json={"note": "legal review: ok"}))
    step = next(s for s in approved["steps"] if s["id"] == sealed["id"])
    assert step["state"] == "effective" and step["number"] == f"消临封〔{clock.now.year}〕1号"
    assert approved["credit_status"] == "untrustworthy"
    doc = adm.get(f"/api/cases/{case_id}/steps/{sealed['id']}/document").text
    assert "临时查封决定书" in doc and "法制审核：admin:adm" in doc

    # the one who proposes a decision never approves it
    fine = as_json(adm.post(f"/api/cases/{case_id}/steps", json={"kind": "penalty", "fine_yuan": 20_000}), 201)["step"]
    assert fine["state"] == "pending"
    refused = adm.post(f"/api/case-steps/{fine['id']}/approve", json={})
    assert refused.status_code == 409 and "second person" in refused.json()["detail"]

    # lifting and closing wait for a re-check that passed
    assert insp.post(f"/api/cases/{case_id}/steps", json={"kind": "lift", "measure": sealed["id"]}).status_code == 409
    as_json(insp.post(f"/api/cases/{case_id}/steps", json={"kind": "recheck", "passed": True}), 201)
    as_json(insp.post(f"/api/cases/{case_id}/steps", json={"kind": "lift", "measure": sealed["id"]}), 201)
    assert insp.post(f"/api/cases/{case_id}/steps", json={"kind": "close"}).status_code == 409  # the fine waits
    as_json(adm.post("/api/users", json={"id": "adm2", "name": "Legal", "role": "admin", "password": PASSWORD}), 201)
    as_json(
        login(served, "adm2").post(f"/api/case-steps/{fine['id']}/refuse", json={"note": "too high for a first case"})
    )
    closed = as_json(insp.post(f"/api/cases/{case_id}/steps", json={"kind": "close", "note": "done"}), 201)["case"]
    assert closed["state"] == "closed"

    # the unit sees its case's documents in effect, and gets them; the credit history says why
    unit = unit_of(served, ["P"])
    [mine] = as_json(unit.get("/api/unit"))["cases"]
    assert {d["kind"] for d in mine["documents"]} == {"order", "recheck", "seal_up", "lift", "close"}
    assert unit.get(f"/api/cases/{case_id}/steps/{sealed['id']}/document").status_code == 200
    assert unit.get(f"/api/cases/{case_id}/steps/{fine['id']}/document").status_code == 404  # refused: not served
    history = as_json(unit.get("/api/unit"))["premises"][0]["credit_history"]
    assert [(h["to_status"], h["reason"]) for h in history] == [("untrustworthy", "seal_up"),
                                                                  ("watchlist", "overdue_rectification")]  # fmt: skip

    # published: the seal-up with when it was lifted; no penalty (it was refused)
    coercive = as_json(adm.get("/api/publication/enforcement?kind=coercive"))
    assert [(r["measure"], r["number"]) for r in coercive] == [("seal_up", step["number"])]
    assert coercive[0]["lifted_on"] is not None
    assert as_json(adm.get("/api/publication/enforcement?kind=penalty")) == []
    assert as_json(adm.get("/api/publication/enforcement?kind=licence")) == []
    csv = adm.get("/api/publication/enforcement?kind=coercive&format=csv").text
    assert csv.splitlines()[0].startswith("date,number,case_number") and step["number"] in csv

    # 信用修复: a year of clean record later, the unit is back to normal
    assert as_json(adm.post("/api/credit/review"))["repaired"] == []
    clock.now += timedelta(days=366)
    adm = login(served, "adm")
    assert as_json(adm.post("/api/credit/review"))["repaired"] == [{"premises_id": "P", "from": "untrustworthy"}]
    assert as_json(adm.get("/api/premises/P/credit"))["status"] == "normal"
    assert {"case.opened", "case.step", "case.approved", "case.refused", "case.closed",
            "credit.changed"} <= audit_actions(pool)  # fmt: skip


def test_penalties_follow_the_discretion_table_and_its_exemptions(served: Served, clock: Clock) -> None:
    insp, adm = login(served, "insp"), login(served, "adm")
    table = as_json(insp.get("/api/discretion"))
    assert table["format"] == "firewarden-discretion/1" and len(table["offences"]) >= 10

    # a hazard the unit reported itself: no penalty (主动申报免罚)
    unit = unit_of(served, ["P"])
    hazard = as_json(unit.post("/api/unit/premises/P/hazards", json={"text": "hydrant hidden by stalls"}), 201)
    mine = as_json(insp.post("/api/cases", json={"hazard_id": hazard["hazard_id"], "offence": "hydrants_obstructed",
                                                  "circumstance": "serious"}), 201)  # fmt: skip
    exempt = as_json(insp.post(f"/api/cases/{mine['id']}/steps", json={"kind": "penalty", "fine_yuan": 40_000}), 201)
    assert exempt["step"]["kind"] == "exemption" and exempt["step"]["detail"]["exemption"] == "self_reported"
    assert "不予行政处罚决定书" in insp.get(f"/api/cases/{mine['id']}/steps/{exempt['step']['id']}/document").text

    # a first minor offence: no penalty (首次免罚); the second within the window is fined within the range
    first = as_json(insp.post("/api/cases", json={"premises_id": "Q", "offence": "fire_access_blocked",
                                                   "circumstance": "light"}), 201)  # fmt: skip
    step = as_json(insp.post(f"/api/cases/{first['id']}/steps", json={"kind": "penalty"}), 201)["step"]
    assert step["detail"]["exemption"] == "first_offence"
    second = as_json(insp.post("/api/cases", json={"premises_id": "Q", "offence": "escape_routes_blocked",
                                                    "circumstance": "general"}), 201)  # fmt: skip
    low = insp.post(f"/api/cases/{second['id']}/steps", json={"kind": "penalty", "fine_yuan": 5_000})
    assert low.status_code == 409 and "10,000 to 30,000 yuan" in low.json()["detail"]
    fined = as_json(insp.post(f"/api/cases/{second['id']}/steps", json={"kind": "penalty", "fine_yuan": 15_000}), 201)
    assert fined["step"]["state"] == "pending"  # 15,000 ≥ the policy's 10,000: legal review
    as_json(adm.post(f"/api/case-steps/{fined['step']['id']}/approve", json={}))
    third = as_json(insp.post("/api/cases", json={"premises_id": "Q", "offence": "fire_access_blocked",
                                                   "circumstance": "light"}), 201)  # fmt: skip
    small = as_json(insp.post(f"/api/cases/{third['id']}/steps", json={"kind": "penalty", "fine_yuan": 6_000}), 201)
    assert small["step"]["kind"] == "penalty" and small["step"]["state"] == "effective"  # penalised before, below 10k
    published = as_json(adm.get("/api/publication/enforcement?kind=penalty"))
    assert sorted(r["decision"] for r in published) == ["fine", "fine", "no penalty: first_offence",
                                                        "no penalty: self_reported"]  # fmt: skip
    assert as_json(adm.get("/api/premises/Q/credit"))["status"] == "watchlist"  # penalised


def test_a_major_hazard_is_listed_until_it_closes_and_repeated_ones_list_the_unit(served: Served, clock: Clock) -> None:
    insp = login(served, "insp")
    unit = unit_of(served, ["P"])
    hazards = [as_json(unit.post("/api/unit/premises/P/hazards", json={"text": f"major {n}"}), 201)["hazard_id"]
               for n in range(2)]  # fmt: skip
    as_json(insp.post(f"/api/hazards/{hazards[0]}/listing", json={"note": "GB 35181 §5"}), 201)
    assert insp.post(f"/api/hazards/{hazards[0]}/listing", json={}).status_code == 409  # already listed
    assert [h["id"] for h in as_json(insp.get("/api/major-hazards"))] == [hazards[0]]
    assert as_json(insp.get("/api/premises/P/credit"))["status"] == "normal"
    as_json(insp.post(f"/api/hazards/{hazards[1]}/listing", json={}), 201)
    assert as_json(insp.get("/api/premises/P/credit"))["status"] == "untrustworthy"  # two within a year
    insp.post(f"/api/hazards/{hazards[0]}/close", json={"note": "fixed"})
    listed = as_json(insp.get("/api/major-hazards?include_closed=true"))
    closed = next(h for h in listed if h["id"] == hazards[0])
    assert closed["state"] == "closed" and closed["delisted_at"] is not None
    assert [h["id"] for h in as_json(insp.get("/api/major-hazards"))] == [hazards[1]]


def test_a_registry_import_keeps_the_credit_supervision_set(served: Served) -> None:
    adm = login(served, "adm")
    as_json(adm.post("/api/premises/Q/credit", json={"status": "watchlist", "note": "court ruling 2026-17"}))
    assert adm.post("/api/premises/Q/credit", json={"status": "bad", "note": "x"}).status_code == 422
    by_inspector = login(served, "insp").post("/api/premises/Q/credit", json={"status": "normal", "note": "x"})
    assert by_inspector.status_code == 403
    load(served.database_url, city_registry())  # the file still says normal
    credit = as_json(adm.get("/api/premises/Q/credit"))
    assert credit["status"] == "watchlist"
    assert [(h["reason"], h["detail"]) for h in credit["history"]] == [("manual", {"note": "court ruling 2026-17"})]
    assert as_json(adm.get("/api/premises/P/credit"))["status"] == "normal"  # never changed: the file's


def test_a_unit_sees_what_closing_each_open_item_would_do_to_its_tier(served: Served) -> None:
    from scoring.records import IfClosed, RiskScore
    from scoring.store import DecisionStore

    closing = (IfClosed("credit_status", "watchlist", 12.0, "blue"), IfClosed("active_faults", 1, 17.0, "yellow"))
    store = DecisionStore(served.database_url)
    store.write([RiskScore(datetime.now(UTC), "P", 1, 18.0, "yellow", None, (), "risk-1", if_closed=closing)])
    store.close()
    (premises,) = as_json(unit_of(served, ["P"]).get("/api/unit"))["premises"]
    assert premises["if_closed"] == [
        {"item": "credit_status", "value": "watchlist", "score": 12.0, "tier": "blue"},
        {"item": "active_faults", "value": 1, "score": 17.0, "tier": "yellow"},
    ]


def test_a_credit_listing_moves_the_open_inspection_to_the_shortened_period(
    served: Served, pool: ConnectionPool
) -> None:
    """A unit listed for its credit is visited more often from its open inspection task on, not only
    from the next one (the task used to keep the period it was made with)."""
    from alerts.schedule import inspection_due
    from core.policy import Policy

    since = datetime(2026, 1, 1, tzinfo=UTC)
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO premises_schedule (premises_id, tier, tier_since, score) VALUES ('P', 'blue', %s, 5) "
            "ON CONFLICT (premises_id) DO UPDATE SET tier = 'blue', tier_since = excluded.tier_since",
            (since,),
        )
        conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, kind, reason, due_at, created_at, state) "
            "VALUES ('inspection:P', 'P', 'inspection', 'blue: inspection every 1095 d', %s, now(), 'open')",
            (since + timedelta(days=1095),),
        )
    adm = login(served, "adm")
    as_json(adm.post("/api/premises/P/credit", json={"status": "untrustworthy", "note": "court ruling"}))
    policy = Policy()
    expected = inspection_due("blue", since, None, policy.schedule, policy.credit.factor("untrustworthy"))
    with pool.connection() as conn:
        (due, label) = conn.execute(
            "SELECT due_at, label FROM tasks WHERE dedup_key = 'inspection:P' AND state = 'open'"
        ).fetchone()  # type: ignore[misc]
    assert due == expected.at < since + timedelta(days=1095)
    assert label == expected.reason
