"""Simulators: fleet generation, sensor physics, scenarios with ground truth, and the MQTT publisher.

Messages are encoded through :mod:`core.wire`, the one definition of the wire contract, which
ingest decodes; the simulators import nothing of the stages.
"""
