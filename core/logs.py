"""Logging for every Firewarden process: stdlib ``logging`` everywhere, rendered by structlog.

Modules log through ``logging.getLogger(__name__)`` and pass facts as ``extra={...}``. The setting
``log_format`` picks the rendering: ``text`` (a line for people) or ``json`` (one object per line,
with ``timestamp``, ``level``, ``logger``, ``event`` and every extra field, for log collectors).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog


def configure_logging(level: str, fmt: Literal["text", "json"]) -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request at info; the dispatcher records each attempt in the database instead.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
