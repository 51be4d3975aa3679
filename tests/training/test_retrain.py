"""The closed loop end to end, on a real PostgreSQL: recorded outcomes become labels, the scheduled retrain
judges a challenger against the model in use on the newest periods, refuses a worse one, activates a
better one, audits both with their figures, and a rollback puts the replaced model back."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from core.policy import RetrainPolicy
from scoring import RISK_FILE, SHARES, load
from scoring.models import open_models, shipped_models
from simulators import simulate_history
from training.retrain import ACTOR, HISTORY, due, history, retrain, rollback

NOW = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = RetrainPolicy()


def _record_history(url: str, premises: int, seed: int) -> list[tuple[str, datetime, dict[str, object]]]:
    """Simulated premises-periods as scoring would have stored them (each period's first risk score,
    100 to 400 days ago), and each incident as a confirmed fire alarm within the period."""
    periods = simulate_history(premises, seed)
    stored = []
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for n, period in enumerate(periods):
            p = period.premises
            start = NOW - timedelta(days=400) + timedelta(days=300 * n / len(periods))
            inputs = {"category": p.category, "height_m": p.height_m or 0.0, "occupancy": p.occupancy or 0,
                      "credit_status": p.credit_status,
                      **{k: (v if k in SHARES else int(v)) for k, v in period.observed.items()}}  # fmt: skip
            pid = f"{p.id}-{seed}"
            cur.execute(
                "INSERT INTO risk_scores (premises_id, revision, time, score, tier, previous_tier, factors, "
                "model_version, inputs) VALUES (%s, 1, %s, 10, 'blue', NULL, '[]', 'test', %s)",
                (pid, start, json.dumps(inputs)),
            )
            if period.incident:
                cur.execute(
                    "INSERT INTO alarms (alarm_id, revision, time, premises_id, zone, classification, reason, "
                    "trigger, opened_at, final, evidence) VALUES (%s, 1, %s, %s, '1F', 'confirmed', 'test', "
                    "'test', %s, true, '[]')",
                    (f"{pid}:A", start + timedelta(days=10), pid, start + timedelta(days=10)),
                )
            stored.append((pid, start, inputs))
    return stored


def _inspection_campaign(url: str, stored: list[tuple[str, datetime, dict[str, object]]], credit: str) -> int:
    """A week of inspections that found hazards at every premises of one credit status, each within its
    period: outcomes the model in use never expected. Returns how many were recorded."""
    found = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for pid, start, inputs in stored:
            if inputs["credit_status"] != credit:
                continue
            at = start + timedelta(days=30)
            cur.execute(
                "INSERT INTO hazards (premises_id, source, rule, title, state, opened_at, deadline, unit_name, "
                "signal_active, closed_at) VALUES (%s, %s, 'inspection_finding', 'exit blocked', 'closed', %s, "
                "%s, 'unit', false, %s)",
                (pid, f"task:{found}", at, at + timedelta(days=30), at + timedelta(days=20)),
            )
            found += 1
    return found


def test_the_loop_refuses_a_challenger_no_better_then_activates_one_the_outcomes_call_for(
    migrated_url: str, tmp_path: Path
) -> None:
    shipped = shipped_models()
    stored = _record_history(migrated_url, 3000, 41)
    assert due(migrated_url, POLICY, NOW) == NOW  # never retrained: due at once

    # outcomes drawn as the shipped model expects: a challenger fitted on them ranks no better by the margin
    first = retrain(migrated_url, tmp_path, shipped, POLICY, NOW)
    assert first.outcome == "refused", first
    assert first.challenger_auc is not None and first.in_use_auc is not None
    assert first.challenger_auc < first.in_use_auc + POLICY.margin_auc
    assert not (tmp_path / RISK_FILE).exists()  # nothing activated: the shipped model stays in use
    assert due(migrated_url, POLICY, NOW) == NOW + timedelta(days=POLICY.every_days)

    # a week later: inspections found hazards at the premises rated trustworthy; the labels change
    assert _inspection_campaign(migrated_url, stored, "trustworthy") > 100
    later = NOW + timedelta(days=7)
    assert due(migrated_url, POLICY, later) <= later
    second = retrain(migrated_url, tmp_path, shipped, POLICY, later)
    assert second.outcome == "activated", second
    assert second.challenger_auc is not None and second.in_use_auc is not None
    assert second.challenger_auc >= second.in_use_auc + POLICY.margin_auc
    assert second.held_out_incidents > first.held_out_incidents  # the hazards found became labels
    assert second.challenger != first.challenger
    now_in_use = open_models(tmp_path, explicit=True)  # what every scoring process reloads
    assert now_in_use.risk.version == second.challenger
    assert now_in_use.anomaly is not None and now_in_use.anomaly.version == shipped.anomaly.version  # type: ignore[union-attr]
    assert [p.name.split("-", 1)[1] for p in (tmp_path / HISTORY).glob("*.json")] == [f"{shipped.risk.version}.json"]

    # both decisions audited with both figures; the model history shows them, newest first
    decisions = [e for e in history(migrated_url) if e.actor == ACTOR]
    assert [e.action for e in decisions] == ["model.activated", "model.refused"]
    for entry, result in zip(decisions, (second, first), strict=True):
        d = entry.details
        assert d["in_use_auc"] == pytest.approx(result.in_use_auc, abs=1e-4)
        assert d["challenger_auc"] == pytest.approx(result.challenger_auc, abs=1e-4)
        assert d["in_use"] == shipped.risk.version and d["margin_auc"] == POLICY.margin_auc
    assert decisions[0].details["risk"] == second.challenger

    # a rollback puts the replaced model back, keeps the challenger, and is audited
    replaced, back = rollback(migrated_url, tmp_path, later, "admin:test")
    assert (replaced, back) == (second.challenger, shipped.risk.version)
    assert load(tmp_path / RISK_FILE, "risk").version == shipped.risk.version
    (newest, *_) = history(migrated_url)
    assert newest.action == "model.rolled_back" and newest.actor == "admin:test"
    assert newest.details == {"from": second.challenger, "to": shipped.risk.version, "risk": shipped.risk.version}
    rollback(migrated_url, tmp_path, later, "admin:test", to=second.challenger)  # and forward again
    assert load(tmp_path / RISK_FILE, "risk").version == second.challenger


def test_too_few_outcomes_are_refused_with_the_reason(migrated_url: str, tmp_path: Path) -> None:
    _record_history(migrated_url, 60, 5)
    result = retrain(migrated_url, tmp_path, shipped_models(), POLICY, NOW)
    assert result.outcome == "refused" and "too few recorded outcomes" in result.reason
    assert result.challenger is None and not (tmp_path / RISK_FILE).exists()
    (entry,) = history(migrated_url)
    assert entry.action == "model.refused" and entry.details["reason"] == result.reason
    assert set(asdict(result)) <= set(entry.details)


def test_nothing_to_roll_back_to_is_a_clear_error(migrated_url: str, tmp_path: Path) -> None:
    from core.errors import SettingsError

    with pytest.raises(SettingsError, match="nothing to roll back to: no replaced risk model is kept"):
        rollback(migrated_url, tmp_path, NOW, "admin:test")


def test_the_cli_retrains_when_due_and_says_when_it_is_next_due(migrated_url: str, tmp_path: Path) -> None:
    _record_history(migrated_url, 60, 5)
    env = {"FIREWARDEN_DATABASE_URL": migrated_url, "FIREWARDEN_DATA_DIR": str(tmp_path)}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "firewarden", "model", *args], env=env | _base_env(), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    done = run("retrain")
    assert done.returncode == 0, done.stderr
    assert "refused: too few recorded outcomes" in done.stdout
    again = run("retrain")
    assert again.returncode == 0 and "not due: next at" in again.stdout
    shown = run("history")
    assert shown.returncode == 0 and "model.refused" in shown.stdout and ACTOR in shown.stdout


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
