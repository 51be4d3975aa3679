"""The supervision report against hand counts on a seeded database, and its files (HTML, PDF) as written
by `firewarden report`: the PDF opens (pdftoppm renders every page) and says what the figures say."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from PIL import Image
from psycopg.types.json import Jsonb

from core.db import connect
from report import Report, charts, compute, parse_period
from report.errors import PeriodError, ReportError
from tests.shots import SHOTS

NOW = datetime(2027, 2, 1, tzinfo=UTC)
PERIOD = parse_period("2026", ZoneInfo("UTC"))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _seed(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """A city (CITY) with two districts; D1 has a fire station S1 under it. Out of D1's scope: P3 in D2,
    and every row dated outside 2026. Comments give each row's share of the hand counts."""
    x = conn.execute
    for jid, kind, parent in (("CITY", "city", None), ("D1", "district", "CITY"), ("S1", "fire_station", "D1"),
                              ("D2", "district", "CITY")):  # fmt: skip
        x("INSERT INTO jurisdictions VALUES (%s, %s, %s, %s)", (jid, f"{jid} name", kind, parent))
    for pid, category, jid, credit in (("P1", "high_rise_residential", "D1", "normal"),
                                       ("P2", "commercial_complex", "S1", "trustworthy"),
                                       ("P3", "hospital", "D2", "normal"),
                                       ("P4", "high_rise_residential", "D1", "untrustworthy")):  # fmt: skip
        x("INSERT INTO premises (id, name, category, address, jurisdiction_id, credit_status, unit_name, unit_contact) "
          "VALUES (%s, %s, %s, 'somewhere', %s, %s, 'unit', 'contact')",
          (pid, f"{pid} name", category, jid, credit))  # fmt: skip
    for did, pid, dtype in (("P1-SP1", "P1", "sprinkler_pressure"), ("P1-UITD", "P1", "uitd"),
                            ("P2-SA1", "P2", "smoke_alarm"), ("P4-SA2", "P4", "smoke_alarm"),
                            ("P3-SA3", "P3", "smoke_alarm")):  # fmt: skip
        x("INSERT INTO devices (id, premises_id, type, location, expected_interval_s) VALUES (%s, %s, %s, 'x', 60)",
          (did, pid, dtype))  # fmt: skip
    risk = ("INSERT INTO risk_scores (premises_id, revision, time, score, tier, previous_tier, factors, model_version, "
            "inputs) VALUES (%s, %s, %s, 50, %s, %s, '[]', 'm', '{}')")  # fmt: skip
    x(risk, ("P1", 1, _at("2026-01-10"), "yellow", None))  # first score: no move
    x(risk, ("P1", 2, _at("2026-05-01"), "red", "yellow"))  # move yellow → red; P1 red at the end
    x(risk, ("P2", 1, _at("2025-12-01"), "blue", None))
    x(risk, ("P2", 2, _at("2026-03-01"), "orange", "blue"))  # move blue → orange; P2 orange at the end
    x(risk, ("P2", 3, _at("2027-01-05"), "red", "orange"))  # after the period
    x(risk, ("P4", 1, _at("2026-02-01"), "blue", None))  # P4 blue at the end
    x(risk, ("P3", 1, _at("2026-02-01"), "red", "blue"))  # out of scope
    task = ("INSERT INTO tasks (dedup_key, premises_id, kind, reason, due_at, created_at, state, done_at) "
            "VALUES (%s, %s, %s, 'r', %s, %s, %s, %s)")  # fmt: skip
    x(task, ("inspection:P1", "P1", "inspection", _at("2026-03-01"), _at("2026-01-01"), "done", _at("2026-02-25")))
    x(task, ("after_fire:7", "P1", "inspection", _at("2026-06-10"), _at("2026-06-01"), "done", _at("2026-06-12")))
    x(task, ("draw:2026-Q3:P2", "P2", "draw", _at("2026-09-30"), _at("2026-07-01"), "open", None))
    x(task, ("hazard:9", "P4", "hazard", _at("2026-11-01"), _at("2026-10-01"), "done", _at("2026-10-20")))
    x(task, ("inspection:P3", "P3", "inspection", _at("2026-04-01"), _at("2026-01-01"), "done", _at("2026-03-01")))
    x(task, ("inspection:P1b", "P1", "inspection", _at("2027-01-10"), _at("2026-12-01"), "open", None))
    hazard = ("INSERT INTO hazards (premises_id, source, rule, title, state, opened_at, deadline, unit_name, "
              "signal_active, closed_at) VALUES (%s, %s, %s, 't', %s, %s, %s, 'unit', false, %s)")  # fmt: skip
    x(hazard, ("P1", "low_sprinkler_pressure:P1-SP1", "low_sprinkler_pressure", "closed", _at("2026-02-01"),
               _at("2026-02-08"), _at("2026-02-05")))  # fmt: skip
    x(hazard, ("P2", "task:1:1", "inspection_finding", "open", _at("2026-05-01"), _at("2026-05-31"), None))
    x(hazard, ("P4", "false_alarms", "false_alarms", "closed", _at("2025-11-01"), _at("2025-12-01"),
               _at("2026-01-15")))  # fmt: skip
    x(hazard, ("P3", "device_offline:P3-SA3", "device_offline", "open", _at("2026-05-01"), _at("2026-05-02"), None))
    incident = ("INSERT INTO incidents (dedup_key, premises_id, jurisdiction_id, zone, class, title, state, opened_at, "
                "updated_at, events, refs, acknowledged_at, resolved_at, resolution) "
                "VALUES (%s, %s, %s, 'z', %s, 't', %s, %s, %s, 1, '{}', %s, %s, %s)")  # fmt: skip
    for key, pid, jid, cls, opened, ack_s, resolved_s, resolution in (
        ("i1", "P1", "D1", "fire", "2026-03-05T10:00", 60, 3600, "real_fire"),
        ("i2", "P2", "S1", "alarm", "2026-03-20T10:00", 120, 600, "false_alarm_cooking"),
        ("i3", "P1", "D1", "nuisance", "2026-07-01T10:00", None, 300, "false_alarm_dust"),
        ("i4", "P1", "D1", "trouble", "2026-07-02T10:00", 5, None, None),  # not an alarm
        ("i5", "P3", "D2", "fire", "2026-03-05T10:00", 10, 20, "real_fire"),  # out of scope
        ("i6", "P2", "S1", "alarm", "2026-12-31T23:00", None, None, None),  # open: no time to acknowledge
        ("i7", "P1", "D1", "alarm", "2025-12-31T23:59", 1, 2, "false_alarm_dust"),  # before the period
        ("i8", "P4", "D1", "hazard", "2026-12-20T10:00", None, 30 * 86_400, "fixed"),  # open at the end, closed after
    ):
        at = _at(opened)
        acked = at.fromtimestamp(at.timestamp() + ack_s, UTC) if ack_s is not None else None
        resolved = at.fromtimestamp(at.timestamp() + resolved_s, UTC) if resolved_s is not None else None
        state = "resolved" if resolved else "acknowledged" if acked else "open"
        x(incident, (key, pid, jid, cls, state, at, at, acked, resolved, resolution))
    signal = ("INSERT INTO signals (time, premises_id, device_id, rule, kind, state, subject, evidence) "
              "VALUES (%s, %s, %s, %s, 'trouble', %s, %s, %s)")  # fmt: skip
    for at, pid, did, rule, state, subject in (
        ("2026-06-01", "P2", "P2-SA1", "device_offline", "raised", ""),
        ("2026-06-02", "P2", "P2-SA1", "device_offline", "cleared", ""),
        ("2026-12-30", "P2", "P2-SA1", "device_offline", "raised", ""),  # offline at the end
        ("2027-01-05", "P4", "P4-SA2", "device_offline", "raised", ""),  # after the end
        ("2026-04-01", "P1", "P1-UITD", "component_fault", "raised", "1/2"),
        ("2026-04-03", "P1", "P1-UITD", "component_fault", "raised", "1/3"),
        ("2026-04-03", "P3", "P3-SA3", "component_fault", "raised", "x"),  # out of scope
    ):
        x(signal, (_at(at), pid, did, rule, state, subject, Jsonb({})))
    x("INSERT INTO notices (premises_id, tier, score, issued_at, unit_name, jurisdiction_id, text) "
      "VALUES ('P1', 'red', 80, %s, 'unit', 'D1', 'x')", (_at("2026-05-01"),))  # fmt: skip
    # enforcement: P1's case (in scope) with an order, a failed re-check, a seal-up and a fine in effect in
    # 2026, a pending stop and a refused fine (neither counts), and a 2027 penalty (after the end); P3's
    # order is out of scope
    case = (
        "INSERT INTO cases (number, premises_id, offence, circumstance, state, deadline, opened_at, opened_by, "
        "updated_at) VALUES (%s, %s, 'escape_routes_blocked', 'general', 'open', %s, %s, 'i', %s) RETURNING id"
    )
    step = ("INSERT INTO case_steps (case_id, kind, state, number, fine_yuan, proposed_at, proposed_by, decided_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'i', %s)")  # fmt: skip
    c1 = x(case, ("C1", "P1", _at("2026-03-15"), _at("2026-03-01"), _at("2026-03-01"))).fetchone()[0]  # type: ignore[index]
    c3 = x(case, ("C3", "P3", _at("2026-03-15"), _at("2026-03-01"), _at("2026-03-01"))).fetchone()[0]  # type: ignore[index]
    for case_id, kind, state, number, fine, at in (
        (c1, "order", "effective", "N1", None, "2026-03-01"),  # orders 1
        (c1, "recheck", "effective", "N2", None, "2026-03-20"),  # rechecks 1
        (c1, "seal_up", "effective", "N3", None, "2026-03-21"),  # seal_ups 1
        (c1, "penalty", "effective", "N4", 20_000, "2026-04-01"),  # penalties 1, fines 20,000
        (c1, "stop", "pending", None, None, None),
        (c1, "penalty", "rejected", None, 9_000, "2026-04-02"),
        (c1, "exemption", "effective", "N5", None, "2027-01-02"),  # after the end
        (c3, "order", "effective", "N6", None, "2026-03-01"),  # out of scope
    ):
        x(step, (case_id, kind, state, number, fine, _at("2026-03-01"), _at(at) if at else None))
    # a unit's self-check is no inspection: not counted
    x("INSERT INTO tasks (dedup_key, premises_id, kind, reason, due_at, created_at, state, done_at, result) "
      "VALUES ('self_check:P1:x', 'P1', 'self_check', 'self', %s, %s, 'done', %s, 'clean')",
      (_at("2026-05-01"), _at("2026-05-01"), _at("2026-05-01")))  # fmt: skip
    # credit: P4 listed watchlist in 2026, then untrustworthy; P1 listed in 2025 and repaired in 2026
    change = ("INSERT INTO credit_changes (premises_id, at, from_status, to_status, reason, actor) "
              "VALUES (%s, %s, %s, %s, %s, 'x')")  # fmt: skip
    for pid, at, old, new, why in (("P4", "2026-02-01", "normal", "watchlist", "penalty"),
                                    ("P4", "2026-03-21", "watchlist", "untrustworthy", "seal_up"),
                                    ("P1", "2025-06-01", "normal", "watchlist", "penalty"),
                                    ("P1", "2026-06-01", "watchlist", "normal", "repair"),
                                    ("P3", "2026-06-01", "normal", "watchlist", "penalty")):  # fmt: skip
        x(change, (pid, _at(at), old, new, why))


