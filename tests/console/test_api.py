"""The console's API over real PostgreSQL and a real HTTP server: authentication, roles, the
inspector's jurisdiction, action plans, premises, KPIs, tokens and the audit log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg_pool import ConnectionPool

from alerts.store.draws import seed_of
from scoring.records import AlarmDecision, Factor, IfClosed, RiskScore, Signal
from scoring.store import DecisionStore
from tests.console.conftest import PASSWORD, Served, as_json, login


def now() -> datetime:
    return datetime.now(UTC)


def fire(premises: str, zone: str = "3F", ident: str = "A1") -> AlarmDecision:
    t = now()
    return AlarmDecision(t, premises, f"{premises}:{ident}", 1, zone, "confirmed", "two detectors", "UITD:1", t)


def incident_of(served: Served, premises: str, deadline_s: float = 15.0) -> dict[str, Any]:
    """Wait for the alerts service to open an incident for ``premises``."""
    op = login(served, "op")
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = [i for i in as_json(op.get("/api/incidents")) if i["premises_id"] == premises]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no incident for {premises}")


PROTECTED = [
    ("GET", "/api/incidents"),
    ("GET", "/api/premises"),
    ("GET", "/api/premises/P"),
    ("GET", "/api/premises/P/readings"),
    ("GET", "/api/overview"),
    ("GET", "/api/kpis"),
    ("GET", "/api/tasks"),
    ("GET", "/api/inspectors"),
    ("GET", "/api/hazards"),
    ("GET", "/api/audit"),
    ("GET", "/api/live"),
    ("GET", "/api/meta"),
    ("POST", "/api/incidents/1/acknowledge"),
    ("POST", "/api/tasks/1/result"),
    ("GET", "/api/report?period=2026"),
    ("GET", "/api/unit"),
    ("GET", "/api/cases"),
    ("POST", "/api/cases"),
    ("GET", "/api/discretion"),
    ("GET", "/api/major-hazards"),
    ("GET", "/api/rectifications"),
    ("GET", "/api/publication/enforcement?kind=penalty"),
]


def test_without_credentials_every_api_route_answers_401(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as anonymous:
        for method, path in PROTECTED:
            answer = anonymous.request(method, path, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.get("/api/incidents", headers={"Authorization": "Bearer fwt_forged"}).status_code == 401
        assert anonymous.get("/api/incidents", headers={"Authorization": "Basic b3A6b3A="}).status_code == 401
        assert anonymous.get("/api/incidents", headers={"Cookie": "fw_session=forged"}).status_code == 401
        assert as_json(anonymous.get("/api/health"))["status"] == "ok"
        assert anonymous.get("/").status_code == 200  # the pages hold no data


def test_a_wrong_password_is_refused_and_recorded(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert client.post("/api/auth/login", json={"user": "op", "password": "wrong password"}).status_code == 401
        assert client.post("/api/auth/login", json={"user": "nobody", "password": PASSWORD}).status_code == 401
    trail = as_json(login(served, "adm").get("/api/audit", params={"action": "auth."}))
    assert [(r["action"], r["subject"]) for r in trail][:3] == [
        ("auth.login", "user:adm"),
        ("auth.failed", "user:nobody"),
        ("auth.failed", "user:op"),
    ]


def test_an_inspector_sees_only_their_jurisdiction(served: Served) -> None:
    served.publish([fire("P"), fire("R")])
    incident_of(served, "R")
    incident_of(served, "P")
    insp, other, op = login(served, "insp"), login(served, "other"), login(served, "op")

    assert as_json(insp.get("/api/premises/P"))["id"] == "P"
    for path in ("/api/premises/R", "/api/premises/R/readings", "/api/premises/R/risk", "/api/premises/NOPE"):
        assert insp.get(path).status_code == 404, path
    assert other.get("/api/premises/P").status_code == 404
    assert {p["id"] for p in as_json(insp.get("/api/premises"))} == {"P", "Q"}
    assert {p["id"] for p in as_json(op.get("/api/premises"))} == {"P", "Q", "R"}

    mine = as_json(insp.get("/api/incidents"))
    assert {i["premises_id"] for i in mine} == {"P"}
    r_incident = next(i for i in as_json(op.get("/api/incidents")) if i["premises_id"] == "R")
    assert insp.get(f"/api/incidents/{r_incident['id']}").status_code == 404
    assert as_json(other.get(f"/api/incidents/{r_incident['id']}"))["premises_id"] == "R"
    overview = as_json(insp.get("/api/overview"))
    assert {p[0] for p in overview["premises"]} == {"P", "Q"}
    assert overview["incidents"] == {"fire": 1}
    assert {row["jurisdiction_id"] for row in as_json(insp.get("/api/kpis"))["jurisdictions"]} == {"J-GRID"}


def test_roles_decide_who_may_act(served: Served) -> None:
    served.publish([fire("P")])
    incident = incident_of(served, "P")
    insp, op, adm = login(served, "insp"), login(served, "op"), login(served, "adm")
    assert insp.post(f"/api/incidents/{incident['id']}/acknowledge").status_code == 403
    assert insp.get("/api/audit").status_code == 403
    assert op.get("/api/users").status_code == 403
    assert op.post("/api/tokens", json={"user": "op", "name": "x"}).status_code == 403
    acked = as_json(op.post(f"/api/incidents/{incident['id']}/acknowledge"))
    assert acked == {"id": incident["id"], "state": "acknowledged", "acknowledged_by": "operator:op"}
    assert {u["id"] for u in as_json(adm.get("/api/users"))} == {"op", "adm", "insp", "other"}
    assert op.get("/api/tasks").status_code == 422  # operators name the inspector
    assert as_json(op.get("/api/tasks", params={"inspector": "I-GRID2"})) == []
    assert insp.get("/api/tasks", params={"inspector": "I-GRID"}).status_code == 404
    # whose list to see: operators and admins choose from the registry's inspectors
    listed = as_json(op.get("/api/inspectors"))
    assert {i["id"] for i in listed} >= {"I-GRID2", "I-OTHER"}
    grid2 = next(i for i in listed if i["id"] == "I-GRID2")
    assert grid2["jurisdiction_id"] == "J-GRID" and grid2["name"] and grid2["open_tasks"] >= 0
    assert as_json(adm.get("/api/inspectors")) == listed
    assert insp.get("/api/inspectors").status_code == 403


def test_resolving_follows_the_action_plan_and_a_real_fire_gives_the_inspector_a_task(served: Served) -> None:
    served.publish([fire("P")])
    incident = incident_of(served, "P")
    op = login(served, "op")
    path = f"/api/incidents/{incident['id']}/resolve"

    refused = op.post(path, json={"code": "real_fire", "note": "kitchen fire"})
    assert refused.status_code == 422
    assert "call_control_room, call_119, outcome" in refused.json()["detail"]
    assert op.post(path, json={"code": "real_fire", "steps": {"made_up": "x"}}).status_code == 422
    assert op.post(path, json={"code": "no_such_code", "steps": _fire_notes()}).status_code == 409

    done = as_json(op.post(path, json={"code": "real_fire", "note": "kitchen fire", "steps": _fire_notes()}))
    assert done["state"] == "resolved"
    assert op.post(path, json={"code": "real_fire", "steps": _fire_notes()}).status_code == 409  # already

    detail = as_json(op.get(f"/api/incidents/{incident['id']}"))
    assert detail["plan_notes"] == _fire_notes() and detail["resolved_by"] == "operator:op"
    assert detail["audit"][0]["action"] == "incident.resolved"
    assert detail["audit"][0]["details"]["plan_notes"] == _fire_notes()

    tasks = as_json(login(served, "insp").get("/api/tasks", params={"days": 2}))  # due within a day
    after = [t for t in tasks if t["premises_id"] == "P" and t["reason"].startswith("after the fire")]
    assert len(after) == 1, tasks
    kpis = as_json(op.get("/api/kpis"))["total"]
    assert kpis["fires"] == 1 and kpis["alarms_resolved"] == 1 and kpis["false_alarm_share"] == 0
    assert kpis["ack_p50_s"] is not None and kpis["ack_p50_s"] >= 0


def _fire_notes() -> dict[str, str]:
    return {"call_control_room": "Li answered", "call_119": "reported 02:03", "outcome": "pan fire, out"}


def test_an_inspector_records_findings_for_their_own_task_only(served: Served, pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        for inspector, premises in (("I-GRID2", "P"), ("I-OTHER", "R")):
            conn.execute(
                "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, due_at, created_at, state) "
                "VALUES (%s, %s, %s, 'inspection', 'quarterly', now(), now(), 'open')",
                (f"test:{premises}", premises, inspector),
            )
    insp, op = login(served, "insp"), login(served, "op")
    (task,) = as_json(insp.get("/api/tasks"))
    theirs = as_json(login(served, "other").get("/api/tasks"))[0]
    assert insp.post(f"/api/tasks/{theirs['id']}/result", json={"findings": []}).status_code == 404
    assert op.post(f"/api/tasks/{task['id']}/result", json={"findings": []}).status_code == 403
    done = as_json(insp.post(f"/api/tasks/{task['id']}/result", json={"findings": ["exit blocked on 3F"]}))
    assert done == {"id": task["id"], "state": "done", "findings": 1, "checks": 0, "failed": 0}
    (hazard,) = as_json(insp.get("/api/hazards", params={"premises": "P"}))
    assert hazard["title"] == "exit blocked on 3F" and hazard["deadline"] > hazard["opened_at"]
    assert login(served, "other").post(f"/api/hazards/{hazard['id']}/close", json={}).status_code == 404
    assert as_json(insp.post(f"/api/hazards/{hazard['id']}/close", json={"note": "cleared"}))["state"] == "closed"


def test_the_premises_page_shows_devices_readings_and_risk(served: Served, pool: ConnectionPool) -> None:
    t = now()
    with pool.connection() as conn:
        conn.cursor().executemany(
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) VALUES (%s, 'P', 'SP', "
            "'water_pressure_mpa', %s, %s)",
            [(t - timedelta(minutes=60 - n), 0.3 - n * 0.004, n) for n in range(60)],
        )
    store = DecisionStore(served.database_url)
    factors = (Factor("false_alarms_30d", 4.0, 12.5), Factor("open_hazards", 1.0, 9.0))
    closing = (IfClosed("active_faults", 2, 33.5, "yellow"),)
    store.write([
        RiskScore(t - timedelta(days=2), "P", 1, 20.0, "yellow", None, (), "risk-1"),
        RiskScore(t - timedelta(hours=1), "P", 2, 41.0, "orange", "yellow", factors, "risk-1", if_closed=closing),
        Signal(t - timedelta(minutes=5), "P", "SP", "device_offline", "trouble", "raised"),
        Signal(t - timedelta(minutes=9), "P", "UITD", "device_offline", "trouble", "raised"),
        Signal(t - timedelta(minutes=2), "P", "UITD", "device_offline", "trouble", "cleared"),
    ])  # fmt: skip
    store.close()
    insp = login(served, "insp")

    page = as_json(insp.get("/api/premises/P"))
    assert page["risk"]["score"] == 41.0 and page["risk"]["factors"][0]["name"] == "false_alarms_30d"
    assert page["risk"]["if_closed"] == [{"item": "active_faults", "value": 2, "score": 33.5, "tier": "yellow"}]
    devices = {d["id"]: d for d in page["devices"]}
    assert devices["SP"]["state"] == "offline" and devices["UITD"]["state"] == "silent"
    assert devices["SP"]["latest"]["water_pressure_mpa"][0] == pytest.approx(0.3 - 59 * 0.004)

    (series,) = as_json(insp.get("/api/premises/P/readings", params={"hours": 2}))
    assert series["device_id"] == "SP" and series["metric"] == "water_pressure_mpa"
    assert 30 <= len(series["t"]) <= 61 and series["t"] == sorted(series["t"])
    assert min(series["lo"]) == pytest.approx(0.3 - 59 * 0.004)
    assert [r["tier"] for r in as_json(insp.get("/api/premises/P/risk"))] == ["yellow", "orange"]
    offline = as_json(insp.get("/api/devices/offline"))
    assert [(d["premises_id"], d["device_id"]) for d in offline] == [("P", "SP")]
    assert as_json(insp.get("/api/overview"))["offline_devices"] == 1


def test_a_premises_live_state_is_its_most_urgent_open_incident_shown_beside_its_tier(
    served: Served, pool: ConnectionPool
) -> None:
    """The tier is the long-run risk; what happens now is told apart: a nuisance is no live state, a
    resolved incident none any more, a fire outranks a fault."""
    insp = login(served, "insp")
    assert as_json(insp.get("/api/premises/P"))["live"] is None
    add = (
        "INSERT INTO incidents (dedup_key, premises_id, jurisdiction_id, zone, class, title, state, opened_at, "
        "updated_at, events, refs) SELECT %s, id, jurisdiction_id, '3F', %s, 't', %s, now(), now(), 1, '{}' "
        "FROM premises WHERE id = 'P'"
    )
    with pool.connection() as conn:
        conn.execute(add, ("live:nuisance", "nuisance", "open"))
        conn.execute(add, ("live:fire-over", "fire", "resolved"))
    assert as_json(insp.get("/api/premises/P"))["live"] is None
    with pool.connection() as conn:
        conn.execute(add, ("live:trouble", "trouble", "acknowledged"))
    assert as_json(insp.get("/api/premises/P"))["live"] == "trouble"
    with pool.connection() as conn:
        conn.execute(add, ("live:fire", "fire", "open"))
    page = as_json(insp.get("/api/premises/P"))
    assert page["live"] == "fire" and "tier" in page  # both, side by side
    (row,) = [p for p in as_json(insp.get("/api/overview"))["premises"] if p[0] == "P"]
    assert row[5] is True and row[6] == "fire"
    listed = {p["id"]: p["live"] for p in as_json(insp.get("/api/premises"))}
    assert listed["P"] == "fire" and all(v is None for k, v in listed.items() if k != "P")


def test_api_tokens_act_as_their_user_until_revoked(served: Served) -> None:
    adm = login(served, "adm")
    made = as_json(adm.post("/api/tokens", json={"user": "op", "name": "dispatch bridge"}), 201)
    bearer = {"Authorization": f"Bearer {made['token']}"}
    with httpx.Client(base_url=served.url, timeout=10, headers=bearer) as bridge:
        assert as_json(bridge.get("/api/me"))["id"] == "op"
        assert bridge.get("/api/incidents").status_code == 200
        (token,) = as_json(adm.get("/api/tokens"))
        assert "token" not in token and "token_hash" not in token
        as_json(adm.post(f"/api/tokens/{token['id']}/revoke"))
        assert bridge.get("/api/incidents").status_code == 401


def test_logging_out_and_disabling_end_sessions(served: Served) -> None:
    insp = login(served, "insp")
    assert insp.post("/api/auth/logout").status_code == 200
    assert insp.get("/api/me").status_code == 401
    other = login(served, "other")
    adm = login(served, "adm")
    as_json(adm.post("/api/users/other/disable"))
    assert other.get("/api/me").status_code == 401
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert client.post("/api/auth/login", json={"user": "other", "password": PASSWORD}).status_code == 401
    made = adm.post("/api/users", json={"id": "new", "name": "New", "role": "inspector", "password": "short"})
    assert made.status_code == 422 and "10 characters" in made.json()["detail"]
    unknown = adm.post("/api/users", json={"id": "new", "name": "New", "role": "inspector", "inspector_id": "I-X"})
    assert unknown.status_code == 404 and "no inspector" in unknown.json()["detail"]
    assert adm.post("/api/users", json={"id": "op", "name": "again", "role": "operator"}).status_code == 409


def test_the_live_stream_tells_each_user_of_changes_in_their_scope(served: Served) -> None:
    received: dict[str, list[str]] = {"insp": [], "other": []}

    def listen(user: str, until: float) -> None:
        client = login(served, user)
        with client.stream("GET", "/api/live", timeout=httpx.Timeout(10, read=2)) as stream:
            try:
                for line in stream.iter_lines():
                    received[user].append(line)
                    if time.monotonic() > until:
                        return
            except httpx.ReadTimeout:
                return

    import threading

    until = time.monotonic() + 4
    threads = [threading.Thread(target=listen, args=(u, until)) for u in received]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    served.publish([fire("P")])
    for thread in threads:
        thread.join(15)
    insp_changes = [line for line in received["insp"] if line.startswith("data:") and "tables" in line]
    assert any('"incidents"' in line and '"P"' in line for line in insp_changes), received["insp"]
    assert not any('"P"' in line for line in received["other"]), received["other"]
    assert any("hello" in line for line in received["other"])


def test_an_admin_downloads_the_report_as_a_page_and_a_pdf_and_nobody_else_does(served: Served) -> None:
    admin = login(served, "adm")
    year = str(now().year)
    page = admin.get("/api/report", params={"period": year, "jurisdiction": "J-CITY", "lang": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Fire safety supervision report" in page.text and page.text.count("<svg") == 7
    pdf = admin.get("/api/report", params={"period": year, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f'filename="report-all-{year}-zh.pdf"' in pdf.headers["content-disposition"]
    assert admin.get("/api/report", params={"period": "last year"}).status_code == 422
    missing = admin.get("/api/report", params={"period": year, "jurisdiction": "J-NONE"})
    assert missing.status_code == 404 and "J-NONE" in missing.json()["detail"]
    for role in ("op", "insp"):
        assert login(served, role).get("/api/report", params={"period": year}).status_code == 403


def test_the_sixth_failed_login_in_a_minute_answers_429_with_retry_after(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for _ in range(5):
            assert client.post("/api/auth/login", json={"user": "op", "password": "wrong password"}).status_code == 401
        refused = client.post("/api/auth/login", json={"user": "op", "password": PASSWORD})
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.json()["detail"].startswith("5 failed logins of user 'op' in the last 60 s: try again in")
    trail = as_json(login(served, "adm").get("/api/audit", params={"action": "auth.throttled"}))
    assert [(r["subject"], r["details"]["address"]) for r in trail] == [("user:op", "127.0.0.1")]


def test_checklists_a_task_checklist_and_a_new_version_by_an_admin(served: Served, pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, due_at, created_at, state) "
            "VALUES ('inspection:P', 'P', 'I-GRID2', 'inspection', 'r', now(), now(), 'open') RETURNING id"
        ).fetchone()
    assert row is not None
    task = row[0]
    inspector, other = login(served, "insp"), login(served, "other")
    sheet = as_json(inspector.get(f"/api/tasks/{task}/checklist"))
    assert sheet["version"] == 1 and sheet["task"]["category"] == "high_rise_residential"
    assert "ebike_not_indoors" in [i["id"] for i in sheet["items"]] and sheet["recorded"] == []
    assert other.get(f"/api/tasks/{task}/checklist").status_code == 404  # another inspector's task

    checks = [{"item": "ebike_not_indoors", "result": "fail", "note": "3 e-bikes charging in the lobby"},
              {"item": "exits_clear", "result": "pass"}]  # fmt: skip
    unknown = inspector.post(
        f"/api/tasks/{task}/result", json={"checks": [{"item": "battery_cabins", "result": "pass"}]}
    )
    assert unknown.status_code == 409 and "battery_cabins" in unknown.json()["detail"]
    done = as_json(inspector.post(f"/api/tasks/{task}/result", json={"checks": checks}))
    assert (done["checks"], done["failed"]) == (2, 1)
    hazards = [h for h in as_json(inspector.get("/api/hazards")) if h["rule"] == "checklist_item"]
    assert [h["label"]["args"]["item"] for h in hazards] == ["ebike_not_indoors"]
    recorded = as_json(inspector.get(f"/api/tasks/{task}/checklist"))["recorded"]
    assert {r["item_id"]: r["result"] for r in recorded} == {"ebike_not_indoors": "fail", "exits_clear": "pass"}

    admin = login(served, "adm")
    document = as_json(admin.get("/api/checklists"))["checklists"]
    document["items"] = document["items"][:5]
    assert login(served, "op").put("/api/checklists", json=document).status_code == 403
    made = as_json(admin.put("/api/checklists", json=document))
    assert made["version"] == 2 and len(made["checklists"]["items"]) == 5
    bad = admin.put("/api/checklists", json=document | {"items": [document["items"][0]] * 2})
    assert bad.status_code == 422 and "appears twice" in bad.json()["detail"]
    assert {r["version"] for r in as_json(inspector.get(f"/api/tasks/{task}/checklist"))["recorded"]} == {1}


def test_an_admin_makes_a_published_draw_that_anyone_can_verify_and_export(served: Served) -> None:
    admin, op = login(served, "adm"), login(served, "op")
    body = {"period": "2026-12", "beacon": "lottery 2026139: 03 11 17 22 26 30 + 08"}
    assert op.post("/api/draws", json=body).status_code == 403
    made = as_json(admin.post("/api/draws", json=body))
    assert made["seed"] == seed_of(body["period"], body["beacon"]) and len(made["drawn"]) >= 1
    assert admin.post("/api/draws", json=body).status_code == 409  # a period is drawn once
    verdict = as_json(op.get("/api/draws/2026-12/verify"))
    assert (verdict["intact"], verdict["beacon"], verdict["drawn"]) == (True, body["beacon"], len(made["drawn"]))
    listed = as_json(op.get("/api/draws"))
    assert {d["premises_id"] for d in listed} == {d["premises_id"] for d in made["drawn"]}
    csv_text = op.get("/api/draws/2026-12/publication", params={"format": "csv"})
    assert csv_text.status_code == 200 and 'filename="draw-2026-12.csv"' in csv_text.headers["content-disposition"]
    assert body["beacon"] in csv_text.text and csv_text.text.count("\n") == 1 + len(made["drawn"])
    assert op.get("/api/draws/1999-01/publication").status_code == 404
    assert op.get("/api/draws/1999-01/verify").status_code == 404


def test_device_states_show_a_fire_alarm_and_a_value_beyond_its_limit_and_notices_their_recipients(
    served: Served, pool: ConnectionPool
) -> None:
    t = now()
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO events (time, premises_id, device_id, seq, kind, zone) VALUES (%s, 'P', 'UITD', 1, "
            "'fire_alarm', '3F')",
            (t - timedelta(seconds=30),),
        )
        conn.execute(
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) VALUES (%s, 'P', 'SP', "
            "'water_pressure_mpa', 0.02, 1)",
            (t - timedelta(minutes=1),),
        )
    served.publish([fire("P", zone="3F"), RiskScore(t, "P", 1, 85.0, "red", None, (), "risk-1")])
    incident_of(served, "P")
    op = login(served, "op")
    devices = {d["id"]: d for d in as_json(op.get("/api/premises/P"))["devices"]}
    assert devices["UITD"]["state"] == "alarm" and devices["UITD"]["alarm"]["zone"] == "3F"
    assert devices["SP"]["state"] == "over_limit"
    at = devices["SP"]["latest"]["water_pressure_mpa"][1]
    over = {"metric": "water_pressure_mpa", "value": 0.02, "limit": 0.05, "direction": "below", "time": at}
    assert devices["SP"]["over"] == [over]

    deadline = time.monotonic() + 15
    while not (notices := as_json(op.get("/api/notices"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    [notice] = notices
    assert notice["tier"] == "red" and notice["label"]["code"] == "notice.tier"
    assert ("centre", "console", "delivered") in {
        (d["recipient"], d["channel"], d["state"]) for d in notice["deliveries"]
    }


def test_evidence_uploads_are_checked_stored_by_hash_and_served_back(served: Served) -> None:
    insp = login(served, "insp")
    jpeg = b"\xff\xd8\xff\xe0" + b"\x01" * 2048
    made = insp.post("/api/evidence", content=jpeg, headers={"Content-Type": "image/jpeg"})
    assert made.status_code == 201 and made.json()["size"] == len(jpeg)
    back = insp.get(f"/api/evidence/{made.json()['sha256']}")
    assert back.content == jpeg and back.headers["content-type"] == "image/jpeg"
    wrong = insp.post("/api/evidence", content=jpeg, headers={"Content-Type": "image/png"})
    assert wrong.status_code == 415 and "image/jpeg but was sent as image/png" in wrong.json()["detail"]
    huge = insp.post(
        "/api/evidence", content=b"\xff\xd8\xff" + bytes(10 * 1024 * 1024), headers={"Content-Type": "image/jpeg"}
    )
    assert huge.status_code == 413
    assert insp.get("/api/evidence/" + "0" * 64).status_code == 404
    with httpx.Client(base_url=served.url, timeout=10) as anonymous:
        assert anonymous.post("/api/evidence", content=jpeg, headers={"Content-Type": "image/jpeg"}).status_code == 401
