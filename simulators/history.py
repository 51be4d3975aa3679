"""Simulated premises history with ground truth, for training and judging the risk model.

Each :class:`PremisesPeriod` is one premises at the start of a 90-day period: its profile (from
:func:`simulators.fleet.generate_fleet`), what monitoring would show then (active signals, recent
false alarms, hazards, fires) and whether an incident (a fire or a major hazard) followed within
the period. The hidden truth behind both is a per-premises *management quality*: poorly run
premises (more often those with bad credit) show more faults, offline devices, open supervisory
signals and false alarms, and have more incidents. The incident hazard also grows with the
category's inherent danger, height and occupancy, and with live conditions (low water, electrical
abnormalities). A model can learn much of this from what is observable, never all of it: quality
itself is not observed.

The keys of ``observed`` are the live and history inputs of the risk model (``scoring.risk.COUNTS``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from core.registry import Premises
from simulators.fleet import generate_fleet
from simulators.physics import stable_seed

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
    fleet = generate_fleet(premises, seed)
    periods = []
    for p in fleet.premises:
        rng = random.Random(stable_seed(seed, "history", p.id))
        quality = rng.gauss(_CREDIT_QUALITY[p.credit_status], 0.8)
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
            "fires_365d": float(_poisson(rng, 0.05 * neglect)),
        }
        height = (p.height_m or 0.0) / 24.0
        crowd = (p.occupancy or 0) / 200.0
        rate = _BASE_RATE[p.category] * neglect**1.2 * (1 + 0.3 * math.log1p(height)) * (1 + 0.2 * math.log1p(crowd))
        rate *= math.exp(
            0.5 * observed["low_water"]
            + 0.45 * observed["electrical_abnormal"]
            + 0.3 * observed["other_hazards"]
            + 0.15 * observed["supervisory_open"]
            + 0.4 * observed["fires_365d"]
        )
        incident = rng.random() < 1 - math.exp(-rate)
        periods.append(PremisesPeriod(p, observed, incident))
    return periods
