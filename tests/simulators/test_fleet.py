"""The generated fleet: deterministic, every category, the devices each category really has."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from core import registry
from core.db import connect
from core.domain import CATEGORIES, DEVICE_TYPE_NAMES
from core.registry import Device
from simulators.fleet import generate_fleet
from simulators.physics import WATER_HEAD_MPA_PER_M, ZONE_HEIGHT_M, storey


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


def test_gauges_name_their_water_systems_and_a_system_stays_within_one_pressure_zone() -> None:
    fleet = generate_fleet(400, seed=2)
    premises = {p.id: p for p in fleet.premises}
    gauges = [d for d in fleet.devices if d.type in ("sprinkler_pressure", "hydrant_pressure", "tank_level")]
    assert all(d.water_system for d in gauges)
    systems: dict[tuple[str, str, str], list[Device]] = {}
    for d in gauges:
        systems.setdefault((d.premises, d.type, d.water_system or ""), []).append(d)
    shared = [s for s in systems.values() if len(s) > 1]
    assert {s[0].type for s in shared} == {"sprinkler_pressure", "hydrant_pressure"}  # a roof tank, a fire pool: two
    for system in shared:
        site = premises[system[0].premises]
        storeys = [storey(d.zone, site.floors or 1) for d in system]
        storey_m = (site.height_m or 0.0) / (site.floors or 1)
        assert (max(storeys) - min(storeys)) * storey_m < ZONE_HEIGHT_M + storey_m
    valves = [d for d in gauges if "alarm valve" in d.location]
    assert valves
    for valve in valves:
        top = next(d for d in fleet.devices if d.premises == valve.premises and d.id.endswith("-SP01"))
        site = premises[valve.premises]
        assert valve.water_system == top.water_system
        head = WATER_HEAD_MPA_PER_M * (site.height_m or 0.0) / (site.floors or 1)
        head *= storey(top.zone, site.floors or 1) - storey(valve.zone, site.floors or 1)
        assert valve.setpoints["water_pressure_mpa"] == pytest.approx(0.05 + head, abs=0.005)


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
