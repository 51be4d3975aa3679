"""The closed loop: the risk model retrained on what happened, kept only when it ranks better.

``firewarden model retrain`` (once, or ``--loop`` as a process) reads the recorded premises-periods
(:func:`training.store.recorded_periods`: what the model read at each period's first score, and whether
an incident followed), splits them by time, fits a challenger on the older part and judges it and the
model in use on the newest part (``[risk.retrain] held_out_share``), which neither was fitted on. The
challenger is activated only when its held-out AUC beats the model in use by ``margin_auc``: written
to the model directory, where every scoring process picks it up within ``model_reload_s``. Either way
the decision is audited with both figures: ``model.activated`` or ``model.refused``. The model it
replaced is kept in ``<model dir>/history/``; ``firewarden model rollback`` puts it back
(``model.rolled_back``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, cast

from core.db import audit as audit_log
from core.db import connect, database_errors
from core.errors import SettingsError
from core.policy import RetrainPolicy
from scoring import ANOMALY_FILE, RISK_FILE, SHIPPED, Models, load, new_version, save
from training.fitting import fit_risk, risk_auc
from training.store import RecordedPeriod, audited, recorded_periods

ACTOR: Final = "system:retrain"
HISTORY: Final = "history"
"""The model directory's subdirectory of replaced risk models, ``<UTC time>-<version>.json``."""
DECISIONS: Final = ("model.activated", "model.refused", "model.rolled_back")

Outcome = Literal["activated", "refused"]


