"""HTML to PDF with WeasyPrint, for the yearly report and the enforcement documents."""

from __future__ import annotations

import logging


def html_to_pdf(html: str) -> bytes:
    """The page as PDF. Pango and the fonts load on the first call, not at import."""
    # WeasyPrint reports its progress (from its import on) and every SVG presentation property its CSS
    # parser skips (matplotlib styles its shapes so; the SVG renderer draws them): noise to whoever
    # asked for a document.
    for name in ("weasyprint", "weasyprint.progress"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import weasyprint  # type: ignore[import-untyped]

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
