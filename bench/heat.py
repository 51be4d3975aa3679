"""What alarm verification's heat costs per temperature reading, against the same readings without it.

Usage: ``.venv/bin/python bench/heat.py [--readings 200000] [--interval 1]``

One premises, one zone: the same stream of room temperatures (22 °C ± 0.5, one every ``--interval``
seconds) scored twice in one process, alternating in rounds so that the machine's load falls on both
alike: by a ``temperature_sensor`` (a heat device: rules, anomaly windows and heat) and by an
``ebike_charger`` (the same rules and windows, its temperature its own, so no heat). CPU time per
reading (``time.process_time``) for each, and the ratio: what heat adds to a room sensor's reading.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import random
import time
from datetime import UTC, datetime

from core.policy import Policy
from core.registry import Device, Jurisdiction, Premises, RegistryFile, Unit
from ingest.records import Reading
from scoring.models import shipped_models
from scoring.scorer import Scorer
from scoring.site import Sites

START = 1_780_000_000.0


def _registry(interval: int) -> RegistryFile:
    def device(ident: str, kind: str) -> Device:
        return Device(id=ident, premises="P-B", type=kind, location="Z1", zone="Z1", expected_interval_s=interval)

    return RegistryFile(
        jurisdictions=[Jurisdiction(id="J-B", name="bench", kind="district")],
        premises=[
            Premises(id="P-B", name="bench", category="multi_use", address="-", jurisdiction="J-B",
                     unit=Unit(name="u", contact="c"))
        ],
        devices=[device("ROOM", "temperature_sensor"), device("CHARGER", "ebike_charger")],
    )  # fmt: skip


def _cpu_per_reading(scorer: Scorer, device: str, values: list[float], interval: float, offset: int) -> float:
    state = scorer.new_state("P-B")
    readings = [
        Reading(datetime.fromtimestamp(START + (offset + i) * interval, UTC), "P-B", device, "temperature_c", v, i + 1)
        for i, v in enumerate(values)
    ]
    began = time.process_time()
    for r in readings:
        scorer.process(state, r)
    return (time.process_time() - began) / len(readings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    scorer = Scorer(Policy(), Sites.of(_registry(max(1, round(args.interval)))), shipped_models())
    rng = random.Random(1)
    per_round = args.readings // args.rounds
    values = [round(22 + rng.gauss(0, 0.5), 1) for _ in range(per_round)]
    heat, plain = [], []
    for n in range(args.rounds):
        heat.append(_cpu_per_reading(scorer, "ROOM", values, args.interval, n * per_round))
        plain.append(_cpu_per_reading(scorer, "CHARGER", values, args.interval, n * per_round))
    best_heat, best_plain = min(heat), min(plain)
    print(f"{per_round * args.rounds:,} readings each, one every {args.interval:g} s, {args.rounds} rounds (best):")
    print(f"  room sensor (heat):       {best_heat * 1e6:6.1f} µs CPU per reading")
    print(f"  e-bike charger (no heat): {best_plain * 1e6:6.1f} µs CPU per reading")
    print(f"  ratio: {best_heat / best_plain:.2f}")


if __name__ == "__main__":
    main()
