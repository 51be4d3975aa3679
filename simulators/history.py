"""Simulated premises history with ground truth, for training and judging the risk model.

Each :class:`PremisesPeriod` is one premises at the start of a 90-day period: its profile (from
:func:`simulators.fleet.generate_fleet`), what monitoring would show then (active signals, recent
false alarms, hazards, fires) and whether an incident (a fire or a major hazard) followed within
the period. The hidden truth behind both is a per-premises *management quality*: poorly run
premises (more often those with bad credit) show more faults, offline devices, open supervisory
signals and false alarms, and have more incidents. The incident hazard also grows with the
category's inherent danger, height and occupancy, and with live conditions (low water, electrical
abnormalities). The fire authority's own work sees the quality too, through its symptoms over the
last year (:func:`_supervision`): failed checklist items at an inspection, hazards left past their
deadline, enforcement cases, self-checks done late; their strengths are this generator's assumptions
(the constants below), not measurements. A model can learn much of this from what is observable, never
all of it: quality itself is not observed.

The keys of ``observed`` are the live and history inputs of the risk model (``scoring.risk.COUNTS``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from core.registry import Premises
from simulators.fleet import generate_fleet
from simulators.physics import stable_seed
from simulators.profiles import CREDIT_WEIGHTS, PROFILES

# Incidents per premises per 90 days for a well-run premises of the category, before other effects.
_BASE_RATE: Final[dict[str, float]] = {
    "high_rise_residential": 0.04,
    "high_rise_public": 0.05,
    "commercial_complex": 0.08,
    "multi_use": 0.14,
    "warehouse_logistics": 0.09,
    "elderly_care": 0.06,
    "social_welfare": 0.05,
    "small_hotel": 0.07,
    "rental_housing": 0.10,
    "school_training": 0.03,
    "hospital": 0.05,
    "labour_intensive_factory": 0.11,
    "market": 0.12,
    "heritage_building": 0.06,
    "energy_storage_station": 0.10,
    "petrochemical": 0.12,
}
_CREDIT_QUALITY: Final = {"trustworthy": 0.6, "normal": 0.0, "watchlist": -0.6, "untrustworthy": -1.2}


@dataclass(frozen=True, slots=True)
class PremisesPeriod:
    premises: Premises
    observed: dict[str, float]
    incident: bool
    probability: float
    """The true chance of an incident in the period, known to the generator only: the oracle's score."""


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: means here are small.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate_history(premises: int, seed: int) -> list[PremisesPeriod]:
    """``premises`` premises-periods, reproducible from ``seed``."""
    return simulate_periods(premises, seed, 1)[0]


def simulate_periods(
    premises: int,
    seed: int,
    periods: int,
    *,
    mix: Mapping[str, float] | None = None,
    credit_mix: Mapping[str, float] | None = None,
) -> list[list[PremisesPeriod]]:
    """The same ``premises`` premises over ``periods`` consecutive 90-day periods: each premises keeps its
    management quality, its observations are drawn anew each period, and an incident counts among the
    next period's fires of the last year. The first period is :func:`simulate_history`'s. ``mix`` and
    ``credit_mix`` make another city (:func:`simulators.fleet.generate_fleet`)."""
    fleet = generate_fleet(premises, seed, mix=mix, credit_mix=credit_mix)
    out: list[list[PremisesPeriod]] = [[] for _ in range(periods)]
    for p in fleet.premises:
        rng = random.Random(stable_seed(seed, "history", p.id))
        quality = rng.gauss(_CREDIT_QUALITY[p.credit_status], 0.8)
        before = 0.0
        for k in range(periods):
            if k:  # the first period draws on after the quality, as it always has
                rng = random.Random(stable_seed(seed, "history", p.id, k))
            period = _period(rng, p, quality, before)
            before = float(period.incident)
            out[k].append(period)
    return out


CITY_MIX_SIGMA: Final = 0.7
CREDIT_MIX_SIGMA: Final = 0.5


