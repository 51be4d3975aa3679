"""Ingest: MQTT to validated records with nothing lost.

Owns the wire contract (:mod:`core.wire`), validation, dedup, dead letters, the writers of
readings and events, and the hand-off to the stream bus. The subscriber and writers arrive with the
ingest issue; the wire contract is here first because simulators and ingest share it.
"""
