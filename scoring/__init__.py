"""Scoring: stream processors for device state, standards-based rules, alarm verification, anomaly
models and premises risk tiers, driven by the faust app (``kafka`` bus) or the in-process runner.

Empty until the scoring issue lands; the package exists so the layout of the design card holds.
"""
