"""Small scoring models, trained once per session from simulated data, for every test that scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.models import Models, save
from training.models import train_anomaly, train_risk


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    risk, risk_summary = train_risk(premises=1500, seed=3)
    save(directory, "risk", risk, risk_summary)
    anomaly, anomaly_summary = train_anomaly(premises=6, hours=12, seed=4)
    save(directory, "anomaly", anomaly, anomaly_summary)
    return directory


@pytest.fixture(scope="session")
def models(models_dir: Path) -> Models:
    from scoring.models import load_models

    return load_models(models_dir)
