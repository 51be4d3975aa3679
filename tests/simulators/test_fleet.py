"""The generated fleet: deterministic, every category, the devices each category really has."""

from __future__ import annotations

import itertools
from collections import Counter

from core import registry
from core.db import connect
from core.domain import CATEGORIES, DEVICE_TYPE_NAMES
from simulators.fleet import generate_fleet


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate_fleet(60, seed=3) == generate_fleet(60, seed=3)
    assert generate_fleet(60, seed=3) != generate_fleet(60, seed=4)


def test_every_category_and_device_type_appears() -> None:
    fleet = generate_fleet(300, seed=1)
    assert {p.category for p in fleet.premises} == set(CATEGORIES)
    assert {d.type for d in fleet.devices} == set(DEVICE_TYPE_NAMES)


def test_devices_fit_their_category() -> None:
    fleet = generate_fleet(400, seed=2)
    types_of: dict[str, Counter[str]] = {}
    for device in fleet.devices:
        types_of.setdefault(device.premises, Counter())[device.type] += 1
    by_category: dict[str, list[Counter[str]]] = {}
    for premises in fleet.premises:
        by_category.setdefault(premises.category, []).append(types_of.get(premises.id, Counter()))
    assert all(c["uitd"] == 1 for c in by_category["high_rise_residential"])
    assert all(c["uitd"] == 0 and c["smoke_alarm"] >= 4 for c in by_category["rental_housing"])
    assert all(c["ebike_charger"] >= 1 for c in by_category["rental_housing"])
    assert all(c["gas_detector"] >= 2 for c in by_category["commercial_complex"])
    assert all(c["sprinkler_pressure"] >= 1 and c["tank_level"] == 1 for c in by_category["high_rise_residential"])
    assert all(c["ebike_charger"] == 0 for c in by_category["hospital"])


def test_heights_and_credit_are_a_realistic_mix() -> None:
    fleet = generate_fleet(1000, seed=3)
    high_rise = [p for p in fleet.premises if p.category == "high_rise_residential"]
    assert all(p.height_m is not None and p.height_m > 50 for p in high_rise)  # 18+ floors
    credit = Counter(p.credit_status for p in fleet.premises)
    assert credit["normal"] > credit["trustworthy"] > credit["untrustworthy"] > 0
    risky = {"rental_housing", "multi_use"}

    def share(cats):
        return sum(p.credit_status == "untrustworthy" for p in fleet.premises if p.category in cats) / max(
            1, sum(p.category in cats for p in fleet.premises)
        )

    assert share(risky) > share(set(CATEGORIES) - risky)


def test_roster_covers_every_station_every_day() -> None:
    fleet = generate_fleet(400, seed=4, roster_days=7)
    stations = [j.id for j in fleet.jurisdictions if j.kind == "fire_station"]
    for station in stations:
        shifts = [s for s in fleet.duty_roster if s.jurisdiction == station]
        assert len(shifts) == 7
        assert all(b.starts_at == a.ends_at for a, b in itertools.pairwise(shifts))


def test_a_fleet_imports_as_a_registry(migrated_url: str) -> None:
    fleet = generate_fleet(120, seed=5)
    with connect(migrated_url, autocommit=True) as conn:
        results = registry.import_registry(conn, fleet, source="fleet")
    assert {r.table: r.inserted for r in results}["devices"] == len(fleet.devices)
