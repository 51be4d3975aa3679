"""Inspection checklists per premises category: the shipped set, its validation, and visits recorded
against it on real PostgreSQL (a failed item opens a hazard with its severity's deadline; a new
version never rewrites a past result)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import yaml
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from alerts import checklists
from alerts.checklists import Check
from alerts.errors import ActionError, ChecklistError
from alerts.store import checklists as checklist_store
from alerts.store.desk import Desk
from alerts.store.inspections import record_result
from core.domain import CATEGORIES
from tests.alerts.conftest import at, open_inspection


def _document() -> dict[str, Any]:
    return checklists.shipped().model_dump(mode="json")


def test_the_shipped_set_covers_every_category_and_cites_a_source_for_every_item() -> None:
    shipped = checklists.shipped()
    for category in CATEGORIES:
        assert len(shipped.for_category(category)) >= 14, category
    assert all(i.source in shipped.sources and i.basis and i.zh and i.en for i in shipped.items)
    assert {i.severity for i in shipped.items} == {"major", "general"}
    exits = shipped.item("exits_clear")
    assert exits is not None and exits.severity == "major" and "第二十八条" in exits.basis


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["items"].append(dict(d["items"][0])), "items[34]: id 'exits_clear' appears twice"),
        (lambda d: d["items"][2].update(source="nowhere"), "items[2] (exit_signs_lit): source 'nowhere'"),
        (lambda d: d["items"][3].update(categories=["castle"]), "items.3.categories"),
        (lambda d: d["items"][0].update(severity="grave"), "items.0.severity"),
        (lambda d: d.pop("severities"), "severities: Field required"),
    ],
)
def test_a_bad_set_is_refused_saying_where(change: Any, message: str) -> None:
    document = _document()
    change(document)
    with pytest.raises(ChecklistError, match=re.escape(message)):
        checklists.parse(document)


def test_not_yaml_is_refused_naming_the_file() -> None:
    with pytest.raises(ChecklistError, match=re.escape("mine.yaml: not YAML or JSON")):
        checklists.load_text("items: [unclosed", "mine.yaml")


def _rows(pool: ConnectionPool, query: str, *params: Any) -> list[dict[str, Any]]:
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def test_a_failed_item_opens_a_hazard_due_by_its_severity_and_results_keep_their_version(
    pool: ConnectionPool, desk: Desk
) -> None:
    task = open_inspection(pool)
    checks = [
        Check(item="exits_clear", result="fail", note="stair B locked"),  # major: 3 days
        Check(item="extinguishers_valid", result="fail"),  # general: 15 days
        Check(item="exit_signs_lit", result="pass"),
        Check(item="refuge_floor_free", result="na"),
    ]
    record_result(desk, task, "inspector:I-GRID", [], at(100), checks)

    hazards = _rows(pool, "SELECT source, rule, deadline, label, title FROM hazards ORDER BY deadline")
    assert [(h["source"], h["rule"], h["deadline"]) for h in hazards] == [
        (f"task:{task}:item:exits_clear", "checklist_item", at(100) + timedelta(days=3)),
        (f"task:{task}:item:extinguishers_valid", "checklist_item", at(100) + timedelta(days=15)),
    ]
    assert hazards[0]["label"]["code"] == "hazard.checklist" and hazards[0]["label"]["args"]["note"] == "stair B locked"
    assert hazards[0]["title"].startswith("Failed check: Escape routes and exits are clear")
    recorded = _rows(pool, "SELECT item_id, version, result, hazard_id, text_zh FROM task_checks ORDER BY item_id")
    assert [(r["item_id"], r["version"], r["result"], r["hazard_id"] is not None) for r in recorded] == [
        ("exit_signs_lit", 1, "pass", False),
        ("exits_clear", 1, "fail", True),
        ("extinguishers_valid", 1, "fail", True),
        ("refuge_floor_free", 1, "na", False),
    ]
    assert _rows(pool, "SELECT result FROM tasks WHERE id = %s", task) == [{"result": "findings"}]

    # an admin rewrites an item: version 2 is in use, the visit keeps version 1 and its text
    document = _document()
    document["items"][0]["zh"] = "疏散通道畅通（新版）"
    with desk.cursor() as cur:
        assert checklist_store.install(cur, checklists.parse(document), "admin:chen", at(200)) == 2
        assert checklist_store.current(cur, at(300)).checklists.items[0].zh == "疏散通道畅通（新版）"
    kept = _rows(pool, "SELECT version, text_zh FROM task_checks WHERE item_id = 'exits_clear'")
    assert kept == [{"version": 1, "text_zh": recorded[1]["text_zh"]}] and "新版" not in kept[0]["text_zh"]
    trail = _rows(pool, "SELECT actor, action, subject FROM audit_log WHERE action = 'checklists.replaced'")
    assert trail == [{"actor": "admin:chen", "action": "checklists.replaced", "subject": "checklists:2"}]


def test_an_item_not_of_the_premises_category_or_checked_twice_refuses_the_visit(
    pool: ConnectionPool, desk: Desk
) -> None:
    task = open_inspection(pool)
    with pytest.raises(ActionError, match=r"item 'battery_cabins' is not in the checklist for high_rise_residential"):
        record_result(desk, task, "inspector:I-GRID", [], at(100), [Check(item="battery_cabins", result="pass")])
    twice = [Check(item="exits_clear", result="pass"), Check(item="exits_clear", result="fail")]
    with pytest.raises(ActionError, match="checked twice"):
        record_result(desk, task, "inspector:I-GRID", [], at(100), twice)
    assert _rows(pool, "SELECT state FROM tasks WHERE id = %s", task) == [{"state": "open"}]
    assert _rows(pool, "SELECT count(*) AS n FROM task_checks") == [{"n": 0}]


def test_the_shipped_file_round_trips_through_export() -> None:
    text = checklists.dump(checklists.shipped())
    assert checklists.parse(yaml.safe_load(text)) == checklists.shipped()
