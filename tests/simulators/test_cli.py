"""`firewarden simulate` as a user runs it: fleet file, deterministic runs, replay into a real broker."""

from __future__ import annotations

from pathlib import Path

from core import registry
from core.addresses import MqttUrl
from tests.simulators.test_publisher import Counter, assert_no_gaps
from tests.test_cli import firewarden

START = "2026-01-05T08:00:00+08:00"


def test_fleet_run_and_replay(tmp_path: Path, mosquitto: MqttUrl) -> None:
    fleet = tmp_path / "fleet.yaml"
    made = firewarden("simulate", "fleet", "--premises", "12", "--seed", "4", "-o", str(fleet))
    assert made.returncode == 0, made.stderr
    assert len(registry.load(fleet).premises) == 12

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("duration: 1h\nevents:\n  - {kind: fire, at: 10m}\nrandom: {malformed: 1, offline: 1}\n")
    outputs = []
    for n in (1, 2):
        run = firewarden(
            "simulate",
            "run",
            "--fleet",
            str(fleet),
            "--scenario",
            str(scenario),
            "--seed",
            "7",
            "--start",
            START,
            "--dry-run",
            "--record",
            str(tmp_path / f"s{n}.jsonl"),
            "--ground-truth",
            str(tmp_path / f"gt{n}.jsonl"),
        )
        assert run.returncode == 0, run.stderr
        outputs.append(((tmp_path / f"s{n}.jsonl").read_bytes(), (tmp_path / f"gt{n}.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    assert b'"kind":"fire"' in outputs[0][1]

    stream_lines = outputs[0][0].count(b"\n")
    counter = Counter(mosquitto)
    try:
        replayed = firewarden(
            "simulate",
            "replay",
            str(tmp_path / "s1.jsonl"),
            "--speed",
            "0",
            "--qos",
            "1",
            env={"FIREWARDEN_MQTT_URL": f"mqtt://{mosquitto.host}:{mosquitto.port}"},
        )
        assert replayed.returncode == 0, replayed.stderr
        assert f"{stream_lines:,} messages replayed, 0 errors" in replayed.stdout
        counter.wait_for(stream_lines)
    finally:
        counter.close()
    assert counter.count == stream_lines  # malformed ones too: MQTT carries them, ingest refuses them
    assert_no_gaps(counter)


def test_a_bad_scenario_names_event_and_field(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    assert firewarden("simulate", "fleet", "--premises", "3", "-o", str(fleet)).returncode == 0
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("events:\n  - {kind: tsunami, at: 1m}\n")
    run = firewarden(
        "simulate",
        "run",
        "--fleet",
        str(fleet),
        "--scenario",
        str(scenario),
        "--dry-run",
        "--start",
        START,
        "--ground-truth",
        str(tmp_path / "gt.jsonl"),
    )
    assert run.returncode == 1
    assert "events[0]: field 'kind': unknown kind 'tsunami'" in run.stderr
