"""Ingest: MQTT to validated records with nothing lost.

Decodes the wire contract (:mod:`core.wire`, which the simulators encode), validates, deduplicates,
keeps dead letters, writes readings and events, and hands new records to the stream bus. A library:
the process that runs it is :mod:`firewarden.processes.ingest`.
"""