@dataclass(frozen=True, slots=True)
class Retrained:
    """What a retrain decided and on what figures."""

    outcome: Outcome
    reason: str
    in_use: str
    challenger: str | None
    in_use_auc: float | None
    challenger_auc: float | None
    margin_auc: float
    trained_on: int
    held_out: int
    held_out_incidents: int

    def details(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class ModelDecision:
    """One audited model decision (:func:`history`)."""

    at: datetime
    actor: str
    action: str
    details: dict[str, object]


def due(url: str, policy: RetrainPolicy, now: datetime) -> datetime | None:
    """When the next scheduled retrain is due (None: never, ``every_days`` is 0): ``every_days`` after the
    last one decided (activated or refused), or now when none was."""
    if policy.every_days <= 0:
        return None
    with database_errors("reading the last retrain"), connect(url) as conn:
        row = conn.execute(
            "SELECT max(at) FROM audit_log WHERE actor = %s AND action IN ('model.activated', 'model.refused')",
            (ACTOR,),
        ).fetchone()
    last = cast(datetime | None, row[0] if row else None)
    return now if last is None else last + timedelta(days=policy.every_days)


def retrain(url: str, model_dir: Path, in_use: Models, policy: RetrainPolicy, now: datetime) -> Retrained:
    """Fit a challenger on the recorded outcomes, judge it and ``in_use`` on the newest periods, activate
    it when it is better by the margin, and audit the decision either way."""
    periods = recorded_periods(url, policy.horizon_days, now=now, limit=policy.max_periods)
    cut = len(periods) - max(1, round(len(periods) * policy.held_out_share))
    train, held_out = periods[:cut], periods[cut:]
    incidents = sum(p.incident for p in train)

    def decided(outcome: Outcome, reason: str, challenger: str | None = None, ours: float | None = None,
                theirs: float | None = None) -> Retrained:  # fmt: skip
        return Retrained(outcome, reason, in_use.risk.version, challenger, ours, theirs, policy.margin_auc,
                         len(train), len(held_out), sum(p.incident for p in held_out))  # fmt: skip

    short = _too_few(train, "training", policy.min_outcomes) or _too_few(held_out, "held-out", policy.min_outcomes)
    if short:
        result = decided("refused", short)
        _audit(url, now, "model.refused", result.details())
        return result
    version = new_version("risk", {"source": "retrain", "at": now.isoformat(), "periods": len(train),
                                   "incidents": incidents})  # fmt: skip
    challenger, _ = fit_risk(version, [p.inputs for p in train], [p.incident for p in train])
    rows, labels = [p.inputs for p in held_out], [p.incident for p in held_out]
    theirs, ours = risk_auc(challenger, rows, labels), risk_auc(in_use.risk, rows, labels)
    if theirs < ours + policy.margin_auc:
        reason = f"held-out AUC {theirs:.4f} against {ours:.4f} in use: not better by {policy.margin_auc:g}"
        result = decided("refused", reason, version, ours, theirs)
        _audit(url, now, "model.refused", result.details())
        return result
    reason = f"held-out AUC {theirs:.4f} against {ours:.4f} in use: better by {theirs - ours:.4f}"
    result = decided("activated", reason, version, ours, theirs)
    summary = {"source": "retrain", "periods": len(train), "incidents": incidents, "held_out": len(held_out),
               "auc_held_out": round(theirs, 4), "replaced": in_use.risk.version,
               "replaced_auc_held_out": round(ours, 4)}  # fmt: skip
    _keep_replaced(model_dir, in_use, now)
    save(model_dir, "risk", challenger, summary)
    _audit(url, now, "model.activated", result.details() | {"risk": version, "anomaly": _anomaly(in_use)})
    return result


def rollback(url: str, model_dir: Path, now: datetime, actor: str, to: str | None = None) -> tuple[str, str]:
    """Put a replaced risk model back: ``to`` (a version kept in history), or the one replaced last.
    The model it replaces is kept in history too. Returns (from version, to version); audited as
    ``model.rolled_back``. Raises SettingsError when there is nothing to roll back to."""
    kept = sorted((model_dir / HISTORY).glob("*.json"))
    if to is not None:
        kept = [k for k in kept if k.stem.split("-", 1)[1] == to]
    if not kept:
        wanted = f"risk model {to}" if to else "replaced risk model"
        raise SettingsError(f"nothing to roll back to: no {wanted} is kept in {model_dir / HISTORY}")
    chosen = kept[-1]
    back = load(chosen, "risk").version
    current = load(model_dir / RISK_FILE, "risk").version if (model_dir / RISK_FILE).exists() else None
    if current is not None:
        _archive(model_dir, model_dir / RISK_FILE, current, now)
    tmp = model_dir / f".{RISK_FILE}.rollback.tmp"
    shutil.copyfile(chosen, tmp)
    tmp.replace(model_dir / RISK_FILE)
    chosen.unlink()
    _audit(url, now, "model.rolled_back", {"from": current, "to": back, "risk": back}, actor)
    return current or "none", back


def history(url: str, limit: int = 50) -> list[ModelDecision]:
    """The model decisions audited, newest first: retrains activated or refused, rollbacks, and each
    scoring process switching models (``model.activated`` by ``system:score`` / ``system:up``)."""
    return [ModelDecision(**row) for row in audited(url, DECISIONS, limit)]


def _too_few(periods: Sequence[RecordedPeriod], part: str, least: int) -> str | None:
    incidents = sum(p.incident for p in periods)
    if incidents < least or len(periods) - incidents < least:
        return (
            f"too few recorded outcomes in the {part} part: {incidents} periods with an incident and "
            f"{len(periods) - incidents} without (at least {least} of each)"
        )
    return None


def _anomaly(models: Models) -> str | None:
    return models.anomaly.version if models.anomaly else None


def _keep_replaced(model_dir: Path, in_use: Models, now: datetime) -> None:
    """Keep the risk model being replaced in history; a directory scoring never used (the shipped
    defaults in use) first gets the shipped anomaly model, so that activating a risk model there does
    not leave scoring without one."""
    current = model_dir / RISK_FILE
    if current.exists():
        _archive(model_dir, current, load(current, "risk").version, now)
        return
    model_dir.mkdir(parents=True, exist_ok=True)
    _archive(model_dir, SHIPPED / RISK_FILE, in_use.risk.version, now)
    if not (model_dir / ANOMALY_FILE).exists() and (SHIPPED / ANOMALY_FILE).exists():
        shutil.copyfile(SHIPPED / ANOMALY_FILE, model_dir / ANOMALY_FILE)


def _archive(model_dir: Path, path: Path, version: str, now: datetime) -> None:
    kept = model_dir / HISTORY
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, kept / f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{version}.json")


def _audit(url: str, now: datetime, action: str, details: dict[str, object], actor: str = ACTOR) -> None:
    with database_errors("auditing the model decision"), connect(url) as conn, conn.cursor() as cur:
        audit_log.record(cur, now, actor, action, "risk", **details)
        conn.commit()
