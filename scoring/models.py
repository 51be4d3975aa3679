"""The models scoring runs with: where they come from, their files, and picking up new ones.

A model file is JSON (``risk.json``, ``anomaly.json``): ``format``, ``kind``, ``version``,
``features`` (the columns it was fitted on, checked against this version's), ``trained_at``,
``summary`` (how it was trained and what it scored) and ``parameters`` (plain numbers, see
:meth:`scoring.risk.RiskModel.parameters` and :meth:`scoring.anomaly.AnomalyModel.parameters`).
Loading one runs no code, unlike a pickle.

Where a process takes its models from (:func:`open_models`):

1. the model directory (``model_dir``, default ``<data_dir>/models``) when it holds ``risk.json``;
2. otherwise, when ``model_dir`` is not set, the defaults shipped with Firewarden
   (``scoring/defaults/``, made by ``make models``: small models trained on simulated data);
3. otherwise a :class:`ModelError` naming ``firewarden model train``.

``firewarden model train`` writes the directory; a running process notices (:class:`ModelWatch`)
and switches to the new models without a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from core.settings import Settings
from scoring.anomaly import FEATURES, AnomalyModel
from scoring.errors import ModelError
from scoring.risk import COLUMNS, RiskModel

log = logging.getLogger(__name__)

FORMAT: Final = 1
RISK_FILE: Final = "risk.json"
ANOMALY_FILE: Final = "anomaly.json"
SHIPPED: Final = Path(__file__).parent / "defaults"
"""The default models shipped as package data."""
TRAIN: Final = "`firewarden model train`"


@dataclass(frozen=True)
class Models:
    risk: RiskModel
    anomaly: AnomalyModel | None = None
    source: str = "memory"
    """Where they were loaded from: a directory, or ``shipped defaults``."""

    def versions(self) -> dict[str, str | None]:
        return {"risk": self.risk.version, "anomaly": self.anomaly.version if self.anomaly else None}


def _features(kind: str) -> list[str]:
    return list(FEATURES if kind == "anomaly" else COLUMNS)


def new_version(kind: str, recipe: object) -> str:
    """A version name for a model trained now: the kind, the time, and a hash of how it was trained."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]
    return f"{kind}-{stamp}-{digest}"


def document(
    kind: str, model: AnomalyModel | RiskModel, summary: Mapping[str, object], trained_at: str | None
) -> dict[str, object]:
    """A model file's content."""
    return {
        "format": FORMAT,
        "kind": kind,
        "version": model.version,
        "features": _features(kind),
        "trained_at": trained_at,
        "summary": summary,
        "parameters": model.parameters(),
    }


def save(
    directory: Path,
    kind: str,
    model: AnomalyModel | RiskModel,
    summary: Mapping[str, object],
    *,
    trained_at: str | None = None,
) -> Path:
    """Write a model file; ``trained_at`` defaults to now. A reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (ANOMALY_FILE if kind == "anomaly" else RISK_FILE)
    stamp = trained_at if trained_at is not None else datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps(document(kind, model, summary, stamp), indent=1, ensure_ascii=False) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class ModelFile:
    """What a model file holds, with the model built from its parameters."""

    version: str
    features: list[str]
    trained_at: str
    summary: dict[str, object]
    model: RiskModel | AnomalyModel


def load(path: Path, kind: str) -> ModelFile:
    """A model file, checked and its model built. Raises ModelError saying what to do."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no {kind} model at {path}: run {TRAIN} to make one") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelError(f"{path} is not a readable model file ({error}): run {TRAIN} to make a new one") from None
    if not isinstance(document, dict) or document.get("kind") != kind:
        raise ModelError(f"{path} is not a {kind} model file")
    if document.get("format") != FORMAT:
        raise ModelError(
            f"{path} is a model file of format {document.get('format')!r}, this version reads format {FORMAT}: "
            f"run {TRAIN} to make a new one"
        )
    expected = _features(kind)
    if document.get("features") != expected:
        raise ModelError(
            f"{path} was trained on features {document.get('features')}, this version uses {expected}: "
            f"run {TRAIN} to retrain it"
        )
    version = str(document.get("version"))
    try:
        parameters = document["parameters"]
        model = (
            RiskModel.from_parameters(version, parameters)
            if kind == "risk"
            else AnomalyModel.from_parameters(version, parameters)
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelError(
            f"{path} holds malformed {kind} parameters ({error!r}): run {TRAIN} to make a new one"
        ) from None
    return ModelFile(version, expected, str(document.get("trained_at")), dict(document.get("summary") or {}), model)


def load_models(directory: Path, source: str | None = None) -> Models:
    """The models in ``directory``: a risk model, and an anomaly model when there is one."""
    risk = load(directory / RISK_FILE, "risk").model
    anomaly_path = directory / ANOMALY_FILE
    anomaly = load(anomaly_path, "anomaly").model if anomaly_path.exists() else None
    assert isinstance(risk, RiskModel) and (anomaly is None or isinstance(anomaly, AnomalyModel))
    return Models(risk, anomaly, source or str(directory))


def shipped_models() -> Models:
    return load_models(SHIPPED, "shipped defaults")


def open_models(directory: Path, *, explicit: bool) -> Models:
    """The models a process runs with (see the module docstring). ``explicit``: the directory was set
    by the operator (``model_dir``), so that an empty one is an error rather than the defaults."""
    if (directory / RISK_FILE).exists():
        return load_models(directory)
    old = sorted(p.name for p in directory.glob("*.joblib")) if directory.is_dir() else []
    if old:
        raise ModelError(
            f"{directory} holds model files of an earlier format ({', '.join(old)}) that this version does not "
            f"read: run {TRAIN} to make new ones, or delete them to use the shipped defaults"
        )
    if explicit:
        raise ModelError(
            f"no risk model in the model directory {directory} (model_dir): run {TRAIN} to make one, "
            "or leave model_dir unset to use the shipped defaults"
        )
    log.info("no trained models in %s: scoring with the shipped defaults", directory)
    return shipped_models()


class ModelWatch:
    """Notices new model files in a directory and loads them: :meth:`poll` returns the new models
    once, when the files changed and load; an unloadable change is logged and the models in use stay."""

    def __init__(self, directory: Path, models: Models) -> None:
        self.directory = directory
        self.models = models
        self._stamp = self._read_stamp()

    def _read_stamp(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for name in (RISK_FILE, ANOMALY_FILE):
            try:
                st = (self.directory / name).stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    def poll(self) -> Models | None:
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        if stamp[0] is None:
            log.warning(
                "the risk model left %s: scoring keeps the models it has (%s)", self.directory, self.models.source
            )
            return None
        try:
            models = load_models(self.directory)
        except ModelError as error:
            log.error("new model files in %s are not used: %s", self.directory, error)
            return None
        if models.versions() == self.models.versions():
            return None
        log.info("models changed: %s → %s", self.models.versions(), models.versions())
        self.models = models
        return models


def models_for(settings: Settings) -> Models:
    """:func:`open_models` for a process's settings."""
    return open_models(settings.models_path, explicit=settings.model_dir is not None)
