"""How well the risk model ranks premises, against the best ranking possible: ``firewarden evaluate risk``.

The generator of simulated history (:mod:`simulators.history`) knows each premises-period's true chance
of an incident; ranking by it is the *oracle*, the best any model can do on those outcomes (an
incident is still a draw: the oracle's AUC is well below 1). Per seed:

- a city of ``premises`` premises over two 90-day periods; a model is fitted on the first period by
  the recipe of ``firewarden model train`` (:func:`training.fitting.fit_risk`);
- **time split**: the same premises in the next period, their observations drawn anew (each keeps its
  management quality; an incident of the first period is among the next period's fires of the year);
- **city split**: another city never seen (another seed; its category and credit mixes drawn anew,
  each weight times a log-normal factor).

Each split reports the model's and the oracle's AUC, top-decile lift and calibration error; the model
in use (the shipped defaults, or ``FIREWARDEN_MODEL_DIR``'s) is scored on the same premises beside
them, and on the city split the *best observable* score too: the Bayes-optimal chance given exactly
the model's inputs (:func:`simulators.history.best_observable`), the ceiling of any model on them. Over
the seeds: means with 95 % t intervals, and the model-to-oracle ratios the targets are on.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Final

import numpy as np
from scipy import stats  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from core.policy import Policy
from scoring import Models
from simulators import PremisesPeriod, best_observable, other_city, simulate_periods
from training.fitting import fit_risk
from training.models import risk_examples
from training.pool import run_trials
from training.verification import Target

SPLITS: Final = ("time", "city")
BEST: Final = "best observable"
"""The Bayes-optimal score on the model's own inputs (:func:`simulators.history.best_observable`): the
ceiling of any model on them, computed on the city split (a first period, where it is exact)."""
TARGET_SHARE: Final = 0.95
"""The model's AUC and top-decile lift must reach this share of the oracle's (mean over the seeds)."""
CALIBRATION_BINS: Final = 10


@dataclass(frozen=True, slots=True)
class RiskTrial:
    seed: int
    premises: int


@dataclass(frozen=True, slots=True)
class SplitResult:
    """One model on one split of one seed, beside the oracle on the same premises."""

    seed: int
    split: str
    model: str
    """``trained`` (fitted on the seed's first period), ``in use``, or :data:`BEST`."""
    premises: int
    incidents: int
    auc: float
    oracle_auc: float
    lift: float
    oracle_lift: float
    calibration_error: float
    oracle_calibration_error: float


def top_decile_lift(labels: Sequence[bool], scores: Sequence[float] | np.ndarray) -> float:
    """The incident rate among the tenth ranked highest over the rate of all. Ties at the cut count in
    proportion (a model's calibrated scores tie in steps; no order within a tie is preferred)."""
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if not y.any():
        return math.nan
    take = len(y) / 10
    order = np.argsort(-s, kind="stable")
    ranked_s, ranked_y = s[order], y[order]
    above = int(np.searchsorted(-ranked_s, -ranked_s[math.ceil(take) - 1], side="left"))
    tied = (ranked_s == ranked_s[above]).nonzero()[0]
    share = (take - above) / len(tied)
    hits = ranked_y[:above].sum() + share * ranked_y[tied].sum()
    return float(hits / take / y.mean())


def calibration_error(labels: Sequence[bool], probabilities: Sequence[float] | np.ndarray) -> float:
    """Expected calibration error: over :data:`CALIBRATION_BINS` equal-width bins of the predicted
    probability, the mean |predicted - observed| weighted by the bin's share of premises."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    bins = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    error = 0.0
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            error += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return error


def _judge(seed: int, split: str, name: str, predicted: Sequence[float], periods: list[PremisesPeriod]) -> SplitResult:
    labels = [p.incident for p in periods]
    truth = [p.probability for p in periods]
    return SplitResult(
        seed=seed,
        split=split,
        model=name,
        premises=len(periods),
        incidents=sum(labels),
        auc=float(roc_auc_score(labels, predicted)),
        oracle_auc=float(roc_auc_score(labels, truth)),
        lift=top_decile_lift(labels, predicted),
        oracle_lift=top_decile_lift(labels, truth),
        calibration_error=calibration_error(labels, predicted),
        oracle_calibration_error=calibration_error(labels, truth),
    )


def run_trial(trial: RiskTrial, policy: Policy, models: Models) -> list[SplitResult]:
    """One seed: a model fitted on the first period, judged with the model in use on both splits."""
    first, then = simulate_periods(trial.premises, trial.seed, 2)
    mix, credit = other_city(trial.seed)
    elsewhere = simulate_periods(trial.premises, trial.seed + 100_000, 1, mix=mix, credit_mix=credit)[0]
    rows, labels = risk_examples(first)
    trained, _ = fit_risk(f"risk-evaluation-{trial.seed}", rows, labels)
    out = [
        _judge(trial.seed, split, name, list(model.probabilities(risk_examples(periods)[0])), periods)
        for split, periods in (("time", then), ("city", elsewhere))
        for name, model in (("trained", trained), ("in use", models.risk))
    ]
    out.append(_judge(trial.seed, "city", BEST, [best_observable(p) for p in elsewhere], elsewhere))
    return out


def run(
    seeds: Sequence[int],
    premises: int,
    models: Models,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[SplitResult]:
    trials = [RiskTrial(seed, premises) for seed in seeds]
    done = run_trials(trials, run_trial, Policy(), models, workers=workers, chunk=1, progress=progress)
    return [result for per_seed in done for result in per_seed]


@dataclass(frozen=True, slots=True)
class Summary:
    """A figure over the seeds: mean and 95 % t interval (``nan`` wide with one seed)."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        mean = statistics.fmean(values)
        if len(values) < 2:
            return cls(mean, math.nan, math.nan)
        half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
        return cls(mean, mean - half, mean + half)

    def __str__(self) -> str:
        if math.isnan(self.low):
            return f"{self.mean:.3f}"
        return f"{self.mean:.3f}±{(self.high - self.low) / 2:.3f}"


@dataclass(frozen=True, slots=True)
class SplitSummary:
    split: str
    model: str
    seeds: int
    auc: Summary
    oracle_auc: Summary
    auc_share: Summary
    lift: Summary
    oracle_lift: Summary
    lift_share: Summary
    calibration_error: Summary
    oracle_calibration_error: Summary


def summarise(results: Sequence[SplitResult]) -> list[SplitSummary]:
    """Per split and model, over the seeds; the shares are the per-seed ratios to the oracle, averaged."""
    out = []
    for split in SPLITS:
        for model in ("trained", "in use", BEST):
            mine = [r for r in results if r.split == split and r.model == model]
            if not mine:
                continue
            out.append(
                SplitSummary(
                    split=split,
                    model=model,
                    seeds=len(mine),
                    auc=Summary.of([r.auc for r in mine]),
                    oracle_auc=Summary.of([r.oracle_auc for r in mine]),
                    auc_share=Summary.of([r.auc / r.oracle_auc for r in mine]),
                    lift=Summary.of([r.lift for r in mine]),
                    oracle_lift=Summary.of([r.oracle_lift for r in mine]),
                    lift_share=Summary.of([r.lift / r.oracle_lift for r in mine]),
                    calibration_error=Summary.of([r.calibration_error for r in mine]),
                    oracle_calibration_error=Summary.of([r.oracle_calibration_error for r in mine]),
                )
            )
    return out


def of_best(results: Sequence[SplitResult], model: str = "trained") -> tuple[Summary, Summary] | None:
    """On the city split: a model's AUC and top-decile lift as shares of the best observable's, per seed
    (how near the ceiling of its inputs it ranks)."""
    best = {r.seed: r for r in results if r.split == "city" and r.model == BEST}
    mine = [r for r in results if r.split == "city" and r.model == model and r.seed in best]
    if not mine:
        return None
    auc = Summary.of([r.auc / best[r.seed].auc for r in mine])
    return auc, Summary.of([r.lift / best[r.seed].lift for r in mine])


def targets(summaries: Sequence[SplitSummary]) -> list[Target]:
    """The issue's targets, on the model fitted by the training recipe (``trained``), each split."""
    out = []
    for s in summaries:
        if s.model != "trained":
            continue
        for what, share in (("AUC", s.auc_share), ("top-decile lift", s.lift_share)):
            out.append(
                Target(
                    f"{s.split} split: model {what} >= {TARGET_SHARE:.2f} of the oracle's (mean of {s.seeds} seeds)",
                    share.mean >= TARGET_SHARE,
                    f"{share}",
                )
            )
    return out


def write_results(results: Sequence[SplitResult], path: Path) -> None:
    """Every seed's figures, a row per seed, split and model."""
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(SplitResult)])
        writer.writeheader()
        for r in results:
            writer.writerow(asdict(r))


