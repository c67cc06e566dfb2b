"""A ``Review`` rendered as Markdown, HTML, PDF (WeasyPrint), JSON or CSV, from the templates beside this file."""

import base64
import csv
import io
import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from handlers.review import Review
from integrations.export.chart import readings_chart
from integrations.export.formatting import duration, local, local_seconds

TEMPLATES = Path(__file__).resolve().parent / "templates"


class ReviewFormat(StrEnum):
    MD = "md"
    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    CSV = "csv"


MEDIA_TYPES = {ReviewFormat.MD: "text/markdown; charset=utf-8", ReviewFormat.HTML: "text/html; charset=utf-8",
               ReviewFormat.PDF: "application/pdf", ReviewFormat.JSON: "application/json",
               ReviewFormat.CSV: "text/csv; charset=utf-8"}
CSV_COLUMNS = ("at_utc", "at_local", "who", "action", "text_zh", "text_en", "object", "detail", "reason")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html.j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["duration"] = duration
    return env


_ENV = _environment()


PRINT_TIMELINE_ROWS = 400  # a printed review keeps the first and last 200 events; the rest is in the other formats


def _context(review: Review, *, for_print: bool) -> dict[str, Any]:
    chart = readings_chart(review, fmt="svg")
    events = review.timeline
    half = PRINT_TIMELINE_ROWS // 2
    cut = for_print and len(events) > PRINT_TIMELINE_ROWS
    return {
        "timeline_head": events[:half] if cut else events,
        "timeline_tail": events[-half:] if cut else [],
        "omitted": len(events) - PRINT_TIMELINE_ROWS if cut else 0,
        "r": review,
        "t": lambda moment: local(moment, review.timezone),
        "ts": lambda moment: local_seconds(moment, review.timezone),
        "chart": base64.b64encode(chart).decode() if chart else None,
        "overdue": sum(step.overdue for step in review.steps),
        "skipped": sum(step.status == "skipped" for step in review.steps),
        "for_print": for_print,
    }


def render_markdown(review: Review) -> str:
    """The review as Markdown (the chart is left to the HTML and PDF)."""
    return _ENV.get_template("review.md.j2").render(_context(review, for_print=False) | {"chart": None})


def render_html(review: Review, *, for_print: bool = False) -> str:
    """The review as one self-contained HTML page (the chart embedded as SVG)."""
    return _ENV.get_template("review.html.j2").render(_context(review, for_print=for_print))


def render_pdf(review: Review) -> bytes:
    """The review as a printable PDF (A4)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=render_html(review, for_print=True), base_url=str(TEMPLATES)).write_pdf()
    return pdf


def render_json(review: Review) -> str:
    """The machine-readable bundle: every field, times in UTC ISO 8601."""
    return json.dumps(asdict(review), ensure_ascii=False, indent=2, default=lambda v: v.isoformat())


def render_csv(review: Review) -> str:
    """The timeline (the audit trail of the incident) as CSV, one row per event."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in review.timeline:
        writer.writerow([entry.at.isoformat(), local(entry.at, review.timezone), entry.who, entry.action,
                         entry.text_zh, entry.text_en, entry.object_id or "", entry.detail, entry.reason or ""])
    return buffer.getvalue()


def render(review: Review, fmt: ReviewFormat) -> bytes:
    """The review in ``fmt`` as bytes."""
    if fmt is ReviewFormat.PDF:
        return render_pdf(review)
    text = {ReviewFormat.MD: render_markdown, ReviewFormat.HTML: render_html, ReviewFormat.JSON: render_json,
            ReviewFormat.CSV: render_csv}[fmt](review)
    return text.encode("utf-8")
