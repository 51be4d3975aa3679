"""Joining decisions with ground truth, and the evaluation's plot."""

from __future__ import annotations

from pathlib import Path

from scoring.records import AlarmDecision, Signal
from simulators.engine import GroundTruth
from tests.scoring.helpers import T0, at
from training.evaluation import judge, plot


def _alarm(t: float, premises: str, classification: str) -> AlarmDecision:
    return AlarmDecision(at(t), premises, f"D:{t}", 1, "1F", classification, "test", "D:1", at(t))  # type: ignore[arg-type]


def test_judge_counts_fires_nuisances_and_signals_per_kind(tmp_path: Path) -> None:
    truths = [
        GroundTruth("gt-1", "fire", "incident", "confirmed_fire", T0, T0 + 600, premises_id="P-A"),
        GroundTruth("gt-2", "fire", "incident", "confirmed_fire", T0, T0 + 600, premises_id="P-B"),
        GroundTruth("gt-3", "cooking_nuisance", "nuisance", "nuisance", T0, T0 + 300, premises_id="P-C"),
        GroundTruth("gt-4", "offline", "device_fault", "device_fault", T0, T0 + 3600, "P-D", ["D-1"]),
    ]
    decisions = [
        _alarm(60, "P-A", "unverified"),
        _alarm(90, "P-A", "confirmed"),
        _alarm(30, "P-B", "unverified"),  # never confirmed: a fire lost
        _alarm(10, "P-C", "unverified"),
        Signal(at(400), "P-D", "D-1", "device_offline", "trouble", "raised"),
    ]
    ev = judge(truths, decisions, [0.001, 0.002], 5, 0.8)
    assert (ev.fires, ev.fires_confirmed) == (2, 1)
    assert ev.kinds["fire"].delays == [90.0]
    assert (ev.nuisance_alarms, ev.nuisance_escalated, ev.nuisance_not_escalated) == (1, 0, 1.0)
    assert (ev.kinds["offline"].detected, ev.kinds["offline"].delays) == (1, [400.0])
    path = tmp_path / "evaluation.png"
    plot(ev, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
