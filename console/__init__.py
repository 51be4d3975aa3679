"""Console: the operator console and inspector web and API, over the database.

A library: the process that serves it is :mod:`firewarden.processes.console`. People's actions go
through the faces of the stages they change (:class:`alerts.Actions`, :class:`supervision.Supervision`);
the routes read through the read modules of :mod:`console.store` (the only psycopg users here).

This module is the stage's face: what other packages may use. The rest of the package is internal.
"""

from console.api import build_console, create_app
from console.errors import AccountError, Throttled
from console.security import Console
from console.store.accounts import Accounts

__all__ = ["AccountError", "Accounts", "Console", "Throttled", "build_console", "create_app"]
