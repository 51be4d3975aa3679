"""The risk model's supervision inputs: what inspections, hazards, enforcement cases and the unit's
self-checks recorded at a premises, over the year before scoring's clock (in memory), and as
:func:`scoring.store.load_sites` reads them from PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from core.db import connect
from core.policy import Policy
from core.registry import import_registry
from scoring import COUNTS, SHARES, RiskInputs, load_sites
from scoring.site import Supervised, SupervisionInputs
from simulators import generate_fleet

DAY = 86_400.0
NOW = 1_800_000_000.0


def test_the_supervision_inputs_are_risk_inputs() -> None:
    names = set(SupervisionInputs.__annotations__)
    assert names <= set(COUNTS)
    assert {n for n in names if n.endswith("_share")} <= SHARES
    RiskInputs("market", 10.0, 100, "normal", **Supervised().at(NOW))  # every name is a field


def test_only_the_year_before_the_clock_counts() -> None:
    record = Supervised(
        visits=((NOW - 400 * DAY, 10, 10), (NOW - 100 * DAY, 1, 20), (NOW - 10 * DAY, 3, 20), (NOW + DAY, 20, 20)),
        hazards=(
            (NOW - 500 * DAY, NOW - 499 * DAY),  # a year and more ago
            (NOW - 50 * DAY, NOW - 49 * DAY),  # went past its deadline
            (NOW - 20 * DAY, None),  # closed in time
            (NOW - 5 * DAY, NOW + DAY),  # past its deadline only later: not yet known now
            (NOW + 5 * DAY, None),  # not yet due
        ),
        cases=(NOW - 370 * DAY, NOW - 30 * DAY, NOW - 2 * DAY, NOW + 1),
    )
    inputs = record.at(NOW)
    assert inputs["inspection_fail_share"] == pytest.approx(4 / 40)
    assert inputs["hazard_overdue_share"] == pytest.approx(1 / 3)
    assert inputs["cases_365d"] == 2
    assert Supervised().at(NOW) == {
        "inspection_fail_share": 0.0,
        "hazard_overdue_share": 0.0,
        "cases_365d": 0,
        "self_check_overdue_share": 0.0,
    }


@pytest.mark.parametrize(
    ("watched_days_ago", "checks_days_ago", "share"),
    [
        (None, (), 0.0),  # never scored: nothing is due yet
        (20, (), 0.0),  # the first self-check is due 30 days after the watch began
        (100, (), 70 / 100),  # due since day 30 of 100
        (100, (75, 45, 15), 0.0),  # every one in time
        (100, (60,), (10 + 30) / 100),  # 10 days late; the next was due 30 days ago
        (500, (), (365 - 0) / 365),  # overdue for the whole year looked at
        (500, (200,), (165 + 170) / 365),  # overdue until 200 days ago, due again 170 days ago
    ],
)
def test_the_self_check_is_overdue_for_a_share_of_the_year(
    watched_days_ago: float | None, checks_days_ago: tuple[float, ...], share: float
) -> None:
    record = Supervised(
        self_checks=tuple(NOW - d * DAY for d in sorted(checks_days_ago, reverse=True)),
        watched_since=None if watched_days_ago is None else NOW - watched_days_ago * DAY,
        self_check_every_s=30 * DAY,
    )
    assert record.at(NOW)["self_check_overdue_share"] == pytest.approx(share)


def test_load_sites_reads_each_premises_supervision_record(migrated_url: str) -> None:
    fleet = generate_fleet(3, seed=4)
    watched, quiet, never = (p.id for p in fleet.premises)
    now = datetime.now(UTC).replace(microsecond=0)

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    with connect(migrated_url) as conn:
        import_registry(conn, fleet, source="supervision test")
        conn.execute("INSERT INTO checklists VALUES (1, %s, 'test', %s)", (ago(400), Jsonb({})))
        for pid, first in ((watched, ago(100)), (quiet, ago(10))):
            conn.execute(
                "INSERT INTO risk_scores VALUES (%s, 1, %s, 10, 'blue', NULL, '[]', 'risk-test', '{}')", (pid, first)
            )
            conn.execute("INSERT INTO premises_schedule VALUES (%s, 'blue', %s, 10, NULL)", (pid, first))
        visit = conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, kind, reason, due_at, created_at, state, done_at) "
            "VALUES ('v', %s, 'inspection', 'visit', %s, %s, 'done', %s) RETURNING id",
            (watched, ago(41), ago(41), ago(40)),
        ).fetchone()
        assert visit is not None
        for n, result in enumerate(["fail", "pass", "pass", "pass", "na"]):
            conn.execute(
                "INSERT INTO task_checks (task_id, item_id, version, text_zh, text_en, basis, severity, result, "
                "recorded_at, recorded_by) VALUES (%s, %s, 1, '', '', '', 'major', %s, %s, 'inspector:I-1')",
                (visit[0], f"item-{n}", result, ago(40)),
            )
        for n, (deadline, overdue) in enumerate([(ago(60), ago(59)), (ago(30), None), (ago(800), ago(799))]):
            conn.execute(
                "INSERT INTO hazards (premises_id, source, rule, title, state, opened_at, deadline, unit_name, "
                "signal_active, overdue_at) VALUES (%s, %s, 'r', 't', 'closed', %s, %s, 'u', false, %s)",
                (watched, f"s-{n}", deadline - timedelta(days=7), deadline, overdue),
            )
        conn.execute(
            "INSERT INTO cases (number, premises_id, offence, circumstance, state, deadline, opened_at, opened_by, "
            "updated_at) VALUES ('C-1', %s, 'o', 'c', 'open', %s, %s, 'inspector:I-1', %s)",
            (watched, ago(-10), ago(20), ago(20)),
        )
        conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, kind, reason, due_at, created_at, state, done_at) "
            "VALUES ('s', %s, 'self_check', 'self-check', %s, %s, 'done', %s)",
            (watched, ago(50), ago(50), ago(50)),
        )
        conn.commit()

    sites = load_sites(migrated_url, Policy())
    every = Policy().self_check_every_days("blue", next(p.credit_status for p in fleet.premises if p.id == watched))
    site = sites.get(watched)
    assert site is not None
    inputs = site.supervised.at(now.timestamp())
    late_days = 2 * max(0.0, 50 - every)  # first due 100 - every days ago, done 50 ago, due again 50 - every ago
    assert inputs == pytest.approx(
        {
            "inspection_fail_share": 1 / 4,  # "na" is no result
            "hazard_overdue_share": 1 / 2,  # the one due 800 days ago is not read
            "cases_365d": 1,
            "self_check_overdue_share": late_days / 100,
        }
    )
    quiet_site, never_site = sites.get(quiet), sites.get(never)
    assert quiet_site is not None and never_site is not None
    quiet_every = quiet_site.supervised.self_check_every_s / DAY
    assert quiet_site.supervised.at(now.timestamp())["self_check_overdue_share"] == pytest.approx(
        max(0.0, 10 - quiet_every) / 10
    )
    assert never_site.supervised == Supervised(self_check_every_s=never_site.supervised.self_check_every_s)

    elsewhere = Policy.model_validate({"risk": {"self_checks_recorded": False}})
    kept_elsewhere = load_sites(migrated_url, elsewhere).get(watched)
    assert kept_elsewhere is not None
    assert kept_elsewhere.supervised.at(now.timestamp())["self_check_overdue_share"] == 0.0
    assert kept_elsewhere.supervised.at(now.timestamp())["cases_365d"] == 1  # the rest is read as before
