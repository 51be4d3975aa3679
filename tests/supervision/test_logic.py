"""The supervision rules without I/O: the discretion table and its exemptions, what a case allows next
and who approves, credit listing and repair with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import SettingsError
from core.policy import CreditPolicy, EnforcementPolicy
from supervision import credit
from supervision.cases import NextUp, Step, check_decision, check_next, in_force, needs_approval, next_up
from supervision.discretion import CIRCUMSTANCES, decide, load, shipped
from supervision.errors import CaseError

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_shipped_table_has_a_range_for_every_circumstance_within_the_law() -> None:
    table = shipped()
    assert len(table.offences) >= 10
    for offence in table.offences:
        assert [offence.ranges[c][0] <= offence.ranges[c][1] for c in CIRCUMSTANCES] == [True] * 3
        assert offence.basis.startswith("《")
    exits = table.offence("escape_routes_blocked")
    assert exits is not None and exits.ranges["general"] == (10_000, 30_000)


def test_a_broken_table_names_each_problem_and_where(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "format: firewarden-discretion/1\nmeasures: {}\noffences:\n"
        "  - {id: a, zh: 甲, en: a, basis: b, first_offence_exempt: true, ranges: {light: [9, 1], general: [1, 2]}}\n"
        "  - {id: a, zh: 甲, en: a, basis: b, first_offence_exempt: true,"
        " ranges: {light: [1, 2], general: [1, 2], serious: [2, 3]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as caught:
        load(path)
    assert "offences.0: ranges: no range for serious" in str(caught.value)
    with pytest.raises(SettingsError, match="cannot be read"):
        load(tmp_path / "missing.yaml")


def test_self_reported_and_first_minor_offences_get_no_penalty() -> None:
    exits = shipped().offence("escape_routes_blocked")
    disabled = shipped().offence("facilities_disabled")
    assert exits is not None and disabled is not None
    assert decide(exits, "serious", self_reported=True, penalised_before=True).exemption == "self_reported"
    assert decide(exits, "light", self_reported=False, penalised_before=False).exemption == "first_offence"
    assert decide(exits, "light", self_reported=False, penalised_before=True).exemption is None
    assert decide(exits, "general", self_reported=False, penalised_before=False).exemption is None
    assert decide(disabled, "light", self_reported=False, penalised_before=False).exemption is None  # not exempt
    assert (decide(exits, "general", False, True).low, decide(exits, "general", False, True).high) == (10_000, 30_000)


def steps(*spec: tuple[str, str, dict[str, object]]) -> list[Step]:
    return [Step(n, kind, state, "inspector:li", detail=detail) for n, (kind, state, detail) in enumerate(spec, 1)]


def test_a_case_escalates_only_after_a_failed_recheck_and_closes_only_when_clear() -> None:
    opened = steps(("order", "effective", {}))
    for kind in ("seal_up", "stop", "close"):
        with pytest.raises(CaseError):
            check_next(kind, opened, True, {})
    check_next("recheck", opened, True, {})
    check_next("penalty", opened, True, {})
    failed = steps(("order", "effective", {}), ("recheck", "effective", {"passed": False}))
    check_next("seal_up", failed, True, {})
    sealed = steps(("order", "effective", {}), ("recheck", "effective", {"passed": False}),
                   ("seal_up", "effective", {}))  # fmt: skip
    assert [s.id for s in in_force(sealed)] == [3]
    with pytest.raises(CaseError, match="already in force"):
        check_next("seal_up", sealed, True, {})
    with pytest.raises(CaseError, match="after a re-check found the hazard corrected"):
        check_next("lift", sealed, True, {"measure": 3})
    passed = [*sealed, Step(4, "recheck", "effective", "inspector:li", detail={"passed": True})]
    with pytest.raises(CaseError, match="lift the seal-up"):
        check_next("close", passed, True, {})
    with pytest.raises(CaseError, match="not a seal-up or stop in force"):
        check_next("lift", passed, True, {"measure": 2})
    check_next("lift", passed, True, {"measure": 3})
    lifted = [*passed, Step(5, "lift", "effective", "inspector:li", detail={"measure": 3})]
    assert in_force(lifted) == []
    check_next("close", lifted, True, {})
    with pytest.raises(CaseError, match="closed"):
        check_next("recheck", lifted, False, {})
    with pytest.raises(CaseError, match="one rectification order"):
        check_next("order", lifted, True, {})


def test_one_penalty_decision_per_case_and_pending_steps_block_closing() -> None:
    fined = steps(("order", "effective", {}), ("penalty", "pending", {}), ("recheck", "effective", {"passed": True}))
    with pytest.raises(CaseError, match="already decided"):
        check_next("penalty", fined, True, {})
    with pytest.raises(CaseError, match="awaits approval"):
        check_next("close", fined, True, {})
    refused = steps(("order", "effective", {}), ("penalty", "rejected", {}))
    check_next("penalty", refused, True, {})  # a refused fine may be proposed again


def test_a_case_says_which_steps_it_allows_now_and_who_acts_next() -> None:
    """The console offers only these steps and says who acts: they are the ones check_next accepts."""
    opened = steps(("order", "effective", {}))
    assert next_up(opened, True) == NextUp(("recheck", "penalty"), (), "inspector", "recheck")
    failed = [*opened, Step(2, "recheck", "effective", "inspector:li", detail={"passed": False})]
    assert next_up(failed, True) == NextUp(("recheck", "seal_up", "stop", "penalty"), (), "inspector", "decision")
    proposed = [*failed, Step(3, "seal_up", "pending", "inspector:li")]
    assert next_up(proposed, True) == NextUp(("recheck", "stop", "penalty"), (), "admin", "approval", 3)
    sealed = [*failed, Step(3, "seal_up", "effective", "inspector:li")]
    passed = [*sealed, Step(4, "recheck", "effective", "inspector:li", detail={"passed": True})]
    assert next_up(passed, True) == NextUp(("recheck", "penalty", "lift"), (3,), "inspector", "lift")
    lifted = [*passed, Step(5, "lift", "effective", "inspector:li", detail={"measure": 3})]
    assert next_up(lifted, True) == NextUp(("recheck", "penalty", "close"), (), "inspector", "close")
    assert next_up(lifted, False) == NextUp((), (), None, "nothing")
    for case in (opened, failed, proposed, passed, lifted):
        for kind in next_up(case, True).steps:  # each offered step is accepted
            check_next(kind, case, True, {"measure": 3} if kind == "lift" else {})


def test_approval_thresholds_and_the_second_person() -> None:
    policy = EnforcementPolicy(approval_fine_yuan=10_000)
    assert needs_approval("seal_up", None, policy) and needs_approval("stop", None, policy)
    assert needs_approval("penalty", 10_000, policy) and not needs_approval("penalty", 9_999, policy)
    assert not needs_approval("recheck", None, policy)
    assert needs_approval("penalty", 1, EnforcementPolicy(approval_measures=("penalty",)))
    pending = Step(7, "seal_up", "pending", "inspector:li (token:tablet)")
    with pytest.raises(CaseError, match="a second person"):
        check_decision(pending, "li")
    check_decision(pending, "chen")
    with pytest.raises(CaseError, match="not awaiting approval"):
        check_decision(Step(7, "seal_up", "effective", "inspector:li"), "chen")


def test_credit_events_only_ever_worsen_it_and_repair_waits_for_a_clean_period() -> None:
    policy = CreditPolicy()
    assert credit.after_event("normal", "penalty", policy) == "watchlist"
    assert credit.after_event("watchlist", "seal_up", policy) == "untrustworthy"
    assert credit.after_event("untrustworthy", "penalty", policy) is None  # never improves it
    assert credit.after_event("trustworthy", "overdue_rectification", policy) == "watchlist"
    assert credit.repeated_major_hazards([T0, T0 + timedelta(days=200)], T0 + timedelta(days=300), policy)
    assert not credit.repeated_major_hazards([T0, T0 + timedelta(days=200)], T0 + timedelta(days=400), policy)
    record = credit.Record("watchlist", T0, open_cases=0, overdue_hazards=0)
    assert not credit.repair_due(record, T0 + timedelta(days=89), policy)
    assert credit.repair_due(record, T0 + timedelta(days=90), policy)
    assert not credit.repair_due(credit.Record("watchlist", T0, 1, 0), T0 + timedelta(days=400), policy)
    assert not credit.repair_due(credit.Record("watchlist", T0, 0, 1), T0 + timedelta(days=400), policy)
    assert not credit.repair_due(credit.Record("untrustworthy", T0, 0, 0), T0 + timedelta(days=364), policy)
    assert not credit.repair_due(credit.Record("normal", T0, 0, 0), T0 + timedelta(days=999), policy)
    assert policy.factor("untrustworthy") == 0.25 and policy.factor("normal") == 1.0
