"""The default models shipped with Firewarden (``scoring/defaults/``), and the one command that makes them.

    make models            # or: python -m training.defaults [DIRECTORY]

They are small models trained on simulated data by a fixed recipe, so that a fresh install scores
at once without training; a fire authority replaces them with ``firewarden model train`` (its own
simulated sizes, or ``--from-db`` on its recorded outcomes). Everything in the files follows from
:data:`RECIPE`: the versions are a hash of it, nothing carries the time of training, and a test
retrains them and compares them with the shipped files.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Final

from scoring import COLUMNS, FORMAT, SHIPPED, WINDOWS, AnomalyModel, RiskModel, save
from training.models import train_anomaly, train_risk

RECIPE: Final[dict[str, dict[str, Any]]] = {
    "risk": {"premises": 6000, "seed": 11},
    "anomaly": {"premises": 24, "hours": 24, "seed": 5},
}


def version(kind: str) -> str:
    recipe: dict[str, Any] = {"format": FORMAT, "kind": kind, **RECIPE[kind]}
    if kind == "anomaly":  # windows defined otherwise make other features from the same recipe
        recipe["windows"] = WINDOWS
    if kind == "risk":  # so do other risk inputs
        recipe["columns"] = COLUMNS
    return f"{kind}-default-{hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]}"


def train_defaults() -> tuple[tuple[RiskModel, dict[str, Any]], tuple[AnomalyModel, dict[str, Any]]]:
    risk = train_risk(**RECIPE["risk"], version=version("risk"))
    anomaly = train_anomaly(**RECIPE["anomaly"], version=version("anomaly"))
    return risk, anomaly


def write_defaults(directory: Path = SHIPPED) -> list[Path]:
    """Train the default models and write them to ``directory``; the written paths."""
    (risk, risk_summary), (anomaly, anomaly_summary) = train_defaults()
    shipped = "shipped default"
    return [
        save(directory, "risk", risk, risk_summary, trained_at=shipped),
        save(directory, "anomaly", anomaly, anomaly_summary, trained_at=shipped),
    ]


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else SHIPPED
    for path in write_defaults(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
