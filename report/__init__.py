"""The supervision report (``firewarden report``, and the console's ``/api/report`` for admins): a
period's figures for a jurisdiction, computed in SQL (:mod:`report.figures`), drawn
(:mod:`report.charts`) and written as HTML and PDF in Chinese or English (:mod:`report.render`)."""

from report.errors import PeriodError, ReportError
from report.figures import Figures, Table, compute
from report.period import Period, parse_period, timezone
from report.render import Report, write

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
