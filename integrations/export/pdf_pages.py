"""Pages drawn without WeasyPrint joined into its PDF, and the footer of every page, in a WeasyPrint finisher.

WeasyPrint lays out the review with one empty page where the timeline goes (the element with id
``ANCHOR``, which also carries the timeline's bookmark). The finisher, called with WeasyPrint's
``pydyf.PDF`` after its PDF/A-2b metadata and output intent are written and before the file is, puts the
first timeline page's drawing on that page, inserts the others after it with the same boxes and
resources, adds the timeline's fonts to the shared font resources, and draws the footer of every page
(``WareRoom · review #id`` on the left, ``page / pages`` on the right, 8 pt grey in the bottom margin as
the ``@page`` margin boxes drew it), since only now is the number of pages known. WeasyPrint's own page
content is wrapped in ``q``/``Q`` so its coordinate transform does not reach the added drawing.
"""

from dataclasses import dataclass
from typing import Any

import pydyf

from integrations.export.pdf_font import PdfFont, flate_stream
from integrations.export.timeline_print import PageBox

ANCHOR = "printed-timeline"
FOOTER_SIZE = 8.0  # pt
FOOTER_GREY = 0x77 / 255


@dataclass(frozen=True)
class Insert:
    """Content streams (bytes) to put at the reserved page, with the fonts they draw with."""

    pages: list[bytes]
    fonts: list[PdfFont]


def _object(pdf: pydyf.PDF, value: Any) -> Any:
    """``value`` itself, or the object a reference such as ``b"12 0 R"`` points at."""
    if isinstance(value, bytes | str):
        return pdf.objects[int(value.split()[0])]
    return value


def _stream(pdf: pydyf.PDF, content: bytes) -> bytes:
    stream = flate_stream(content)
    pdf.add_object(stream)
    return bytes(stream.reference)


def reserved_page(document: Any) -> int:
    """Index of the page WeasyPrint laid out for the timeline. Raises LookupError when there is none."""
    for index, page in enumerate(document.pages):
        if ANCHOR in page.anchors:
            return index
    raise LookupError(f"no page holds #{ANCHOR}")


def join_and_number(document: Any, pdf: pydyf.PDF, *, insert: Insert, footer_font: PdfFont, footer: str,
                    page: PageBox) -> None:
    """Finish WeasyPrint's ``pdf``: the timeline pages in place of the reserved one, a footer on every page."""
    at = reserved_page(document)
    kids = pdf.pages["Kids"]
    numbers = list(kids[0::3])
    reserved = pdf.objects[numbers[at]]
    resources = _object(pdf, reserved["Resources"])
    fonts = _object(pdf, resources["Font"])
    added = []
    for _ in insert.pages[1:]:
        new = pydyf.Dictionary({key: value for key, value in reserved.items() if key not in ("Contents", "Annots")})
        pdf.add_object(new)
        added.append(new.number)
    reserved["Contents"] = pydyf.Array()  # WeasyPrint drew nothing on it but the transform
    numbers[at + 1:at + 1] = added
    kids[:] = [part for number in numbers for part in (number, 0, "R")]
    pdf.pages["Count"] = len(numbers)
    opening = _stream(pdf, b"q")
    total = len(numbers)
    drawn = dict(zip([numbers[at], *added], insert.pages, strict=True))
    for position, number in enumerate(numbers, start=1):
        page_dict = pdf.objects[number]
        own = drawn.get(number)
        closing = b"Q\n" + (own + b"\n" if own else b"") + _footer(footer_font, footer, position, total, page)
        before = [opening, page_dict["Contents"]] if own is None else [opening]
        page_dict["Contents"] = pydyf.Array([*before, _stream(pdf, closing)])
    for font in {id(f): f for f in [*insert.fonts, footer_font]}.values():  # once every glyph is known
        if font.used or font is footer_font:
            fonts[font.resource] = font.embed(pdf)


def _footer(font: PdfFont, text: str, position: int, total: int, page: PageBox) -> bytes:
    """The two bottom margin boxes: ``text`` at the left margin, ``position / total`` at the right one,
    their 8 pt line centred in the bottom margin."""
    line = (font.ascender - font.descender) * FOOTER_SIZE
    baseline = page.bottom / 2 + line / 2 - font.ascender * FOOTER_SIZE
    number = f"{position} / {total}"
    right = page.width - page.right - font.width(number, FOOTER_SIZE)
    grey = f"{FOOTER_GREY:.3f}"
    return (f"BT /{font.resource} {FOOTER_SIZE:g} Tf {grey} {grey} {grey} rg "
            f"1 0 0 1 {page.left:.2f} {baseline:.2f} Tm {font.encode(text)} Tj "
            f"1 0 0 1 {right:.2f} {baseline:.2f} Tm {font.encode(number)} Tj ET").encode()
