"""The models shipped in scoring/defaults/ are what `make models` makes: retrained here and compared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scoring.models import ANOMALY_FILE, RISK_FILE, SHIPPED, shipped_models
from training.defaults import RECIPE, version, write_defaults


def _numbers(value: object, path: str = "") -> list[tuple[str, float]]:
    """Every number in a JSON document, with where it is."""
    if isinstance(value, dict):
        return [n for key in sorted(value) for n in _numbers(value[key], f"{path}.{key}")]
    if isinstance(value, list):
        return [n for i, item in enumerate(value) for n in _numbers(item, f"{path}[{i}]")]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [(path, float(value))]


def _skeleton(value: object) -> object:
    """The document with every number replaced by 0: its structure and strings."""
    if isinstance(value, dict):
        return {key: _skeleton(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_skeleton(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return 0


def test_the_shipped_defaults_load_with_their_recipes_versions() -> None:
    models = shipped_models()
    assert models.source == "shipped defaults"
    assert models.versions() == {"risk": version("risk"), "anomaly": version("anomaly")}
    assert models.anomaly is not None and len(models.anomaly.metrics) >= 10


@pytest.mark.slow
def test_retraining_the_defaults_reproduces_the_shipped_files(tmp_path: Path) -> None:
    write_defaults(tmp_path)
    for name in (RISK_FILE, ANOMALY_FILE):
        shipped = json.loads((SHIPPED / name).read_text())
        made = json.loads((tmp_path / name).read_text())
        assert _skeleton(made) == _skeleton(shipped), f"{name}: run `make models` and commit the result"
        (paths, expected), (_, got) = zip(*_numbers(shipped), strict=True), zip(*_numbers(made), strict=True)
        # The same recipe on another BLAS may differ in the last bits; no more.
        close = np.isclose(np.asarray(got), np.asarray(expected), rtol=1e-7, atol=1e-10)
        assert close.all(), f"{name}: differ at {[p for p, ok in zip(paths, close, strict=True) if not ok][:5]}"
    assert json.loads((tmp_path / RISK_FILE).read_text())["summary"]["premises"] == RECIPE["risk"]["premises"]
