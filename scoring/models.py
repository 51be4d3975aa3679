"""Saving and loading the trained models, each with its version and feature list.

A model file is a joblib pickle of a dict: ``kind`` (``anomaly`` or ``risk``), ``version``,
``features``, ``trained_at``, ``summary`` (training figures) and ``model``. Pickles run code when
loaded: load only model files you (or ``firewarden model train``) wrote.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import joblib  # type: ignore[import-untyped]

from core.errors import FirewardenError
from scoring.anomaly import FEATURES, AnomalyModel
from scoring.risk import COLUMNS, RiskModel

ANOMALY_FILE: Final = "anomaly.joblib"
RISK_FILE: Final = "risk.joblib"


class ModelError(FirewardenError):
    """A model file is missing, unreadable or of the wrong kind."""


@dataclass(frozen=True)
class Models:
    risk: RiskModel
    anomaly: AnomalyModel | None = None


def new_version(kind: str, payload: bytes) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{hashlib.sha256(payload).hexdigest()[:8]}"


def save(directory: Path, kind: str, model: AnomalyModel | RiskModel, summary: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (ANOMALY_FILE if kind == "anomaly" else RISK_FILE)
    document = {
        "kind": kind,
        "version": model.version,
        "features": list(FEATURES if kind == "anomaly" else COLUMNS),
        "trained_at": datetime.now(UTC).isoformat(),
        "summary": summary,
        "model": model,
    }
    buffer = io.BytesIO()
    joblib.dump(document, buffer)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)  # a reader never sees half a file
    return path


def load(path: Path, kind: str) -> dict[str, Any]:
    try:
        document = joblib.load(path)
    except FileNotFoundError:
        raise ModelError(f"no {kind} model at {path}: run `firewarden model train`") from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError, AttributeError, ImportError) as error:
        raise ModelError(f"{path} is not a readable model file: {error}") from None
    if not isinstance(document, dict) or document.get("kind") != kind:
        raise ModelError(f"{path} is not a {kind} model file")
    expected = list(FEATURES if kind == "anomaly" else COLUMNS)
    if document.get("features") != expected:
        raise ModelError(
            f"{path} was trained on features {document.get('features')}, this version uses {expected}: retrain it"
        )
    return document


def load_models(directory: Path) -> Models:
    risk = load(directory / RISK_FILE, "risk")["model"]
    anomaly_path = directory / ANOMALY_FILE
    anomaly = load(anomaly_path, "anomaly")["model"] if anomaly_path.exists() else None
    return Models(risk, anomaly)