def plot(results: Sequence[SplitResult], path: Path) -> None:
    """Per seed and split, the model's AUC and top-decile lift against the oracle's, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (what, model_of, oracle_of) in zip(
        axes, (("AUC", "auc", "oracle_auc"), ("top-decile lift", "lift", "oracle_lift")), strict=True
    ):
        values = [getattr(r, f) for r in results for f in (model_of, oracle_of)]
        low, high = min(values), max(values)
        ax.plot([low, high], [low, high], color="grey", linewidth=0.8, label="model = oracle")
        ax.plot([low, high], [TARGET_SHARE * low, TARGET_SHARE * high], color="grey", linestyle=":",
                linewidth=0.8, label=f"{TARGET_SHARE:.0%} of the oracle")  # fmt: skip
        for split, marker in zip(SPLITS, ("o", "s"), strict=True):
            for model, colour in (("trained", "tab:red"), ("in use", "tab:blue"), (BEST, "tab:green")):
                mine = [r for r in results if r.split == split and r.model == model]
                if not mine:
                    continue
                ax.scatter([getattr(r, oracle_of) for r in mine], [getattr(r, model_of) for r in mine],
                           marker=marker, color=colour, alpha=0.7, label=f"{split} split, {model}")  # fmt: skip
        ax.set_xlabel(f"oracle's {what}")
        ax.set_ylabel(f"model's {what}")
        ax.set_title(f"{what}, one point per seed")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
