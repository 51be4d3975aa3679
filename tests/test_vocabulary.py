"""The shared vocabulary (core/vocabulary.json): every code the stages emit is named in both languages,
and every message template takes the same arguments in both."""

from __future__ import annotations

import re
from pathlib import Path

from core.domain import CATEGORIES, CREDIT_STATUSES, DEVICE_TYPES, METRICS
from core.policy import INCIDENT_CLASSES, load_policy
from core.words import label, render, vocabulary
from scoring.anomaly import _KINDS as ANOMALY_VERDICTS
from scoring.risk import COUNTS

ROOT = Path(__file__).resolve().parents[1]
_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


def test_both_languages_name_the_same_codes() -> None:
    words = vocabulary()
    assert set(words["zh"]) == set(words["en"])
    assert all(words["zh"][k].strip() and words["en"][k].strip() for k in words["zh"])


def test_every_code_the_stages_emit_has_a_name() -> None:
    words = vocabulary()["zh"]
    policy = load_policy(None)
    wanted = {
        *(f"category.{c}" for c in CATEGORIES),
        *(f"credit.{c}" for c in CREDIT_STATUSES),
        *(f"device_type.{t}" for t in DEVICE_TYPES),
        *(f"metric.{m}" for m in METRICS),
        *(f"class.{c}" for c in INCIDENT_CLASSES),
        *(f"tier.{t}" for t in ("red", "orange", "yellow", "blue", "unscored")),
        *(f"rule.{r.name}" for r in policy.rules),
        *(f"rule.{r}" for r in policy.schedule.hazards),
        *(f"rule.{r}" for r in ANOMALY_VERDICTS),
        *(f"rule.{g.impairment}" for g in policy.anomaly.gauges),
        "rule.sensor_stuck",
        "rule.sensor_drift",
        *(f"factor.{name}" for name in ("height_m", "occupancy", *COUNTS)),
        *(f"task_type.{k}" for k in ("inspection", "hazard", "draw")),
    }
    # the alarm reasons scoring writes, read from its source so a new one cannot be forgotten
    source = (ROOT / "scoring" / "verification.py").read_text()
    reasons = set(re.findall(r'"(manual_call_point|two_detectors|detector_and_flow|alarm_and_heat|test_window|'
                             r'false_alarm_history|one_detector|panel_reset|window_ended|quiet)"', source))  # fmt: skip
    assert len(reasons) == 10
    wanted |= {f"reason.{r}" for r in reasons}
    assert wanted - set(words) == set()


def test_every_message_the_alerts_stage_writes_has_a_template_with_the_same_fields_in_both_languages() -> None:
    words = vocabulary()
    used = set()
    for path in (ROOT / "alerts").rglob("*.py"):
        used |= set(re.findall(r'label\(\s*(?:f?")([a-z_.{}]+)"', path.read_text()))
    codes = {u.replace("{cls}", c) for u in used for c in ("fire", "alarm", "nuisance")} if used else set()
    assert {"incident.fire", "hazard.signal", "task.draw", "notice.tier"} <= codes
    for code in codes:
        zh, en = words["zh"][f"msg.{code}"], words["en"][f"msg.{code}"]

        # an argument named after a language (the item text of a checklist) is that language's
        def fields(template: str, own: str) -> list[tuple[str, str]]:
            return sorted(("text" if name == own else name, group) for name, group in _FIELD.findall(template))

        assert fields(zh, "zh") == fields(en, "en"), code


def test_a_label_renders_nested_codes_dates_and_lists_in_each_language() -> None:
    hazard = label("hazard.signal", rule="low_tank_level", device="P1-TL1")
    task = label("task.hazard", hazard=hazard, deadline="2026-12-01T00:00:00+00:00")
    assert render("en", task) == "hazard: Low tank level: P1-TL1, fix by 2026-12-01 00:00 UTC"
    assert render("zh", task) == "隐患复查：消防水箱液位偏低：P1-TL1，整改期限 2026-12-01 00:00 UTC"
    notice = label(
        "notice.tier", premises="X", tier="red", score=81, factors=["category=market", "fires_365d"], unit="U"
    )
    assert "主要风险因素：集贸市场、一年内火灾" in render("zh", notice)
    assert render("en", {"code": "no.such", "args": {"a": 1}}) == 'no.such {"a": 1}'