@pytest.fixture
def seeded(migrated_url: str, database_url: str) -> str:
    with connect(database_url) as conn:
        _seed(conn)
        conn.commit()
    return migrated_url


def test_figures_match_hand_counts_for_a_district_and_its_fire_station(seeded: str) -> None:
    with connect(seeded) as conn:
        f = compute(conn, PERIOD, "D1", NOW)
    t = f.tables
    assert f.jurisdictions == ["D1", "S1"]
    high_rise = {"category": "high_rise_residential", "red": 1, "orange": 0, "yellow": 0, "blue": 1, "unscored": 0}
    assert t["premises"].row("high_rise_residential") == high_rise | {"total": 2}
    assert t["premises"].row("commercial_complex")["orange"] == 1
    assert len(t["premises"].rows) == 2
    assert f.totals["premises"] == 3
    assert sorted(t["tier_moves"].rows) == [["blue", "orange", 1], ["yellow", "red", 1]]
    assert t["inspections"].rows == [
        ["cadence", 1, 1, 1, 0],
        ["draw", 1, 0, 0, 1],
        ["after_fire", 1, 1, 0, 0],
        ["recheck", 1, 1, 1, 0],
    ]
    assert t["hazards_by_source"].rows == [
        ["signal", 1, 1, 0, 0],
        ["checklist", 1, 0, 1, 1],
        ["self_report", 0, 0, 0, 0],
        ["false_alarms", 0, 1, 0, 0],
    ]
    assert {r[0] for r in t["hazards_by_rule"].rows} == {"low_sprinkler_pressure", "inspection_finding", "false_alarms"}
    assert dict(t["enforcement"].rows) == {"orders": 1, "rechecks": 1, "seal_ups": 1, "three_stops": 0, "penalties": 1,
                                           "no_penalty": 0, "fines_yuan": 20_000, "major_listed": 0,
                                           "major_closed": 0}  # fmt: skip
    assert t["credit"].rows == [["trustworthy", 1, 0, 0], ["normal", 1, 0, 0], ["watchlist", 0, 1, 1],
                                ["untrustworthy", 1, 1, 0]]  # fmt: skip
    assert t["notices"].rows == [["red", 1], ["orange", 0]]
    # live state at the end, before the tier: P2's open alarm (orange), P4's hazard closed only after the
    # end (blue), P1's open trouble (red; its fire was over in March)
    assert t["live"].rows == [["alarm", 0, 1, 0, 0, 0, 1], ["hazard", 0, 0, 0, 1, 0, 1], ["trouble", 1, 0, 0, 0, 0, 1]]

    totals = f.totals
    assert (totals["alarms"], totals["fires"], totals["resolved"], totals["false_alarms"]) == (4, 1, 3, 2)
    assert totals["false_alarm_share"] == pytest.approx(2 / 3)
    assert totals["ack_p50_s"] == pytest.approx(120)  # 60, 120, 300
    assert totals["ack_p90_s"] == pytest.approx(120 + 0.8 * 180)
    d1, s1 = t["alarms_by_jurisdiction"].row("D1"), t["alarms_by_jurisdiction"].row("S1")
    assert (d1["alarms"], d1["fires"], d1["resolved"], d1["false_alarms"]) == (2, 1, 2, 1)
    assert (d1["ack_p50_s"], d1["ack_p90_s"]) == (pytest.approx(180), pytest.approx(60 + 0.9 * 240))
    assert (s1["alarms"], s1["resolved"], s1["false_alarm_share"], s1["ack_p50_s"]) == (2, 1, 1.0, 120)
    months = t["alarms_by_month"]
    assert months.column("month") == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months.column("alarms") == [0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert months.row("2026-03")["false_alarm_share"] == 0.5
    assert months.row("2026-07")["false_alarm_share"] == 1.0
    assert months.row("2026-12")["false_alarm_share"] is None

    assert t["devices"].rows == [["smoke_alarm", 2, 1, 0.5], ["sprinkler_pressure", 1, 0, 0.0], ["uitd", 1, 0, 0.0]]
    assert t["faults_by_rule"].rows == [["component_fault", 2, 1], ["device_offline", 2, 1]]


def test_the_whole_city_counts_every_jurisdiction_and_a_period_in_its_time_zone(seeded: str) -> None:
    with connect(seeded) as conn:
        city = compute(conn, PERIOD, None, NOW)
        # in Shanghai (UTC+8) 2026 is 2025-12-31T16:00Z..2026-12-31T16:00Z: the alarm of 2025-12-31T23:59Z
        # counts (in January), the one of 2026-12-31T23:00Z does not
        shanghai = compute(conn, parse_period("2026", ZoneInfo("Asia/Shanghai")), None, NOW)
    assert city.totals["premises"] == 4
    assert city.totals["alarms"] == 5 and city.totals["fires"] == 2
    assert shanghai.totals["alarms"] == 5
    assert shanghai.tables["alarms_by_month"].row("2026-01")["alarms"] == 1
    assert shanghai.tables["alarms_by_month"].row("2026-12")["alarms"] == 0


def test_an_unknown_jurisdiction_is_named(seeded: str) -> None:
    with connect(seeded) as conn, pytest.raises(ReportError, match="no jurisdiction 'D9'"):
        compute(conn, PERIOD, "D9", NOW)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", "2026-01-01", "2027-01-01"),
        ("2026-Q4", "2026-10-01", "2027-01-01"),
        ("2026-02", "2026-02-01", "2026-03-01"),
        ("2026-01-01..2026-06-30", "2026-01-01", "2026-07-01"),
    ],
)
def test_periods(text: str, start: str, end: str) -> None:
    period = parse_period(text, ZoneInfo("UTC"))
    assert (period.start, period.end) == (_at(start), _at(end))


