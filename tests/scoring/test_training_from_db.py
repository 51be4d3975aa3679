"""Retraining the risk model on outcomes recorded in PostgreSQL (``firewarden model train --from-db``)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from core.db import connect
from scoring.errors import ModelError
from scoring.risk import RiskInputs
from training.models import train_risk_from_db
from training.store import recorded_examples

LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def _record(url: str, premises: int, seed: int) -> set[str]:
    """Backdated risk scores; the untrustworthy premises get a confirmed fire 30 days later."""
    rng = random.Random(seed)
    burnt = set()
    with connect(url, autocommit=True) as conn:
        for n in range(premises):
            pid = f"P-{n:04d}"
            bad = rng.random() < 0.4
            inputs = RiskInputs(
                "market" if bad else "school_training",
                12.0,
                300,
                "untrustworthy" if bad else "trustworthy",
                active_faults=rng.randint(2, 5) if bad else rng.randint(0, 1),
            )
            conn.execute(
                "INSERT INTO risk_scores VALUES (%s, 1, %s, 10, 'blue', NULL, '[]', 'risk-test', %s)",
                (pid, LONG_AGO, Jsonb(dataclasses.asdict(inputs))),
            )
            if bad:
                burnt.add(pid)
                conn.execute(
                    "INSERT INTO alarms VALUES (%s, 1, %s, %s, '1F', 'confirmed', 'test', 't', %s, false, '[]')",
                    (f"{pid}-D:1", LONG_AGO + timedelta(days=30), pid, LONG_AGO + timedelta(days=30)),
                )
    return burnt


def test_recorded_outcomes_train_a_model_that_ranks_them(migrated_url: str) -> None:
    burnt = _record(migrated_url, 200, seed=1)
    rows, labels = recorded_examples(migrated_url)
    assert len(rows) == 200 and sum(labels) == len(burnt)
    model, summary = train_risk_from_db(migrated_url)
    assert summary["periods"] == 200 and summary["incidents"] == len(burnt)
    assert summary["auc_held_out"] > 0.9  # the outcome follows the inputs exactly here
    assert model.version.startswith("risk-") and summary["source"] == "database"


def test_too_few_recorded_outcomes_are_refused(migrated_url: str) -> None:
    _record(migrated_url, 10, seed=2)
    with pytest.raises(ModelError, match="not enough recorded outcomes"):
        train_risk_from_db(migrated_url)
