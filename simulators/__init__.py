"""Simulators: fleet generation, sensor physics, scenarios with ground truth, and the MQTT publisher.

Messages are encoded through :mod:`core.wire`, the one definition of the wire contract, which
ingest decodes; the simulators import nothing of the stages.

This module is the package's face: what the command line, the demo and the offline training use.
The rest of the package is internal.
"""

from simulators.ctwing import CtwingPlatform, data_report, event_report, online_report
from simulators.engine import GroundTruth, Outgoing, Simulation
from simulators.errors import PublishError, RecordingError, ScenarioError
from simulators.fleet import generate_fleet, with_webhooks
from simulators.gauge_trials import DEVICE as gauge_device
from simulators.gauge_trials import (
    GAUGE_FAULTS,
    GAUGE_INTERVALS,
    PRESSURE_ONLY,
    SENSOR_FAULTS,
    TANK_ONLY,
    GaugeStream,
    GaugeTrial,
)
from simulators.gauge_trials import registry as gauge_registry
from simulators.gauge_trials import stream as gauge_stream
from simulators.history import PremisesPeriod, best_observable, other_city, simulate_history, simulate_periods
from simulators.inbox import Inbox, Received
from simulators.onenet import OneNetPlatform, event_message, life_cycle_message, property_message, push_body
from simulators.publisher import Publisher, PublishOptions, PublishStats
from simulators.recording import read as read_recording
from simulators.recording import record as record_stream
from simulators.scenarios import Scenario, apply_scenario, background, load_scenario, parse_duration, write_ground_truth
from simulators.trials import CASES, FIRES, HEAT_FIRES, INTERVALS, NOISES, Trial
from simulators.trials import registry as trial_registry
from simulators.trials import stream as trial_stream
from simulators.uitd_tcp import TcpFrames, TcpStats, TcpUitd

__all__ = [
    "CASES",
    "FIRES",
    "GAUGE_FAULTS",
    "GAUGE_INTERVALS",
    "HEAT_FIRES",
    "INTERVALS",
    "NOISES",
    "PRESSURE_ONLY",
    "SENSOR_FAULTS",
    "TANK_ONLY",
    "CtwingPlatform",
    "GaugeStream",
    "GaugeTrial",
    "GroundTruth",
    "Inbox",
    "OneNetPlatform",
    "Outgoing",
    "PremisesPeriod",
    "PublishError",
    "PublishOptions",
    "PublishStats",
    "Publisher",
    "Received",
    "RecordingError",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "TcpFrames",
    "TcpStats",
    "TcpUitd",
    "Trial",
    "apply_scenario",
    "background",
    "best_observable",
    "data_report",
    "event_message",
    "event_report",
    "gauge_device",
    "gauge_registry",
    "gauge_stream",
    "generate_fleet",
    "life_cycle_message",
    "load_scenario",
    "online_report",
    "other_city",
    "parse_duration",
    "property_message",
    "push_body",
    "read_recording",
    "record_stream",
    "simulate_history",
    "simulate_periods",
    "trial_registry",
    "trial_stream",
    "with_webhooks",
    "write_ground_truth",
]
