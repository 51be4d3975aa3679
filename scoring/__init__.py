"""Scoring: stream processors for device state, standards-based rules, alarm verification, anomaly
models and premises risk tiers, driven by the faust app (``kafka`` bus) or the in-process runner.

A library: the processes that run it are in :mod:`firewarden.processes.scoring` (and the faust app,
:mod:`scoring.app`).
"""
