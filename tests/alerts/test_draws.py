"""The published random draw (双随机、一公开): a seed from the period and a value published before the draw,
its inputs recorded so anyone can draw again and compare, and its publication, on real PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from psycopg_pool import ConnectionPool

from alerts.errors import ActionError
from alerts.store.desk import Desk
from alerts.store.draws import as_csv, publication, run_draw, seed_of, verify
from tests.alerts.conftest import at


def test_the_seed_is_sha256_of_period_and_beacon_and_changes_with_either() -> None:
    expected = int.from_bytes(hashlib.sha256(b"firewarden-draw/1|2026-12|07 13 21 28 33 + 09").digest()[:8], "big") >> 1
    assert seed_of("2026-12", "07 13 21 28 33 + 09") == expected < 2**63
    assert seed_of("2026-12", "07 13 21 28 33 + 10") != expected
    assert seed_of("2027-01", "07 13 21 28 33 + 09") != expected


def test_a_published_draw_verifies_and_a_changed_result_or_seed_does_not(pool: ConnectionPool, desk: Desk) -> None:
    beacon = "福利彩票 2026139: 03 11 17 22 26 30 + 08"
    drawn = run_draw(desk, "2026-12", None, at(0), "admin:chen", beacon=beacon)
    assert len(drawn) == 1 and len(drawn[0][1]) == 2
    with desk.cursor() as cur:
        verdict = verify(cur, "2026-12")
        assert (verdict.intact, verdict.seed, verdict.drawn, verdict.pool) == (True, seed_of("2026-12", beacon), 1, 2)
        rows = publication(cur, "2026-12")
    assert [(r["premises_id"], r["inspection"], r["beacon"]) for r in rows] == [(drawn[0][0], "open", beacon)]
    assert all(name in {"grid", "grid two", "station", "station two", "city"} for name in rows[0]["inspectors"])
    assert as_csv(rows).splitlines()[0].startswith("period,premises_id,premises_name,address,unit_name,inspectors")

    with pytest.raises(ActionError, match="already drawn"):
        run_draw(desk, "2026-12", None, at(10), "admin:chen", beacon="another value")

    others = ["I-CITY", "I-STATION2"] if "I-CITY" not in drawn[0][1] else ["I-STATION", "I-STATION2"]
    with pool.connection() as conn:
        conn.execute("UPDATE draws SET inspectors = %s WHERE period = '2026-12'", (others,))
    with desk.cursor() as cur:
        changed = verify(cur, "2026-12")
    assert (changed.seed_matches, changed.result_matches, changed.intact) == (True, False, False)
    with pool.connection() as conn:
        conn.execute("UPDATE draw_runs SET seed = seed + 1 WHERE period = '2026-12'")
    with desk.cursor() as cur:
        assert verify(cur, "2026-12").seed_matches is False


def test_a_draw_without_a_published_value_cannot_be_verified_by_seed_alone(desk: Desk) -> None:
    with desk.cursor() as cur, pytest.raises(ActionError, match="no published draw for period 2026-01"):
        verify(cur, "2026-01")
    with pytest.raises(ActionError, match=r"beacon .* is empty"):
        run_draw(desk, "2026-02", None, at(0), beacon="  ")


def test_listed_units_are_drawn_from_strata_of_their_own_and_the_draw_still_verifies(
    pool: ConnectionPool, desk: Desk
) -> None:
    with pool.connection() as conn:  # Q is listed (一般失信): drawn at credit.draw_share's 0.2, whatever its tier
        conn.execute("UPDATE premises SET credit_status = 'watchlist' WHERE id = 'Q'")
        conn.execute(
            "INSERT INTO premises_schedule (premises_id, tier, tier_since, score) VALUES ('Q', 'red', now(), 80)"
        )
    run_draw(desk, "2026-11", None, at(0), "admin:chen", beacon="beacon")
    with desk.cursor() as cur:
        cur.execute("SELECT strata FROM draw_runs WHERE period = '2026-11'")
        strata = cur.fetchone()["strata"]  # type: ignore[index]
        assert strata["watchlist"] == {"share": 0.2, "pool": ["Q"]}
        assert "Q" not in strata[""]["pool"] and strata["untrustworthy"]["pool"] == []
        cur.execute("SELECT premises_id FROM draws WHERE period = '2026-11'")
        assert "Q" in {r["premises_id"] for r in cur.fetchall()}  # a stratum of one draws at least one
        assert verify(cur, "2026-11").intact
