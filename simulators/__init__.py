"""Simulators: fleet generation, sensor physics, scenarios with ground truth, and the MQTT publisher.

Empty until the simulators issue lands; it will encode through :mod:`core.wire`, the one
definition of the wire contract.
"""
