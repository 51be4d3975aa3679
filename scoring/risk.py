"""Premises risk: a calibrated probability of an incident in the next 90 days, as a score and a tier.

Inputs (:class:`RiskInputs`) are the static profile, the live signals of the premises, its history,
and what the fire authority's own work found there (inspections, hazards left past their deadline,
enforcement cases). The model is a logistic regression over them, calibrated with isotonic regression
(fitted with scikit-learn by :mod:`training`, on simulated history with ground truth or on recorded
outcomes; here only its parameters are evaluated, see ``firewarden model train``). The
score is 100 times the calibrated probability; tiers come from the policy's floors with hysteresis on the
way down. Each score carries its top factors: how many points the score would lose if that input
were at the fleet's average.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Final

import numpy as np

from core.domain import CATEGORIES, CREDIT_STATUSES
from core.policy import RiskPolicy
from scoring.records import Factor, IfClosed, Tier

ELECTRICAL_RULES: Final = frozenset(
    {"residual_current", "residual_current_repeated", "cable_over_temperature", "unusual_electrical"}
)
WATER_RULES: Final = frozenset(
    {"low_sprinkler_pressure", "low_hydrant_pressure", "low_tank_level", "pressure_not_restored", "tank_not_refilling"}
)


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
    inspection_fail_share: float = 0.0
    """Of the checklist items recorded at the premises' inspections in the last year, the share failed."""
    hazard_overdue_share: float = 0.0
    """Of the premises' hazards whose deadline fell in the last year, the share not closed by it."""
    cases_365d: int = 0
    """Enforcement cases opened against the premises in the last year."""
    self_check_overdue_share: float = 0.0
    """The share of the last year in which the unit's own self-check was overdue."""


COUNTS: Final = tuple(f.name for f in fields(RiskInputs))[4:]
"""The live and history inputs, in order (also the keys of simulated history's ``observed``)."""
SHARES: Final = frozenset(
    {"offline_share", "inspection_fail_share", "hazard_overdue_share", "self_check_overdue_share"}
)
"""The inputs of :data:`COUNTS` that are shares (0-1), not counts."""

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


@dataclass(frozen=True)
class Fold:
    """One calibrated fold: a logistic decision ``x @ coef + intercept`` mapped through an isotonic
    calibration (the step function through ``xs`` → ``ys``, flat past both ends)."""

    coef: np.ndarray
    intercept: float
    xs: np.ndarray
    ys: np.ndarray


class RiskModel:
    """The fitted model as plain parameters: the probability is the mean over folds of each fold's
    calibrated logistic decision (what scikit-learn's ``CalibratedClassifierCV.predict_proba``
    computes; :mod:`training.fitting` keeps the two equal), ``baseline`` the fleet's average row."""

    def __init__(self, version: str, folds: Sequence[Fold], baseline: np.ndarray) -> None:
        if not folds:
            raise ValueError("a risk model needs at least one fold")
        self.version = version
        self.folds = tuple(folds)
        self.baseline = baseline

    def positive(self, x: np.ndarray) -> np.ndarray:
        """The probability of an incident for feature rows ``x``."""
        total = np.zeros(len(x))
        for fold in self.folds:
            total += np.interp(x @ fold.coef + fold.intercept, fold.xs, fold.ys)
        result: np.ndarray = total / len(self.folds)
        return result

    def probabilities(self, rows: Sequence[RiskInputs]) -> np.ndarray:
        return self.positive(np.asarray([features(r) for r in rows]))

    def parameters(self) -> dict[str, object]:
        """The model as JSON-ready numbers (what a model file stores)."""
        return {
            "baseline": self.baseline.tolist(),
            "folds": [
                {"coef": f.coef.tolist(), "intercept": f.intercept, "xs": f.xs.tolist(), "ys": f.ys.tolist()}
                for f in self.folds
            ],
        }

    @classmethod
    def from_parameters(cls, version: str, parameters: Mapping[str, object]) -> RiskModel:
        """Raises ValueError (or KeyError, TypeError) when the parameters do not fit :data:`COLUMNS`."""
        read: Any = parameters  # decoded JSON, checked as it is read
        width = len(COLUMNS)
        baseline = np.asarray(read["baseline"], dtype=float)
        folds = []
        for f in read["folds"]:
            coef, xs, ys = (np.asarray(f[key], dtype=float) for key in ("coef", "xs", "ys"))
            if coef.shape != (width,) or xs.ndim != 1 or xs.shape != ys.shape or len(xs) < 2:
                raise ValueError(f"a fold's shapes do not fit {width} features: coef {coef.shape}, xs {xs.shape}")
            folds.append(Fold(coef, float(f["intercept"]), xs, ys))
        if baseline.shape != (width,):
            raise ValueError(f"baseline has shape {baseline.shape}, expected ({width},)")
        return cls(version, folds, baseline)

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

    def if_closed(self, inputs: RiskInputs, policy: RiskPolicy, tier: Tier) -> tuple[IfClosed, ...]:
        """For each open item of :data:`CLOSABLE` (and a credit below normal), the score and tier with
        it closed, most points first: the counterfactuals a unit is shown."""
        closed: list[tuple[str, float | str, RiskInputs]] = []
        for name, after in CLOSABLE.items():
            now: Any = getattr(inputs, name)
            if now > 0:
                closed.append((name, now, replace(inputs, **{name: after(now)})))
        if inputs.credit_status in ("watchlist", "untrustworthy"):
            closed.append(("credit_status", inputs.credit_status, replace(inputs, credit_status="normal")))
        if not closed:
            return ()
        scores = self.positive(np.asarray([features(c) for _, _, c in closed])) * 100
        out = [
            IfClosed(name, value, round(float(score), 2), tier_of(float(score), policy, tier))
            for (name, value, _), score in zip(closed, scores, strict=True)
        ]
        return tuple(sorted(out, key=lambda c: c.score))


def _one_fewer(n: Any) -> Any:
    return n - 1


def _none(now: Any) -> Any:
    return type(now)(0)


CLOSABLE: Final[dict[str, Callable[[Any], Any]]] = {
    "active_faults": _one_fewer,
    "supervisory_open": _one_fewer,
    "electrical_abnormal": _one_fewer,
    "low_water": _none,
    "other_hazards": _one_fewer,
    "offline_share": _none,
}
"""The live inputs a unit can close, and what closing one of them leaves."""


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
