"""A running scoring process reads the registry again every ``scoring_registry_refresh_s``: premises
imported while it runs are scored with their profiles. Against real PostgreSQL, with a fake clock."""

from __future__ import annotations

import asyncio

from core.db import connect
from core.policy import Policy
from core.registry.store import import_registry
from scoring.engine import Engine
from scoring.models import shipped_models
from scoring.reload import SiteRefresh
from scoring.scorer import Scorer
from scoring.store import load_sites
from simulators.fleet import generate_fleet
from tests.clock import Clock


def test_premises_imported_while_scoring_runs_are_known_after_the_refresh_period(migrated_url: str) -> None:
    small, large = generate_fleet(2, seed=3), generate_fleet(5, seed=3)
    with connect(migrated_url) as conn:
        import_registry(conn, small, source="test")
        conn.commit()
    engine = Engine(Scorer(Policy(), load_sites(migrated_url), shipped_models()))
    clock = Clock()
    refresh = SiteRefresh(engine, migrated_url, 60.0, clock)
    new = next(p.id for p in large.premises if engine.scorer.sites.get(p.id) is None)

    with connect(migrated_url) as conn:
        import_registry(conn, large, source="test")
        conn.commit()
    clock.now = 59.0
    assert asyncio.run(refresh.check()) is False
    assert engine.scorer.sites.get(new) is None
    clock.now = 60.0
    assert asyncio.run(refresh.check()) is True
    site = engine.scorer.sites.get(new)
    assert site is not None and site.devices, "the new premises and its devices are known"


def test_a_failed_read_keeps_the_registry_scoring_has(migrated_url: str) -> None:
    fleet = generate_fleet(2, seed=3)
    with connect(migrated_url) as conn:
        import_registry(conn, fleet, source="test")
        conn.commit()
    sites = load_sites(migrated_url)
    engine = Engine(Scorer(Policy(), sites, shipped_models()))
    clock = Clock()
    refresh = SiteRefresh(engine, "postgresql://nobody@127.0.0.1:1/none", 10.0, clock)
    clock.now = 10.0
    assert asyncio.run(refresh.check()) is False
    assert engine.scorer.sites is sites