@pytest.mark.parametrize("text", ["26", "2026-Q5", "2026-13", "2026-06-30..2026-01-01", "last year"])
def test_a_bad_period_says_what_is_accepted(text: str) -> None:
    with pytest.raises(PeriodError, match=repr(text)):
        parse_period(text, ZoneInfo("UTC"))


def test_the_report_in_both_languages_has_charts_and_tables(seeded: str) -> None:
    with connect(seeded) as conn:
        figures = compute(conn, PERIOD, "D1", NOW)
    charts.PROBLEMS.clear()
    zh, en = Report(figures, "zh").html(), Report(figures, "en").html()
    assert "消防安全监督工作报告" in zh and "高层住宅" in zh and "较大风险" in zh
    assert "Fire safety supervision report" in en and "High-rise residential" in en
    assert "期末现时状态" in zh and "Live state at the period" in en and "Trouble" in en  # the live state
    assert charts.PROBLEMS == [], charts.PROBLEMS  # no chart label overlaps another or leaves its figure
    for html in (zh, en):
        assert html.count("<svg") == 7
        assert html.count("<table") == 13
        assert "66.7%" in html  # the false-alarm share
        assert "20,000" in html and "20000.0" not in html  # the fines, as money is written


def _used_down_to(page: Path) -> float:
    """How far down a rendered page its content goes, as a share of the height within the margins (the
    footer's page number not counted)."""
    image = Image.open(page).convert("L")
    width, height = image.size
    top, bottom = round(height * 18 / 297), round(height * (297 - 20) / 297)  # the @page margins, in mm
    pixels = image.load()
    assert pixels is not None
    lowest = max((y for y in range(top, bottom) if any(pixels[x, y] < 200 for x in range(width))), default=top)
    return (lowest - top) / (bottom - top)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (make test installs it)")
