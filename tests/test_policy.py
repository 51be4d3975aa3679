"""The policy file: defaults, overrides, and errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import SettingsError
from core.policy import Policy, load_policy


def test_defaults_carry_the_standards_numbers() -> None:
    policy = load_policy(None)
    rules = {r.name: r for r in policy.rules}
    sprinkler = rules["low_sprinkler_pressure"]
    assert (sprinkler.limit, sprinkler.min_duration_s, sprinkler.direction) == (0.05, 600, "below")
    repeated = rules["residual_current_repeated"]
    assert (repeated.repeats, repeated.repeat_window_s, repeated.setpoint) == (3, 86_400, "residual_current_ma")
    assert policy.verification.window_s == 180
    assert policy.devices.offline_after_intervals == 3


def test_a_file_overrides_what_it_names_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        """
[verification]
window_s = 60

[[rules]]
name = "low_tank"
kind = "hazard_candidate"
metric = "tank_level_m"
direction = "below"
limit = 1.5
min_duration_s = 300
""",
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert policy.verification.window_s == 60
    assert policy.verification.heat_fixed_c == Policy().verification.heat_fixed_c
    assert [r.name for r in policy.rules] == ["low_tank"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[verification]\nwindow = 60\n", "verification.window: Extra inputs are not permitted"),
        ('[[rules]]\nname = "x"\nkind = "hazard_candidate"\nmetric = "pressure"\ndirection = "below"\nlimit = 1\n',
         "unknown metric 'pressure'"),
        ("[risk]\nred = 10\norange = 20\n", "tier floors must fall red > orange > yellow"),
        ("[devices]\noffline_after_intervals = 0\n", "devices.offline_after_intervals"),
        ("not toml at all [", "cannot be read as TOML"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=str(path)) as info:
        load_policy(path)
    assert message in str(info.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_action_plans_replace_a_class_and_keep_the_others(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[[action_plans.alarm]]\nid = "call"\nzh = "电话核实"\nen = "Phone and check"\nnote_required = true\n',
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert [(s.id, s.zh, s.note_required) for s in policy.action_plans["alarm"]] == [("call", "电话核实", True)]
    assert policy.action_plans["fire"] == Policy().action_plans["fire"]
    assert all(any(s.note_required for s in steps) for steps in Policy().action_plans.values())


def test_action_plan_errors_are_named(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    step = '[[action_plans.fire]]\nid = "call"\nzh = "电话"\nen = "Phone"\n'
    path.write_text(step + step, encoding="utf-8")
    with pytest.raises(SettingsError, match=r"action_plans\.fire: step ids must be unique"):
        load_policy(path)
    path.write_text('[[action_plans.fire]]\nid = "call"\nen = "Phone"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"action_plans\.fire\.0\.zh"):
        load_policy(path)


def test_a_tier_section_keeps_the_defaults_of_the_fields_it_leaves_out_and_the_supervision_sections_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        "[schedule.tiers.red]\nself_check_every_days = 2\n\n"
        "[credit]\nrepair_after_days = { watchlist = 30 }\ncadence_factor = { untrustworthy = 0.5 }\n\n"
        '[enforcement]\napproval_fine_yuan = 50000\ndocument_prefix = "穗消"\n',
        encoding="utf-8",
    )
    policy = load_policy(path)
    red = policy.schedule.tiers["red"]
    assert (red.self_check_every_days, red.every_days, red.first_within_days, red.warning_notice) == (2, 7, 1, True)
    assert policy.credit.repair_after_days == {"watchlist": 30}
    assert policy.credit.factor("untrustworthy") == 0.5 and policy.credit.factor("watchlist") == 1.0
    assert (policy.enforcement.approval_fine_yuan, policy.enforcement.document_prefix) == (50_000, "穗消")
    path.write_text('[credit]\nlisting = { penalty = "bad" }\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"credit\.listing\.penalty"):
        load_policy(path)
