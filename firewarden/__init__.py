"""Firewarden: fire-safety monitoring for high-rise and multi-use buildings.

This package is the top floor, the composition root: the ``firewarden`` command and every process it
runs (``ingest``, ``score``, ``alerts``, ``console``, ``up`` with all of them in one, ``demo``), their
signal handling, health endpoints and the live summary. It is the only package that imports every
stage; the stages import the core (``core``) and what lies upstream of them.
"""

import signal
import threading
from importlib.metadata import PackageNotFoundError, version


def _interruptible() -> None:
    """Ctrl-C stops Firewarden from its first moment. A process started with SIGINT ignored (from a
    script's ``&``) would otherwise lose a Ctrl-C that comes while the command line is still loading
    (a second or more on a busy machine), before ``firewarden.cli.main`` sets its handlers."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_interruptible()

try:
    __version__ = version("firewarden")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
