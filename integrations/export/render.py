"""A ``Review`` rendered as Markdown, HTML, PDF/A-2b (WeasyPrint, sealed with pyHanko), JSON or CSV.

The templates beside this file show Chinese, English or both (``lang``); the JSON and CSV keep both and
the raw audit values for machines. The PDF prints every timeline event: WeasyPrint lays out the rest of
the review, the timeline's pages are drawn directly (``timeline_print``) and joined to WeasyPrint's before
the seal (``pdf_pages``), in the same font, page box and footer.
"""

import base64
import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from handlers.review_model import Bi, Review
from handlers.review_story import local_minute, value_text
from handlers.text import duration_text
from integrations.export.chart import readings_chart
from integrations.export.formats import ReviewFormat
from integrations.export.formatting import local, local_seconds
from integrations.export.language import Lang, pick
from integrations.export.pdf_font import PdfFont, find_font
from integrations.export.pdf_pages import ANCHOR, Insert, join_and_number
from integrations.export.pictures import Picture
from integrations.export.seal import Seal, seal_pdf
from integrations.export.timeline_print import Fonts, PageBox, TimelineLayout

TEMPLATES = Path(__file__).resolve().parent / "templates"
PDF_VARIANT = "pdf/a-2b"  # ISO 19005-2 level B: archived as it looks, transparency allowed (the chart has some)
FONT_FAMILIES = '"Noto Sans CJK SC", "Noto Sans CJK JP", "Microsoft YaHei", "PingFang SC", "DejaVu Sans", sans-serif'
FALLBACK_FAMILY = "DejaVu Sans"  # draws the timeline's characters the CJK font lacks (symbols, Latin Extended)
PAGE = PageBox()  # A4, margins 14 12 16 12 mm

CSV_COLUMNS = ("at_utc", "at_local", "who", "action", "text_zh", "text_en", "object", "detail", "reason")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html.j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["duration"] = duration_text
    return env


_ENV = _environment()



def _context(review: Review, *, lang: Lang, for_print: bool, seal: Seal | None = None,
             pictures: Mapping[str, Picture] | None = None) -> dict[str, Any]:
    chart = readings_chart(review, lang=lang, fmt="svg")
    metric = review.exposure.metric if review.exposure else (review.series[0].metric if review.series else None)
    return {
        "r": review,
        "lang": lang,
        "L": lambda zh, en: pick(Bi(zh, en), lang),
        "B": lambda text: pick(text, lang) if text is not None else "-",
        "v": lambda value: value_text(value, metric) if value is not None else "-",
        "t": lambda moment: local(moment, review.timezone),
        "ts": lambda moment: local_seconds(moment, review.timezone),
        "tm": lambda moment: local_minute(moment, review.timezone) if moment else "-",
        "chart": base64.b64encode(chart).decode() if chart else None,
        "overdue": sum(step.overdue for step in review.steps),
        "skipped": sum(step.status == "skipped" for step in review.steps),
        "for_print": for_print,
        "page_css": PAGE.css(),
        "font_families": FONT_FAMILIES,
        "timeline_anchor": ANCHOR,
        "seal": seal,
        "pictures": pictures or {},
    }


def render_markdown(review: Review, *, lang: Lang = "both") -> str:
    """The review as Markdown (the chart is left to the HTML and PDF)."""
    return _ENV.get_template("review.md.j2").render(_context(review, lang=lang, for_print=False) | {"chart": None})


def render_html(review: Review, *, lang: Lang = "both", for_print: bool = False, seal: Seal | None = None,
                pictures: Mapping[str, Picture] | None = None) -> str:
    """The review as one self-contained HTML page (the chart embedded as SVG, the pictures as data URIs)."""
    return _ENV.get_template("review.html.j2").render(_context(review, lang=lang, for_print=for_print, seal=seal,
                                                               pictures=pictures))


def _finish(document: Any, pdf: Any, *, insert: Insert, footer_font: PdfFont, footer: str) -> None:
    """WeasyPrint's finisher: the timeline pages and every page's footer (``pdf_pages``); the Info /Producer
    dropped so that the seal's incremental update writes one Producer to both the Info dictionary and the
    XMP (they must agree for PDF/A readers)."""
    join_and_number(document, pdf, insert=insert, footer_font=footer_font, footer=footer, page=PAGE)
    pdf.info.pop("Producer", None)


def render_pdf(review: Review, *, lang: Lang = "both", seal: Seal | None = None,
               pictures: Mapping[str, Picture] | None = None) -> bytes:
    """The review as an A4 PDF/A-2b file with every timeline event, sealed with ``seal`` (pyHanko) when one
    is given. Raises ``pdf_font.FontUnavailable`` when fontconfig or HarfBuzz cannot give the font."""
    from weasyprint import HTML

    html = render_html(review, lang=lang, for_print=True, seal=seal, pictures=pictures)
    fallbacks = (PdfFont(find_font(FALLBACK_FAMILY, bold=False), "WRtlf"),
                 PdfFont(find_font(FALLBACK_FAMILY, bold=True), "WRtlfb"))
    fonts = Fonts(PdfFont(find_font(FONT_FAMILIES, bold=False), "WRtl", fallbacks[0]),
                  PdfFont(find_font(FONT_FAMILIES, bold=True), "WRtlb", fallbacks[1]))
    timeline = TimelineLayout(review, lang, fonts, PAGE)
    footer = f"WareRoom · {pick(Bi('事件复盘', 'Post-incident review'), lang)} #{review.incident_id}"
    finisher = partial(_finish, insert=Insert(timeline.pages, [fonts.regular, fonts.bold, *fallbacks]),
                       footer_font=fonts.regular, footer=footer)
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(pdf_variant=PDF_VARIANT, finisher=finisher)
    if seal is None:
        return pdf
    return seal_pdf(pdf, seal, reason=f"WareRoom post-incident review #{review.incident_id}")


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
                         entry.text.zh, entry.text.en, entry.object_id or "", entry.detail, entry.reason or ""])
    return buffer.getvalue()


def render(review: Review, fmt: ReviewFormat, *, lang: Lang = "both", seal: Seal | None = None,
           pictures: Mapping[str, Picture] | None = None) -> bytes:
    """The review in ``fmt`` as bytes; ``lang`` picks the language of MD, HTML and PDF; ``pictures``
    (``integrations.export.pictures``) are embedded in the HTML and PDF."""
    if fmt is ReviewFormat.PDF:
        return render_pdf(review, lang=lang, seal=seal, pictures=pictures)
    if fmt is ReviewFormat.MD:
        return render_markdown(review, lang=lang).encode("utf-8")
    if fmt is ReviewFormat.HTML:
        return render_html(review, lang=lang, pictures=pictures).encode("utf-8")
    return (render_json(review) if fmt is ReviewFormat.JSON else render_csv(review)).encode("utf-8")