def test_firewarden_report_writes_html_and_a_pdf_that_opens(seeded: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env["FIREWARDEN_DATABASE_URL"] = seeded
    command = [sys.executable, "-m", "firewarden", "report", "--period", "2026", "--jurisdiction", "D1",
               "--timezone", "UTC", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    html, pdf = tmp_path / "report-D1-2026-zh.html", tmp_path / "report-D1-2026-zh.pdf"
    assert html.stat().st_size > 0 and pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    printed = text.split("\f")[: len(pages)]
    assert len(pages) >= 3 and all(p.stat().st_size > 1000 for p in pages)
    assert printed[0].strip().startswith("消防安全监督工作报告")
    chapters = ["一、监管场所与风险等级", "二、监督检查", "四、执法情况", "六、火警与接处警"]
    assert all(c in text for c in chapters)
    # A4 without holes: every page but the last is used below its middle (charts are drawn, not text, so
    # this reads the rendered pixels), and the first carries more than the title and the summary
    used = [_used_down_to(page) for page in pages]
    assert all(u > 0.5 for u in used[:-1]), f"a page more than half empty: {[round(u, 2) for u in used]}"
    assert "一、监管场所与风险等级" in printed[0]
    assert "66.7%" in text and "D1 name (D1)" in text and "高层住宅" in text

    # the pages as a reader sees them, beside the console's screenshots (docs/report.md shows them)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("report-page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(SHOTS / "report-page")], check=True, timeout=120)

    bad = subprocess.run([*command[:7], "D9"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "no jurisdiction 'D9'" in bad.stderr
