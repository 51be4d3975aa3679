"""Policy what-if on recorded streams (training/whatif.py, `firewarden replay`), and the verification matrix's
arithmetic (training/verification.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import registry as registry_files
from core.db import connect
from core.policy import Policy, VerificationPolicy
from core.registry import RegistryFile
from core.registry.store import import_registry
from ingest.records import Record
from scoring.models import Models
from simulators.engine import Outgoing
from simulators.trials import Trial, merged, registry, stream
from tests.test_cli import firewarden
from training import whatif
from training.replay import accepted_records
from training.store import stored_stream
from training.verification import Confusion, Grid, run, targets, wilson

PLACES = [f"P-WI{n}" for n in range(8)]


def _two_detector_day() -> tuple[RegistryFile, list[Outgoing]]:
    """Eight two-detector fires in eight premises, an hour apart (the second detector 10-120 s after the first)."""
    messages: list[Outgoing] = []
    for seed, premises in enumerate(PLACES):
        trial = Trial("two_detectors", 60.0, 0.2, "ordinary", seed)
        messages += stream(trial, start=1_780_000_000.0 + seed * 3600, premises=premises).messages
    return merged([registry("ordinary", 60.0, p) for p in PLACES]), sorted(messages, key=lambda m: m.at)


def _records(reg: RegistryFile, messages: list[Outgoing]) -> list[Record]:
    return [r for _, batch in accepted_records(reg, messages) for r in batch]


def test_a_shorter_window_is_shown_as_fires_no_longer_confirmed(models: Models) -> None:
    reg, messages = _two_detector_day()
    before, after = whatif.replay(
        Policy(),
        Policy(verification=VerificationPolicy(window_s=60, heat_wait_max_s=60)),
        models,
        reg,
        _records(reg, messages),
    )
    assert len(before.confirmed) == 8  # every second detector within 180 s
    rows, changed = whatif.compare(before, after)
    by_name = {row.name: row for row in rows}
    late = 8 - len(after.confirmed)
    assert late > 0 and by_name["confirmed fires"].difference == -late
    no_longer = [c for c in changed if c.before == "confirmed (two_detectors)"]
    assert len(no_longer) == late and all(c.after.startswith("unverified") for c in no_longer)
    # ... and each late second detector opens an episode of its own, which the policy in force never had
    assert [c.before for c in changed if c not in no_longer] == ["-"] * late
    # an incident raised to a fire counts as a fire; each late episode is an alarm incident of its own
    assert by_name["fire incidents"].before == 8 and by_name["fire incidents"].after == 8 - late
    assert (by_name["alarm incidents"].before, by_name["alarm incidents"].after) == (0, 2 * late)


def test_replay_from_the_database_reads_what_was_stored(models: Models, migrated_url: str) -> None:
    reg, messages = _two_detector_day()
    records = _records(reg, messages)
    with connect(migrated_url) as conn:
        import_registry(conn, reg, source="test")
        with conn.cursor() as cur:
            for r in records:
                if r.__class__.__name__ == "Reading":
                    cur.execute(
                        "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        (r.time, r.premises_id, r.device_id, r.metric, r.value, r.seq),  # type: ignore[union-attr]
                    )
                else:
                    cur.execute(
                        "INSERT INTO events (time, premises_id, device_id, seq, kind, component_type, loop, address, "
                        "zone, detail, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (r.time, r.premises_id, r.device_id, r.seq, r.kind, r.component_type, r.loop,  # type: ignore[union-attr]
                         r.address, r.zone, r.detail, r.received_at),  # type: ignore[union-attr]
                    )  # fmt: skip
        conn.commit()
    first = min(r.time for r in records)
    stored_registry, stored = stored_stream(migrated_url, first, first + timedelta(days=1))
    assert len(stored) == len(records)
    assert {p.id for p in stored_registry.premises} == set(PLACES)
    direct = whatif.score(Policy(), models, reg, records)
    again = whatif.score(Policy(), models, stored_registry, stored)
    assert [d for d in again if d.__class__.__name__ == "AlarmDecision"] == [
        d for d in direct if d.__class__.__name__ == "AlarmDecision"
    ]


def test_firewarden_replay_prints_both_policies_and_the_episodes_judged_differently(tmp_path: Path) -> None:
    reg, messages = _two_detector_day()
    (tmp_path / "fleet.json").write_text(registry_files.dump(reg, "json"), encoding="utf-8")
    with (tmp_path / "day.jsonl").open("w") as out:
        for m in messages:
            line = {"i": m.index, "at": m.at, "topic": m.topic, "payload": base64.b64encode(m.payload).decode()}
            out.write(json.dumps(line) + "\n")
    (tmp_path / "short.toml").write_text("[verification]\nwindow_s = 60\nheat_wait_max_s = 60\n")
    done = firewarden(
        "replay", "--recording", str(tmp_path / "day.jsonl"), "--registry", str(tmp_path / "fleet.json"),
        "--policy", str(tmp_path / "short.toml"), env={"COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "confirmed fires" in done.stdout and "alarm episodes judged differently" in done.stdout
    [confirmed] = [line for line in done.stdout.splitlines() if "confirmed fires" in line]
    assert confirmed.split("│")[2].strip() == "8"
    neither = firewarden("replay", "--policy", str(tmp_path / "short.toml"))
    assert neither.returncode == 2 and "give either --recording FILE or --since and --until" in neither.stderr


def test_wilson_intervals_are_the_textbook_ones() -> None:
    assert wilson(0, 3150)[1] == pytest.approx(0.001218, abs=1e-6)  # zero in 3,150: under 1 %
    low, high = wilson(95, 100)
    assert (low, high) == (pytest.approx(0.8882, abs=1e-4), pytest.approx(0.9785, abs=1e-4))


def test_a_small_matrix_meets_its_targets_on_its_cells_and_counts_the_confusion(models: Models) -> None:
    grid = Grid(
        cases=("lone_alarm", "flaming_fire", "two_smoke_alarms", "cooking"),
        intervals=(2.0, 300.0),
        noises=(0.5,),
        uses=("ordinary", "kitchen"),
        seeds=3,
    )
    results = run(grid, Policy(), models, workers=2)
    assert len(results) == grid.size == 48
    confusion = Confusion.of(results)
    assert confusion.fires_confirmed + confusion.fires_missed == 24
    assert confusion.nuisance_confirmed == sum(  # only cooking outside a kitchen is read as heat
        1 for r in results if r.confirmed and r.trial.case == "cooking"
    )
    found = {t.name.split(":")[0].split(",")[0]: t for t in targets(results, Policy()) if t.required}
    # twelve lone alarms cannot bound the rate under 1 %, but none may be confirmed
    assert found["lone alarm"].figure.startswith("0/12 confirmed") and not found["lone alarm"].met
    assert all(t.met for name, t in found.items() if name != "lone alarm"), found


def test_a_process_pool_and_one_process_give_the_same_results(models: Models) -> None:
    grid = Grid(cases=("flaming_late",), intervals=(10.0,), noises=(1.0,), uses=("ordinary",), seeds=4)
    assert run(grid, Policy(), models, workers=1) == run(grid, Policy(), models, workers=2)


def test_replay_refuses_half_a_period() -> None:
    done = firewarden("replay", "--policy", "x.toml", "--since", datetime.now(UTC).isoformat())
    assert done.returncode == 2 and "--since and --until are both needed" in done.stderr
