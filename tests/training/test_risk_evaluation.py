"""The risk yardstick: its measures, and the simulated history it splits (``firewarden evaluate risk``)."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from scoring import Models
from simulators import other_city, simulate_history, simulate_periods
from training.risk_evaluation import (
    BEST,
    RiskTrial,
    Summary,
    calibration_error,
    run_trial,
    summarise,
    targets,
    top_decile_lift,
)


def test_the_top_decile_lift_is_the_rate_among_the_highest_tenth_over_the_rate_of_all() -> None:
    labels = [True] * 5 + [False] * 95
    scores = [float(100 - i) for i in range(100)]  # the five incidents ranked first
    assert top_decile_lift(labels, scores) == pytest.approx((5 / 10) / (5 / 100))


def test_a_tie_at_the_cut_counts_in_proportion_not_in_the_order_it_happens_to_be_in() -> None:
    # 20 premises share the top score, 2 of them with an incident: the top tenth (10) holds half of them
    labels = [True, True] + [False] * 98
    ahead = top_decile_lift(labels, [1.0] * 20 + [0.0] * 80)
    behind = top_decile_lift(list(reversed(labels[:20])) + labels[20:], [1.0] * 20 + [0.0] * 80)
    assert ahead == behind == pytest.approx((1 / 10) / (2 / 100))


def test_the_calibration_error_is_zero_for_honest_probabilities_and_the_gap_otherwise() -> None:
    labels = [True] * 20 + [False] * 80
    assert calibration_error(labels, [0.2] * 100) == pytest.approx(0.0)
    assert calibration_error(labels, [0.5] * 100) == pytest.approx(0.3)


def test_the_first_period_is_the_history_the_models_were_always_trained_on() -> None:
    first = simulate_periods(300, 5, 3)[0]
    assert [(p.premises.id, p.observed, p.incident) for p in first] == [
        (p.premises.id, p.observed, p.incident) for p in simulate_history(300, 5)
    ]


def test_a_later_period_keeps_the_premises_and_carries_an_incident_into_its_fires_of_the_year() -> None:
    first, then = simulate_periods(2000, 5, 2)
    assert [p.premises for p in first] == [p.premises for p in then]
    assert [p.observed for p in first] != [p.observed for p in then]
    assert all(b.observed["fires_365d"] >= float(a.incident) for a, b in zip(first, then, strict=True))
    # a premises' management quality persists: its incidents in one period foretell the next's
    rate = lambda ps: sum(p.incident for p in ps) / len(ps)  # noqa: E731
    burned = [b for a, b in zip(first, then, strict=True) if a.incident]
    spared = [b for a, b in zip(first, then, strict=True) if not a.incident]
    assert rate(burned) > 1.5 * rate(spared)


def test_the_oracle_ranks_by_the_true_chance_and_beats_chance() -> None:
    periods = simulate_history(3000, 8)
    assert all(0.0 < p.probability < 1.0 for p in periods)
    auc = roc_auc_score([p.incident for p in periods], [p.probability for p in periods])
    assert 0.7 < auc < 0.9  # incidents are draws: even the truth ranks them far from perfectly


def test_the_other_city_has_other_mixes() -> None:
    mix, credit = other_city(3)
    elsewhere = simulate_periods(2000, 100_003, 1, mix=mix, credit_mix=credit)[0]
    here = simulate_history(2000, 3)
    share = lambda ps, c: sum(p.premises.category == c for p in ps) / len(ps)  # noqa: E731
    assert max(abs(share(here, c) - share(elsewhere, c)) for c in mix) > 0.02


def test_one_seed_judges_both_models_on_both_splits_beside_the_oracle(models: Models) -> None:
    results = run_trial(RiskTrial(seed=4, premises=1500), None, models)  # type: ignore[arg-type]
    pairs = {(s, m) for s in ("time", "city") for m in ("trained", "in use")}
    assert {(r.split, r.model) for r in results} == pairs | {("city", BEST)}
    for r in results:
        assert r.premises == 1500 and 0 < r.incidents < r.premises
        assert 0.6 < r.auc < r.oracle_auc + 0.05  # a model may beat the oracle on one draw, never by much
        assert r.oracle_lift > 1.5 and not math.isnan(r.lift)
    summaries = summarise(results)
    assert len(targets(summaries)) == 4  # AUC and lift, each split, on the trained model
    best = next(r for r in results if r.model == BEST)
    assert best.auc <= best.oracle_auc + 0.02  # what is observable ranks no better than the truth


def test_the_best_observable_is_a_probability_that_follows_what_monitoring_shows() -> None:
    from simulators import best_observable

    periods = simulate_history(3000, 6)
    best = [best_observable(p) for p in periods]
    assert all(0.0 < b < 1.0 for b in best)
    # it ranks nearly as the truth does, better than chance and no better than the truth itself
    labels = [p.incident for p in periods]
    assert 0.6 < roc_auc_score(labels, best) <= roc_auc_score(labels, [p.probability for p in periods]) + 0.02
    # integrating the quality out: its mean is the truth's mean
    assert sum(best) / len(best) == pytest.approx(sum(p.probability for p in periods) / len(periods), rel=0.05)


def test_a_summary_over_seeds_gives_the_t_interval() -> None:
    s = Summary.of([0.70, 0.72, 0.74])
    assert s.mean == pytest.approx(0.72)
    assert (s.high - s.low) / 2 == pytest.approx(4.303 * 0.02 / math.sqrt(3), rel=1e-3)
    assert math.isnan(Summary.of([0.7]).low)
