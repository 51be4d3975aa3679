"""The supervision report (``firewarden report``, and the console's ``/api/report`` for admins): a
period's figures for a jurisdiction, computed in SQL (:mod:`report.store`), drawn
(:mod:`report.charts`) and written as HTML and PDF in Chinese or English (:mod:`report.render`)."""

from report.errors import PeriodError, ReportError
from report.period import Period, parse_period, timezone
from report.render import Report, write
from report.store import Figures, Table, compute

__all__ = [
    "Figures",
    "Period",
    "PeriodError",
    "Report",
    "ReportError",
    "Table",
    "compute",
    "parse_period",
    "timezone",
    "write",
]
