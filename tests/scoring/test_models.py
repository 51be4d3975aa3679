"""Where scoring's models come from, clear errors for bad ones, and new ones picked up while running."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.db import connect
from core.policy import Policy
from scoring.engine import Engine
from scoring.models import (
    ANOMALY_FILE,
    RISK_FILE,
    SHIPPED,
    ModelError,
    Models,
    ModelWatch,
    open_models,
    save,
    shipped_models,
)
from scoring.reload import ModelReload
from scoring.risk import RiskModel
from scoring.scorer import Scorer
from scoring.site import Sites


def _copy_shipped(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in (RISK_FILE, ANOMALY_FILE):
        (directory / name).write_text((SHIPPED / name).read_text())


def test_an_empty_default_directory_means_the_shipped_defaults(tmp_path: Path) -> None:
    models = open_models(tmp_path / "models", explicit=False)
    assert models.source == "shipped defaults"
    assert models.versions() == shipped_models().versions()


def test_an_empty_directory_the_operator_named_is_an_error_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no risk model in the model directory .*run `firewarden model train`"):
        open_models(tmp_path, explicit=True)


def test_model_files_of_the_old_pickle_format_are_an_error_naming_the_command(tmp_path: Path) -> None:
    (tmp_path / "risk.joblib").write_bytes(b"\x80\x04old")
    with pytest.raises(ModelError, match=r"earlier format \(risk.joblib\).*`firewarden model train`"):
        open_models(tmp_path, explicit=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=0), "format 0, this version reads format 1"),
        (lambda d: d.update(features=["a", "b"]), "trained on features"),
        (lambda d: d["parameters"]["folds"][0].update(coef=[1.0, 2.0]), "malformed risk parameters"),
        (lambda d: d["parameters"].pop("baseline"), "malformed risk parameters"),
        (lambda d: d.update(kind="anomaly"), "is not a risk model file"),
    ],
)
def test_an_incompatible_risk_file_is_refused_with_what_is_wrong(tmp_path: Path, change: object, message: str) -> None:
    _copy_shipped(tmp_path)
    document = json.loads((tmp_path / RISK_FILE).read_text())
    change(document)  # type: ignore[operator]
    (tmp_path / RISK_FILE).write_text(json.dumps(document))
    with pytest.raises(ModelError, match=message) as caught:
        open_models(tmp_path, explicit=True)
    assert str(tmp_path / RISK_FILE) in str(caught.value)


def test_a_directory_with_models_is_used_and_round_trips(tmp_path: Path, models: Models) -> None:
    save(tmp_path, "risk", models.risk, {"n": 1})
    assert models.anomaly is not None
    save(tmp_path, "anomaly", models.anomaly, {})
    loaded = open_models(tmp_path, explicit=True)
    assert loaded.versions() == models.versions() and loaded.source == str(tmp_path)
    assert loaded.risk.parameters() == models.risk.parameters()
    assert loaded.anomaly is not None and loaded.anomaly.parameters() == models.anomaly.parameters()


def test_the_watch_loads_changed_files_once_and_keeps_the_old_models_on_a_bad_file(tmp_path: Path) -> None:
    first = open_models(tmp_path, explicit=False)
    watch = ModelWatch(tmp_path, first)
    assert watch.poll() is None  # nothing there, nothing changed
    shipped = shipped_models()
    retrained = RiskModel("risk-retrained", shipped.risk.folds, shipped.risk.baseline)
    save(tmp_path, "risk", retrained, {})
    new = watch.poll()
    assert new is not None and new.risk.version == "risk-retrained" and new.anomaly is None
    assert watch.poll() is None  # once
    (tmp_path / RISK_FILE).write_text("{ half a file")
    assert watch.poll() is None
    assert watch.models.risk.version == "risk-retrained"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reload_switches_the_engine_and_audits_the_new_models(migrated_url: str, tmp_path: Path) -> None:
    models = open_models(tmp_path, explicit=False)
    engine = Engine(Scorer(Policy(), Sites({}), models))
    clock = FakeClock()
    reload = ModelReload(engine, ModelWatch(tmp_path, models), migrated_url, "system:test", 10.0, clock)
    shipped = shipped_models()
    save(tmp_path, "risk", RiskModel("risk-retrained", shipped.risk.folds, shipped.risk.baseline), {})
    assert shipped.anomaly is not None
    save(tmp_path, "anomaly", shipped.anomaly, {})
    assert asyncio.run(reload.check()) is None  # not yet time to look
    clock.now += 10
    switched = asyncio.run(reload.check())
    assert switched is not None and engine.scorer.models is switched
    assert engine.scorer.models.risk.version == "risk-retrained"
    with connect(migrated_url) as conn:
        rows = conn.execute(
            "SELECT actor, details FROM audit_log WHERE action = 'model.activated' ORDER BY id"
        ).fetchall()
    assert [(a, d["risk"], d["source"]) for a, d in rows] == [("system:test", "risk-retrained", str(tmp_path))]  # type: ignore[index]
