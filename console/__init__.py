"""Console: the operator console and inspector web and API, over the database (read side).

A library: the process that serves it is :mod:`firewarden.processes.console`; people's actions go
through :mod:`alerts.actions`.
"""
