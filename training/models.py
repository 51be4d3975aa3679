"""Training the models: ``firewarden model train`` (simulated data, or ``--from-db`` recorded outcomes).

- anomaly: feature windows of every device's metrics over simulated normal operation (no scenario);
- risk: simulated premises history with ground truth (:mod:`simulators.history`), held-out
  premises scored for the AUC in the model's summary.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from core.domain import DEVICE_TYPES
from core.policy import AnomalyPolicy
from ingest import Reading
from scoring import COUNTS, SHARES, AnomalyModel, ModelError, RiskInputs, RiskModel, Window, advance, new_version
from simulators import PremisesPeriod, Simulation, generate_fleet, simulate_history
from training.fitting import fit_anomaly, fit_risk, risk_auc
from training.replay import simulated_records
from training.store import recorded_examples

START = 1_767_571_200.0  # 2026-01-05 00:00 UTC: a Monday, as the simulators' default roster


def risk_examples(periods: Sequence[PremisesPeriod]) -> tuple[list[RiskInputs], list[bool]]:
    rows = []
    for period in periods:
        p = period.premises
        counts = {name: period.observed[name] for name in COUNTS}
        rows.append(
            RiskInputs(
                category=p.category,
                height_m=p.height_m or 0.0,
                occupancy=p.occupancy or 0,
                credit_status=p.credit_status,
                **{k: (v if k in SHARES else int(v)) for k, v in counts.items()},  # type: ignore[arg-type]
            )
        )
    return rows, [period.incident for period in periods]


def train_risk(premises: int = 6000, seed: int = 11, version: str | None = None) -> tuple[RiskModel, dict[str, object]]:
    """A risk model from ``premises`` simulated premises-periods; a quarter of the premises held out.
    ``version`` defaults to a new one (:func:`scoring.models.new_version`)."""
    rows, labels = risk_examples(simulate_history(premises, seed))
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = len(order) * 3 // 4
    train, test = order[:cut], order[cut:]
    version = version or new_version("risk", {"premises": premises, "seed": seed})
    model, _ = fit_risk(version, [rows[i] for i in train], [labels[i] for i in train])
    auc = risk_auc(model, [rows[i] for i in test], [labels[i] for i in test])
    summary: dict[str, object] = {
        "premises": premises,
        "seed": seed,
        "held_out": len(test),
        "incident_rate": round(sum(labels) / len(labels), 4),
        "auc_held_out": round(auc, 4),
    }
    return model, summary


def anomaly_windows(
    premises: int, hours: float, seed: int, policy: AnomalyPolicy
) -> dict[str, list[tuple[float, float, float]]]:
    """Feature windows of every device's metrics over ``hours`` of normal operation."""
    registry = generate_fleet(premises, seed)
    sim = Simulation(registry, seed=seed, start=START, duration=hours * 3600)
    intervals = {d.id: float(d.expected_interval_s or DEVICE_TYPES[d.type].default_interval_s)
                 for d in registry.devices}  # fmt: skip
    windows: dict[tuple[str, str], Window] = defaultdict(Window)
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for _, records in simulated_records(registry, sim):
        for r in records:
            if isinstance(r, Reading):
                w = windows[(r.device_id, r.metric)]
                features = advance(w, r.time.timestamp(), r.value, intervals[r.device_id], policy)
                if features is not None:
                    rows[r.metric].append(features)
    return rows


def train_anomaly(
    premises: int = 60,
    hours: float = 72,
    seed: int = 5,
    policy: AnomalyPolicy | None = None,
    version: str | None = None,
) -> tuple[AnomalyModel, dict[str, object]]:
    """An anomaly model from ``hours`` of ``premises`` simulated in normal operation."""
    rows = anomaly_windows(premises, hours, seed, policy or AnomalyPolicy())
    version = version or new_version("anomaly", {"premises": premises, "hours": hours, "seed": seed})
    model, skipped = fit_anomaly(version, rows)
    summary = {
        "premises": premises,
        "hours": hours,
        "seed": seed,
        "windows": {metric: len(r) for metric, r in sorted(rows.items())},
        "metrics_modelled": sorted(model.metrics),
        "metrics_skipped": skipped,
    }
    return model, summary


def train_risk_from_db(url: str, *, horizon_days: float = 90, seed: int = 11) -> tuple[RiskModel, dict[str, object]]:
    """A risk model retrained on recorded outcomes. Raises ModelError when too few are recorded."""
    rows, labels = recorded_examples(url, horizon_days)
    positives = sum(labels)
    if positives < 20 or len(labels) - positives < 20:
        raise ModelError(
            f"not enough recorded outcomes to train on: {positives} periods with an incident and "
            f"{len(labels) - positives} without (at least 20 of each, periods of {horizon_days:g} days)"
        )
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = len(order) * 3 // 4
    version = new_version("risk", {"periods": len(rows), "incidents": positives, "seed": seed})
    model, _ = fit_risk(version, [rows[i] for i in order[:cut]], [labels[i] for i in order[:cut]])
    auc = risk_auc(model, [rows[i] for i in order[cut:]], [labels[i] for i in order[cut:]])
    return model, {"source": "database", "periods": len(rows), "incidents": positives, "auc_held_out": round(auc, 4)}
