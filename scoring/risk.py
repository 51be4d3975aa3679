"""Premises risk: a calibrated probability of an incident in the next 90 days, as a score and a tier.

Inputs (:class:`RiskInputs`) are the static profile, the live signals of the premises and its
history. The model is a logistic regression over them, calibrated with isotonic regression
(scikit-learn), trained on simulated history with ground truth (``firewarden model train``). The
score is 100 times the calibrated probability; tiers come from the policy's floors with hysteresis on the
way down. Each score carries its top factors: how many points the score would lose if that input
were at the fleet's average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Final

import numpy as np
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from core.domain import CATEGORIES, CREDIT_STATUSES
from core.policy import RiskPolicy
from scoring.records import Factor, Tier

ELECTRICAL_RULES: Final = frozenset(
    {"residual_current", "residual_current_repeated", "cable_over_temperature", "unusual_electrical"}
)
WATER_RULES: Final = frozenset({"low_sprinkler_pressure", "low_hydrant_pressure", "low_tank_level"})


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """What the risk model reads of one premises at one moment. Counts are of active signals."""

    category: str
    height_m: float
    occupancy: int
    credit_status: str
    active_faults: int = 0
    offline_share: float = 0.0
    supervisory_open: int = 0
    electrical_abnormal: int = 0
    low_water: int = 0
    other_hazards: int = 0
    false_alarms_30d: int = 0
    hazards_90d: int = 0
    fires_365d: int = 0


COUNTS: Final = tuple(f.name for f in fields(RiskInputs))[4:]
"""The live and history inputs, in order (also the keys of simulated history's ``observed``)."""

COLUMNS: Final = (
    *(f"category={c}" for c in CATEGORIES),
    *(f"credit={c}" for c in CREDIT_STATUSES),
    "height_m",
    "occupancy",
    *COUNTS,
)
"""The feature vector's columns, in :func:`features`' order (saved with the model, checked on load)."""

# Factor name → the columns it owns: a one-hot group counts as one factor.
_GROUPS: Final[dict[str, list[int]]] = {}
for _index, _column in enumerate(COLUMNS):
    _GROUPS.setdefault(_column.split("=")[0], []).append(_index)


def features(inputs: RiskInputs) -> list[float]:
    row = [1.0 if inputs.category == c else 0.0 for c in CATEGORIES]
    row += [1.0 if inputs.credit_status == c else 0.0 for c in CREDIT_STATUSES]
    row += [math.log1p(inputs.height_m), math.log1p(inputs.occupancy)]
    row += [math.log1p(float(getattr(inputs, name))) for name in COUNTS]
    return row


class RiskModel:
    def __init__(self, version: str, classifier: CalibratedClassifierCV, baseline: np.ndarray) -> None:
        self.version = version
        self.classifier = classifier
        self.baseline = baseline

    @classmethod
    def fit(cls, version: str, rows: Sequence[RiskInputs], labels: Sequence[bool]) -> RiskModel:
        x = np.asarray([features(r) for r in rows])
        base = LogisticRegression(C=1.0, max_iter=2000)
        classifier = CalibratedClassifierCV(base, method="isotonic", cv=5)
        classifier.fit(x, np.asarray(labels, dtype=int))
        return cls(version, classifier, x.mean(axis=0))

    def probabilities(self, rows: Sequence[RiskInputs]) -> np.ndarray:
        result: np.ndarray = self.classifier.predict_proba(np.asarray([features(r) for r in rows]))[:, 1]
        return result

    @cached_property
    def _folds(self) -> list[tuple[np.ndarray, float, np.ndarray, np.ndarray]]:
        """Each calibrated fold as (coefficients, intercept, isotonic x, isotonic y)."""
        folds = []
        for fold in self.classifier.calibrated_classifiers_:
            [isotonic] = fold.calibrators
            coef, intercept = fold.estimator.coef_[0], float(fold.estimator.intercept_[0])
            folds.append((coef, intercept, isotonic.X_thresholds_, isotonic.y_thresholds_))
        return folds

    def positive(self, x: np.ndarray) -> np.ndarray:
        """The classifier's probability of the positive class for rows ``x``, evaluated by hand.

        The same arithmetic as scikit-learn's ``predict_proba`` (each fold's logistic decision,
        mapped through its isotonic calibration, clipped at the ends, averaged over folds) without its
        input validation, which costs ~2 ms a call: a storm of signals rescores a premises each time.
        A test keeps the two equal.
        """
        total = np.zeros(len(x))
        for coef, intercept, xs, ys in self._folds:
            total += np.interp(x @ coef + intercept, xs, ys)
        result: np.ndarray = total / len(self._folds)
        return result

    def auc(self, rows: Sequence[RiskInputs], labels: Sequence[bool]) -> float:
        return float(roc_auc_score(np.asarray(labels, dtype=int), self.probabilities(rows)))

    def score(self, inputs: RiskInputs, top: int) -> tuple[float, tuple[Factor, ...]]:
        """(score 0-100, the ``top`` factors that add the most points) for one premises."""
        row = np.asarray(features(inputs))
        variants = [row]
        for columns in _GROUPS.values():
            variant = row.copy()
            variant[columns] = self.baseline[columns]
            variants.append(variant)
        p = self.positive(np.asarray(variants)) * 100
        score = float(p[0])
        factors = []
        for name, without in zip(_GROUPS, p[1:], strict=True):
            points = score - float(without)
            if points > 0.05:
                factors.append(_factor(inputs, name, points))
        factors.sort(key=lambda f: -f.points)
        return round(score, 2), tuple(factors[:top])


def _factor(inputs: RiskInputs, name: str, points: float) -> Factor:
    if name == "category":
        return Factor(f"category={inputs.category}", 1.0, round(points, 2))
    if name == "credit":
        return Factor(f"credit={inputs.credit_status}", 1.0, round(points, 2))
    return Factor(name, float(getattr(inputs, name)), round(points, 2))


def tier_of(score: float, policy: RiskPolicy, current: Tier | None = None) -> Tier:
    """The tier for ``score``; from ``current``, a premises moves down only ``hysteresis`` below a floor."""
    floors: list[tuple[Tier, float]] = [("red", policy.red), ("orange", policy.orange), ("yellow", policy.yellow)]
    plain: Tier = next((tier for tier, floor in floors if score >= floor), "blue")
    if current is None or _rank(plain) >= _rank(current):
        return plain
    held: Tier = next((tier for tier, floor in floors if score + policy.hysteresis >= floor), "blue")
    return held if _rank(held) <= _rank(current) else current


def _rank(tier: Tier) -> int:
    return {"blue": 0, "yellow": 1, "orange": 2, "red": 3}[tier]
