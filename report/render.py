"""The report as HTML (Jinja2) and as PDF (WeasyPrint, from the same HTML): one page of markup to read
in a browser, to print, and to archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import jinja2

from core.pdf import html_to_pdf
from core.words import Lang, word
from report import charts
from report.store import TIERS, Figures, Table
from report.words import TEXT

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)

# How the first column of each table is named: a vocabulary group, or the report's own words.
_KEYS = {
    "premises": ("category", None),
    "live": ("class", None),
    "tier_moves": ("tier", "tier"),
    "inspections": ("task_kind", None),
    "hazards_by_source": ("hazard_source", None),
    "hazards_by_rule": ("rule", None),
    "enforcement": ("measure", None),
    "credit": ("credit", None),
    "alarms_by_jurisdiction": (None, None),
    "alarms_by_month": (None, None),
    "devices": ("device_type", None),
    "faults_by_rule": ("rule", None),
    "notices": ("tier", None),
}
_SHARES = {"false_alarm_share", "offline_share"}
_SECONDS = {"ack_p50_s", "ack_p90_s"}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A table as it is printed: its header and cells as text."""

    header: list[str]
    rows: list[list[str]]


class Report:
    """The figures in one language: ``html()`` and ``pdf()``."""

    def __init__(self, figures: Figures, lang: Lang) -> None:
        self.figures = figures
        self.lang = lang
        self.text = TEXT[lang]

    def name(self, group: str | None, code: object) -> str:
        if group is None:
            return str(code)
        if group == "measure":  # the report's own words, not the shared vocabulary
            return self.text.get(f"{group}.{code}", str(code))
        return word(self.lang, group, None if code is None else str(code))

    def cell(self, column: str, value: object) -> str:
        if value is None:
            return "—"
        if column in _SHARES and isinstance(value, int | float | Decimal):
            return f"{100 * float(value):.1f}%"
        if column in _SECONDS and isinstance(value, int | float | Decimal):
            return f"{float(value):.0f}"
        if isinstance(value, float):  # sums of money and other measures: whole when whole, thousands grouped
            return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
        return str(value)

    def table(self, key: str) -> Rendered:
        table = self.figures.tables[key]
        first, second = _KEYS[key]
        # a column named after a tier (premises by tier) takes the tier's name
        header = [word(self.lang, "tier", c) if c in TIERS else self.text.get(f"col.{c}", c) for c in table.columns]
        rows = []
        for r in table.rows:
            cells = [self.name(first, r[0])]
            if second is not None:
                cells.append(self.name(second, r[1]))
                rest = list(zip(table.columns[2:], r[2:], strict=True))
            else:
                rest = list(zip(table.columns[1:], r[1:], strict=True))
            cells.extend(self.cell(c, v) for c, v in rest)
            rows.append(cells)
        return Rendered(header, rows)

    def charts(self) -> dict[str, str]:
        t, tables, empty = self.text, self.figures.tables, self.text["none"]
        premises = tables["premises"]
        moves = tables["tier_moves"]
        inspections = tables["inspections"]
        hazards = tables["hazards_by_source"]
        months = tables["alarms_by_month"]
        by_jurisdiction = tables["alarms_by_jurisdiction"]
        devices = tables["devices"]
        col = {c: t[f"col.{c}"] for c in ("due", "done", "done_on_time", "overdue", "found", "rectified",
                                           "alarms", "fires", "ack_p50_s", "ack_p90_s", "offline_share")}  # fmt: skip
        return {
            "premises": charts.stacked_bars(
                [word(self.lang, "category", c) for c in premises.texts("category")],
                {tier: premises.counts(tier) for tier in TIERS},
                charts.TIER_COLOURS,
                {tier: word(self.lang, "tier", tier) for tier in TIERS},
                empty,
            ),
            "tier_moves": charts.grouped_bars(
                [f"{word(self.lang, 'tier', str(a))} → {word(self.lang, 'tier', str(b))}" for a, b, _ in moves.rows],
                {"premises_moves": moves.numbers("premises_moves")},
                {"premises_moves": t["col.premises_moves"]},
                empty,
            ),
            "inspections": charts.grouped_bars(
                [word(self.lang, "task_kind", k) for k in inspections.texts("kind")],
                {c: inspections.numbers(c) for c in ("due", "done", "done_on_time", "overdue")},
                col,
                empty,
            ),
            "hazards": charts.grouped_bars(
                [word(self.lang, "hazard_source", k) for k in hazards.texts("key")],
                {c: hazards.numbers(c) for c in ("found", "rectified", "overdue")},
                col,
                empty,
            ),
            "alarms_month": charts.monthly(
                months.texts("month"),
                {c: months.counts(c) for c in ("alarms", "fires")},
                months.numbers("false_alarm_share"),
                col,
                t["col.false_alarm_share"],
                empty,
            ),
            "ack": charts.grouped_bars(
                by_jurisdiction.texts("jurisdiction"),
                {c: by_jurisdiction.numbers(c) for c in ("ack_p50_s", "ack_p90_s")},
                col,
                empty,
                integer=False,
            ),
            "devices": charts.grouped_bars(
                [word(self.lang, "device_type", k) for k in devices.texts("device_type")],
                {"offline_share": [100 * s for s in devices.counts("offline_share")]},
                {"offline_share": t["col.offline_share"] + " (%)"},
                empty,
                integer=False,
            ),
        }

    def summary(self) -> list[tuple[str, str]]:
        totals, tables = self.figures.totals, self.figures.tables
        hazards: Table = tables["hazards_by_source"]
        return [
            (self.text["k.premises"], str(totals["premises"])),
            (self.text["k.inspections_done"], str(int(sum(tables["inspections"].counts("done"))))),
            (self.text["k.hazards_found"], str(int(sum(hazards.counts("found"))))),
            (self.text["k.hazards_rectified"], str(int(sum(hazards.counts("rectified"))))),
            (self.text["k.alarms"], str(totals["alarms"])),
            (self.text["k.fires"], str(totals["fires"])),
            (self.text["k.false_share"], self.cell("false_alarm_share", totals["false_alarm_share"])),
            (self.text["k.ack_p50"], self.cell("ack_p50_s", totals["ack_p50_s"]) + " " + self.text["seconds"]),
            (self.text["k.ack_p90"], self.cell("ack_p90_s", totals["ack_p90_s"]) + " " + self.text["seconds"]),
        ]

    def html(self) -> str:
        f = self.figures
        scope = (
            f"{f.jurisdiction['name']} ({f.jurisdiction['id']})"
            if f.jurisdiction is not None
            else self.text["scope.all"]
        )
        return _ENV.get_template("report.html.j2").render(
            lang=self.lang,
            t=self.text,
            scope=scope,
            period=f.period,
            last_day=_last_day(f.period.end),
            generated=f.generated_at.astimezone(f.period.start.tzinfo),
            summary=self.summary(),
            charts=self.charts(),
            table=self.table,
        )

    def pdf(self) -> bytes:
        return html_to_pdf(self.html())


def _last_day(end: datetime) -> str:
    return f"{end - timedelta(seconds=1):%Y-%m-%d}"


def write(report: Report, directory: Path, stem: str) -> tuple[Path, Path]:
    """``<stem>.html`` and ``<stem>.pdf`` in ``directory`` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    html, pdf = directory / f"{stem}.html", directory / f"{stem}.pdf"
    html.write_text(report.html(), encoding="utf-8")
    pdf.write_bytes(report.pdf())
    return html, pdf