def other_city(seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """Another city's category and credit mixes (for :func:`simulate_periods`): each of the profiles'
    weights times a log-normal factor (sigma :data:`CITY_MIX_SIGMA`, :data:`CREDIT_MIX_SIGMA`)."""
    rng = random.Random(seed)
    mix = {c: p.weight * rng.lognormvariate(0, CITY_MIX_SIGMA) for c, p in PROFILES.items()}
    credit = {k: w * rng.lognormvariate(0, CREDIT_MIX_SIGMA) for k, w in CREDIT_WEIGHTS.items()}
    return mix, credit


def _period(rng: random.Random, p: Premises, quality: float, incidents_before: float) -> PremisesPeriod:
    neglect = math.exp(-0.7 * quality)  # > 1 for poorly run premises
    observed = {
        "active_faults": float(_poisson(rng, 0.4 * neglect)),
        "offline_share": min(1.0, rng.betavariate(1.0, 30.0 / neglect)),
        "supervisory_open": float(_poisson(rng, 0.15 * neglect)),
        "electrical_abnormal": float(_poisson(rng, 0.08 * neglect)),
        "low_water": float(rng.random() < min(0.9, 0.05 * neglect)),
        "other_hazards": float(_poisson(rng, 0.05 * neglect)),
        "false_alarms_30d": float(_poisson(rng, 0.8 * neglect)),
        "hazards_90d": float(_poisson(rng, 0.5 * neglect)),
        "fires_365d": float(_poisson(rng, 0.05 * neglect)) + incidents_before,
    }
    probability = 1 - math.exp(-_profile_rate(p, observed) * neglect**1.2)
    incident = rng.random() < probability
    observed |= _supervision(rng, neglect)  # drawn last, so the draws above are the same as before them
    return PremisesPeriod(p, observed, incident, probability)


# What the fire authority's own work finds over the last year (symptoms of the management quality:
# they do not change the chance of an incident, they tell of it):
VISITED: Final = 0.75
"""The chance that the premises was inspected in the last year."""
CHECK_ITEMS: Final = 20
"""Checklist items recorded at a visit (docs/supervision.md's checklist has 14-20 that apply)."""
ITEM_FAILS: Final = 0.04
"""The chance that an item fails at a well-run premises, times ``neglect`` (at most 0.9)."""
HAZARDS_DUE: Final = 1.2
"""Hazards whose deadline fell in the last year (a Poisson mean, the same for every premises)."""
OVERDUE: Final = 0.15
"""The chance that such a hazard was not closed by its deadline, times ``neglect ** 1.5`` (at most 0.95)."""
CASES: Final = 0.04
"""Enforcement cases opened in the last year (a Poisson mean), times ``neglect ** 2``."""
SELF_CHECKS: Final = 12
"""Self-checks due in the last year (the unit's own, monthly at a blue or yellow premises)."""
SELF_CHECK_MISSED: Final = 0.08
"""The chance that one was late, times ``neglect ** 1.5`` (at most 0.95): the year's overdue share."""


def _supervision(rng: random.Random, neglect: float) -> dict[str, float]:
    fails = min(0.9, ITEM_FAILS * neglect)
    failed = sum(rng.random() < fails for _ in range(CHECK_ITEMS)) if rng.random() < VISITED else 0
    due = _poisson(rng, HAZARDS_DUE)
    late = min(0.95, OVERDUE * neglect**1.5)
    overdue = sum(rng.random() < late for _ in range(due))
    missed = min(0.95, SELF_CHECK_MISSED * neglect**1.5)
    return {
        "inspection_fail_share": failed / CHECK_ITEMS,
        "hazard_overdue_share": overdue / due if due else 0.0,
        "cases_365d": float(_poisson(rng, CASES * neglect**2)),
        "self_check_overdue_share": sum(rng.random() < missed for _ in range(SELF_CHECKS)) / SELF_CHECKS,
    }


def _profile_rate(p: Premises, observed: dict[str, float]) -> float:
    """Incidents per 90 days of a premises with these observations, but for its management quality
    (times ``neglect ** 1.2``)."""
    height = (p.height_m or 0.0) / 24.0
    crowd = (p.occupancy or 0) / 200.0
    rate = _BASE_RATE[p.category] * (1 + 0.3 * math.log1p(height)) * (1 + 0.2 * math.log1p(crowd))
    return rate * math.exp(
        0.5 * observed["low_water"]
        + 0.45 * observed["electrical_abnormal"]
        + 0.3 * observed["other_hazards"]
        + 0.15 * observed["supervisory_open"]
        + 0.4 * observed["fires_365d"]
    )


_QUALITY_GRID: Final = np.linspace(-5.0, 5.0, 501)
_COUNT_MEANS: Final = {
    "active_faults": 0.4,
    "supervisory_open": 0.15,
    "electrical_abnormal": 0.08,
    "other_hazards": 0.05,
    "false_alarms_30d": 0.8,
    "hazards_90d": 0.5,
    "fires_365d": 0.05,
}


def best_observable(period: PremisesPeriod) -> float:
    """The best any model can score a first period's premises with from what monitoring observes: the
    chance of an incident given its profile and observations, its management quality (which nobody
    observes) integrated out by Bayes' rule over the generator's own distributions. Ranking by it is
    the ceiling of a model on the risk model's inputs, below the oracle (which knows the quality).

    Exact for a first period only: a later period's fires of the year carry the last period's
    incident, whose chance this does not integrate."""
    p, o = period.premises, period.observed
    q = _QUALITY_GRID
    neglect = np.exp(-0.7 * q)
    log_like = -0.5 * ((q - _CREDIT_QUALITY[p.credit_status]) / 0.8) ** 2
    for name, per_neglect in _COUNT_MEANS.items():
        mean = per_neglect * neglect
        log_like += o[name] * np.log(mean) - mean - math.lgamma(o[name] + 1)
    share, b = o["offline_share"], 30.0 / neglect
    if share < 1.0:  # Beta(1, b): density b (1 - x)^(b - 1)
        log_like += np.log(b) + (b - 1) * math.log1p(-share)
    water = np.minimum(0.9, 0.05 * neglect)
    log_like += np.log(water if o["low_water"] else 1 - water)
    log_like += _supervision_log_likelihood(o, neglect)
    weight = np.exp(log_like - log_like.max())
    chance = 1 - np.exp(-_profile_rate(p, o) * neglect**1.2)
    return float(np.sum(weight * chance) / np.sum(weight))


def _supervision_log_likelihood(o: Mapping[str, float], neglect: np.ndarray) -> np.ndarray:
    """The log-likelihood of :func:`_supervision`'s observations over the quality grid's ``neglect``."""
    fails = np.minimum(0.9, ITEM_FAILS * neglect)
    failed = round(o["inspection_fail_share"] * CHECK_ITEMS)
    visit = VISITED * stats.binom.pmf(failed, CHECK_ITEMS, fails)
    inspected = visit + (1 - VISITED) if failed == 0 else visit  # no visit reads as no item failed
    late = np.minimum(0.95, OVERDUE * neglect**1.5)
    share = o["hazard_overdue_share"]
    overdue = np.zeros_like(neglect)
    for due in range(0, 40):  # the Poisson mean is 1.2: 40 and more has no weight worth counting
        k = share * due
        if abs(k - round(k)) < 1e-9 and (due or share == 0.0):
            overdue += stats.poisson.pmf(due, HAZARDS_DUE) * stats.binom.pmf(round(k), due, late)
    cases = stats.poisson.logpmf(o["cases_365d"], CASES * neglect**2)
    missed = np.minimum(0.95, SELF_CHECK_MISSED * neglect**1.5)
    late_checks = stats.binom.logpmf(round(o["self_check_overdue_share"] * SELF_CHECKS), SELF_CHECKS, missed)
    result: np.ndarray = np.log(inspected) + np.log(overdue) + cases + late_checks
    return result
