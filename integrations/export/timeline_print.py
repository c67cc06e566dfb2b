"""The printed timeline: every event of a review laid out as table pages and drawn as PDF content streams.

WeasyPrint lays out each table cell through its CSS cascade, box tree and Pango line breaking, about
16 ms of CPU per timeline row (2026-11-30 profile of 1,000 rows; 0.9 ms even as bare paragraphs), so a
review of 10,000 events took minutes. This module draws the same table in the review's style directly:
columns 13 / 13 / 54 / 20 % (time, who, what happened, reason), 8.6 pt text on 1.45 lines, cell padding
0.25 em × 0.45 em, collapsed 1 px borders, the header row repeated on every page; text wraps at spaces
and between CJK characters (never before closing punctuation), and a word wider than its column is cut
anywhere (``overflow-wrap: anywhere``); nothing is clipped. The drawing is joined to WeasyPrint's pages by
``integrations.export.pdf_pages``.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from handlers.review_model import Review, TimelineEntry
from integrations.export.formatting import local_seconds
from integrations.export.language import Lang
from integrations.export.pdf_font import PdfFont

PX = 0.75  # points per CSS pixel
MM = 72 / 25.4  # points per millimetre
FONT_SIZE = 8.6  # pt, the printed body
LINE_HEIGHT = 1.45  # em
PAD_V, PAD_H = 0.25 * FONT_SIZE, 0.45 * FONT_SIZE  # cell padding, pt
BORDER = 1 * PX  # pt, collapsed cell borders
COLUMNS = (0.13, 0.13, 0.54, 0.20)  # share of the table's width: time, who, what happened, reason
HEADING_SIZE = 1.15 * FONT_SIZE  # h2
INK = (0x1F, 0x23, 0x28)
MUTED = (0x57, 0x60, 0x6A)
GRID = (0xD0, 0xD7, 0xDE)
HEADER_FILL = (0xF3, 0xF5, 0xF7)
RULE = (0xE1, 0xE4, 0xE8)
_GRID_STROKE = " ".join(f"{c / 255:.3f}" for c in GRID) + f" RG {BORDER:g} w"
_NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…·,.;:?!)]}%")
_NO_LINE_END = set("（《「『【〔〈“‘([{")


@dataclass(frozen=True)
class PageBox:
    """An A4 page and its margins in points (the review's ``@page`` rule)."""

    width: float = 210 * MM
    height: float = 297 * MM
    top: float = 14 * MM
    right: float = 12 * MM
    bottom: float = 16 * MM
    left: float = 12 * MM

    @property
    def content_width(self) -> float:
        return self.width - self.left - self.right

    def css(self) -> str:
        """The ``size`` and ``margin`` declarations of the same page, for the template's ``@page``."""
        return (f"size: A4; margin: {self.top / MM:g}mm {self.right / MM:g}mm {self.bottom / MM:g}mm "
                f"{self.left / MM:g}mm")


@dataclass(frozen=True)
class Fonts:
    """The regular and bold faces of the review's font family, as drawn on the timeline pages."""

    regular: PdfFont
    bold: PdfFont


@cache
def _color(rgb: tuple[int, int, int], operator: str) -> str:
    return " ".join(f"{c / 255:.3f}" for c in rgb) + f" {operator}"


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def _tokens(text: str) -> Iterator[str]:
    """``text`` cut at its break opportunities; spaces stay at the end of the token before them."""
    start = 0
    for i in range(1, len(text)):
        before, char = text[i - 1], text[i]
        if char == " ":
            continue
        if before == " " or (before in "-/" and char.isalnum()) or \
                ((_wide(before) or _wide(char)) and char not in _NO_LINE_START and before not in _NO_LINE_END):
            yield text[start:i]
            start = i
    yield text[start:]


def _cut_before(line: str) -> int:
    """Where to end ``line`` so that the next one, taking the rest and then a closing punctuation mark, does
    not start with punctuation: before the character ahead of the trailing marks (the whole line if none)."""
    cut = len(line)
    while cut > 0 and line[cut - 1] in _NO_LINE_START:
        cut -= 1
    return cut - 1 if cut > 1 else len(line)


def wrap(text: str, font: PdfFont, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points at ``size`` points (line feeds kept)."""
    limit = width / size
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _tokens(paragraph):
            advances = font.advances(token)
            whole = sum(advances)
            inked = whole - sum(advances[len(token.rstrip(" ")):])
            if line and used + inked > limit:
                lines.append(line.rstrip(" "))
                line, used = "", 0.0
            if not line and inked > limit:  # wider than the column: cut anywhere
                for char, advance in zip(token, advances, strict=True):
                    if line and used + advance > limit and char != " ":
                        cut = _cut_before(line) if char in _NO_LINE_START else len(line)
                        lines.append(line[:cut].rstrip(" "))
                        line, used = line[cut:], font.width(line[cut:], 1)
                    line += char
                    used += advance
                continue
            line += token
            used += whole
        lines.append(line.rstrip(" "))
    return lines


class Run(NamedTuple):
    """One line of a cell: its text, colour and weight."""

    text: str
    color: tuple[int, int, int] = INK
    bold: bool = False


@dataclass
class TimelineLayout:
    """The timeline of ``review`` as page drawings: ``pages`` holds one content stream (bytes) per page."""

    review: Review
    lang: Lang
    fonts: Fonts
    page: PageBox = field(default_factory=PageBox)
    pages: list[bytes] = field(default_factory=list)
    _wrapped: dict[tuple[str, bool, float], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        width = self.page.content_width
        self._edges = [self.page.left]
        for share in COLUMNS:
            self._edges.append(self._edges[-1] + share * width)
        self._inner = [right - left - 2 * PAD_H - BORDER for left, right in zip(self._edges, self._edges[1:],
                                                                                  strict=False)]
        self._body_baseline = self._baseline(0.0)  # below a line's top, at the body's size
        self._ops: list[str] = []
        self._y = 0.0
        self._table_top: float | None = None  # where the table's vertical rules start on this page
        self._state: tuple[str, float, tuple[int, int, int]] = ("", 0.0, (-1, -1, -1))
        self._lay_out()

    # -- text ----------------------------------------------------------------------------------------------

    def _font(self, bold: bool) -> PdfFont:
        return self.fonts.bold if bold else self.fonts.regular

    def _lines(self, text: str, width: float, *, bold: bool = False, size: float = FONT_SIZE) -> list[str]:
        key = (text, bold, width)
        found = self._wrapped.get(key)
        if found is None:
            found = self._wrapped[key] = wrap(text, self._font(bold), size, width) if text else []
        return found

    def _say(self, zh: str, en: str) -> tuple[str, str | None]:
        """The template's ``say``: Chinese, then English on its own line in grey (one when they read the same)."""
        if self.lang == "en":
            return en, None
        if self.lang == "zh" or zh == en:
            return zh, None
        return zh, en

    def _text(self, run: Run, x: float, baseline: float, size: float = FONT_SIZE) -> None:
        """Show ``run`` inside a ``BT`` block, setting the font and colour only when they change."""
        main = self._font(run.bold)
        if run.color != self._state[2]:
            self._ops.append(_color(run.color, "rg"))
            self._state = (self._state[0], self._state[1], run.color)
        shown = [f"1 0 0 1 {x:.2f} {baseline:.2f} Tm"]
        for font, piece in main.pieces(run.text):  # each piece in the font that has its glyphs
            if (font.resource, size) != self._state[:2]:
                shown.append(f"/{font.resource} {size:g} Tf")
                self._state = (font.resource, size, run.color)
            shown.append(f"{font.encode(piece)} Tj")
        if main.lacks(run.text):  # drawn with "?": the text layer keeps the original (ISO 32000-1, 14.9.4)
            actual = "FEFF" + run.text.encode("utf-16-be").hex().upper()
            shown = [f"/Span << /ActualText <{actual}> >> BDC", *shown, "EMC"]
        self._ops.append(" ".join(shown))

    def _begin_text(self) -> None:
        self._ops.append("BT")
        self._state = ("", 0.0, (-1, -1, -1))

    def _baseline(self, top: float, size: float = FONT_SIZE) -> float:
        font = self.fonts.regular
        leading = (LINE_HEIGHT * size - (font.ascender - font.descender) * size) / 2
        return top - leading - font.ascender * size

    # -- table ---------------------------------------------------------------------------------------------

    def _cells(self, entry: TimelineEntry) -> list[list[Run]]:
        inner = self._inner
        zh, en = self._say(entry.text.zh, entry.text.en)
        what = [Run(line) for line in self._lines(zh, inner[2])]
        if en is not None:
            what += [Run(line, MUTED) for line in self._lines(en, inner[2])]
        return [[Run(local_seconds(entry.at, self.review.timezone))],  # white-space: nowrap
                [Run(line) for line in self._lines(entry.who, inner[1])],
                what,
                [Run(line) for line in self._lines(entry.reason or "", inner[3])]]

    def _header(self) -> list[list[Run]]:
        names = (("时间", "Time"), ("人员", "Who"), ("事件", "What happened"), ("原因", "Reason"))
        inner = self._inner
        return [[Run(line, INK, True) for line in self._lines(self._pick(zh, en), width, bold=True)]
                for (zh, en), width in zip(names, inner, strict=True)]

    def _pick(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh if self.lang == "zh" else f"{zh} {en}"

    def _row(self, cells: list[list[Run]], *, fill: tuple[int, int, int] | None = None) -> None:
        """Draw a row whose lines fit from ``self._y`` down; move ``self._y`` below it."""
        lines = max(1, *(len(cell) for cell in cells))
        height = lines * LINE_HEIGHT * FONT_SIZE + 2 * PAD_V + BORDER
        top, bottom = self._y, self._y - height
        left, right = self._edges[0], self._edges[-1]
        if fill is not None:
            self._ops.append(f"{_color(fill, 'rg')} {left:.2f} {bottom:.2f} {right - left:.2f} {height:.2f} re f")
        self._begin_text()
        for cell, x in zip(cells, self._edges, strict=False):
            line_top = top - BORDER / 2 - PAD_V
            for run in cell:
                self._text(run, x + BORDER / 2 + PAD_H, line_top + self._body_baseline)
                line_top -= LINE_HEIGHT * FONT_SIZE
        self._ops.append("ET")
        if self._table_top is None:
            self._table_top = top
            self._ops.append(f"{_GRID_STROKE} {left:.2f} {top:.2f} m {right:.2f} {top:.2f} l S")
        self._ops.append(f"{_GRID_STROKE} {left:.2f} {bottom:.2f} m {right:.2f} {bottom:.2f} l S")
        self._y = bottom

    def _close_table(self) -> None:
        """The table's vertical rules on this page, from its first row's top to its last row's bottom."""
        if self._table_top is not None:
            rules = " ".join(f"{x:.2f} {self._table_top:.2f} m {x:.2f} {self._y:.2f} l" for x in self._edges)
            self._ops.append(f"{_GRID_STROKE} {rules} S")
            self._table_top = None

    def _space(self) -> float:
        return self._y - self.page.bottom

    def _rows_height(self, cells: list[list[Run]]) -> float:
        return max(1, *(len(cell) for cell in cells)) * LINE_HEIGHT * FONT_SIZE + 2 * PAD_V + BORDER

    def _new_page(self) -> None:
        self._close_table()
        if self._ops:
            self.pages.append("\n".join(self._ops).encode())
        self._ops = []
        self._y = self.page.height - self.page.top

    def _table_page(self, header: list[list[Run]]) -> None:
        self._new_page()
        self._row(header, fill=HEADER_FILL)

    def _heading(self) -> None:
        text = f"{self._pick('时间线', 'Timeline')} ({len(self.review.timeline)})"
        left, right = self.page.left, self.page.left + self.page.content_width
        self._begin_text()
        self._text(Run(text, INK, True), left, self._baseline(self._y, HEADING_SIZE), HEADING_SIZE)
        self._ops.append("ET")
        self._y -= LINE_HEIGHT * HEADING_SIZE + 0.2 * HEADING_SIZE + 1.5  # line, padding, then the 2 px rule
        self._ops.append(f"{_color(RULE, 'RG')} 1.5 w {left:.2f} {self._y + 0.75:.2f} m {right:.2f} "
                         f"{self._y + 0.75:.2f} l S")
        self._y -= 0.5 * HEADING_SIZE  # h2 margin-bottom (collapsed with the table's smaller margin-top)

    def _lay_out(self) -> None:
        header = self._header()
        header_height = self._rows_height(header)
        self._new_page()
        self._heading()
        self._row(header, fill=HEADER_FILL)
        fresh = self.page.height - self.page.top - header_height  # where rows start on a new page
        for entry in self.review.timeline:
            cells = self._cells(entry)
            while self._rows_height(cells) > self._space():
                if self._y < fresh - 0.01:  # the row goes whole to the next page
                    self._table_page(header)
                    continue
                # taller than a whole page: its lines continue on the next page
                room = int((self._space() - 2 * PAD_V - BORDER) // (LINE_HEIGHT * FONT_SIZE))
                self._row([cell[:room] for cell in cells])
                cells = [cell[room:] for cell in cells]
                self._table_page(header)
            self._row(cells)
        note = self._pick("各事件的原始记录值见 CSV 与 JSON 导出。",
                          "The raw recorded values of each event are in the CSV and JSON exports.")
        lines = self._lines(note, self.page.content_width)
        self._close_table()
        self._y -= FONT_SIZE  # the table's 0.6 em margin-bottom collapsed with the paragraph's 1 em
        if self._space() < len(lines) * LINE_HEIGHT * FONT_SIZE:
            self._new_page()
        self._begin_text()
        for line in lines:
            self._text(Run(line, MUTED), self.page.left, self._baseline(self._y))
            self._y -= LINE_HEIGHT * FONT_SIZE
        self._ops.append("ET")
        self._new_page()
