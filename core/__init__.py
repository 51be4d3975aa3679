"""The ground floor every stage builds on: the domain vocabulary, settings, errors, logging, the
policy file, the database (pool, migrations, roles, the audit log), the registry of premises and
devices, the stream bus, the wire contract and the embedded services.

It imports no stage (``ingest``, ``scoring``, ``alerts``, ``simulators``, ``console``) and not the
composition root (``firewarden``), not even lazily: data flows one way, and the floors above import it.
"""
