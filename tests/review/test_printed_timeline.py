"""The printed review keeps every timeline event: drawn pages joined to WeasyPrint's, PDF/A-2b, sealed, searchable."""

import io
import re
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from handlers.review import ReviewSetup, build_review
from handlers.review_model import Bi, Review, TimelineEntry
from incidents.database import Database
from integrations.export.pdf_font import PdfFont, find_font
from integrations.export.pdfa import check_pdfa
from integrations.export.render import FONT_FAMILIES, render_pdf
from integrations.export.seal import Seal, check_seal, load_seal
from integrations.export.timeline_print import wrap
from tests.factories import LIBRARY
from tests.review.scenario import play_cold_room_incident, registry_with_calibration

SETUP = ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai", registry=registry_with_calibration())
EVENTS = 600
LONG_REASON = "温度记录仪数据已导出并核对。" * 60 + " Logger data exported and checked; " * 40 + "x" * 400


@pytest.fixture(scope="module")
def seal(tmp_path_factory: pytest.TempPathFactory) -> Seal:
    return load_seal(p12=None, password=None, var_dir=tmp_path_factory.mktemp("var"), site="SH-01")


def _long_review(database: Database) -> Review:
    """The played incident's review with ``EVENTS`` numbered events, one of them with a reason longer than a page."""
    scenario = play_cold_room_incident(database)
    with database.reader() as session:
        review = build_review(session, incident_id=scenario.incident_id, setup=SETUP, now=scenario.end)
    first = review.timeline[0]
    events = tuple(TimelineEntry(
        at=first.at + timedelta(seconds=n), who="王伟 Wang Wei", action="note.added",
        text=Bi(f"备注第 {n} 条：冷库门已关闭。", f"Note number {n}: the cold-room door is shut."),
        object_id=None, detail="", reason=LONG_REASON if n == EVENTS // 2 else None) for n in range(1, EVENTS + 1))
    return replace(review, timeline=events)


def _pages_text(pdf: bytes, folder: Path) -> list[str]:
    (folder / "review.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(folder / "review.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def test_every_event_is_printed_searchable_numbered_and_sealed(database: Database, seal: Seal,
                                                               tmp_path: Path) -> None:
    review = _long_review(database)
    pdf = render_pdf(review, seal=seal)
    assert check_pdfa(pdf) == []
    verdict = check_seal(pdf, trust=[seal.certificate])
    assert (verdict.intact, verdict.valid, verdict.trusted, verdict.whole_file) == (True, True, True, True)
    pages = _pages_text(pdf, tmp_path)
    text = "\n".join(pages)
    for n in (1, 2, EVENTS // 2, EVENTS - 1, EVENTS):  # first, middle and last, in both languages
        assert f"备注第 {n} 条：冷库门已关闭。" in text and f"Note number {n}: the cold-room door is shut." in text
    assert len(re.findall(r"Note number \d+:", text)) == EVENTS
    assert f"时间线 Timeline ({EVENTS})" in text and "各事件的原始记录值见 CSV 与 JSON 导出。" in text
    # the reason longer than a page wraps and runs on to the next page: every character is there, in order
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", LONG_REASON) in re.sub(r"(时间Time人员Who事件Whathappened原因Reason)|"
                                                    r"(WareRoom·事件复盘Post-incidentreview#\d+\d+/\d+)", "", flat)
    # page x of y on every page, WeasyPrint's and the drawn ones alike, and the sections around the timeline
    assert all(f"{number} / {len(pages)}" in page and f"事件复盘 Post-incident review #{review.incident_id}" in page
               for number, page in enumerate(pages, start=1))
    assert "受影响库存 Affected stock" in text and "审计链校验 Audit-chain verification" in text
    assert text.index("受影响库存 Affected stock") < text.index("备注第 1 条") < text.index("审计链校验")


def test_the_timeline_fonts_are_embedded_subsets_with_unicode_maps(database: Database, seal: Seal) -> None:
    pdf = render_pdf(_long_review(database), lang="zh", seal=seal)
    reader = PdfFileReader(io.BytesIO(pdf))
    fonts = {}
    for page in reader.root["/Pages"]["/Kids"]:
        for name, font in page.get_object()["/Resources"]["/Font"].items():
            fonts[name] = font.get_object()
    drawn = {name: font for name, font in fonts.items() if name in ("/WRtl", "/WRtlb")}
    assert set(drawn) == {"/WRtl", "/WRtlb"}
    for font in drawn.values():
        assert font["/Subtype"] == "/Type0" and font["/Encoding"] == "/Identity-H" and "/ToUnicode" in font
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert re.fullmatch(r"/[A-Z]{6}\+\S+", str(descriptor["/FontName"]))  # a subset, named as one
        program = descriptor.get("/FontFile3") or descriptor.get("/FontFile2")
        assert isinstance(program.get_object(), generic.StreamObject)
        data = program.get_object().data
        assert 1_000 < len(data) < 2_000_000  # a subset, not the 16 MB collection
        # PDF/A-2 6.2.11.5: the widths given to readers are the font program's own
        embedded = TTFont(io.BytesIO(data))
        order, metrics, upem = embedded.getGlyphOrder(), embedded["hmtx"].metrics, embedded["head"].unitsPerEm
        widths = [entry.get_object() for entry in descendant["/W"]]
        assert len(widths) > 20
        for gid, width in zip(widths[0::2], widths[1::2], strict=True):
            assert abs(float(width[0]) - metrics[order[int(gid)]][0] * 1000 / upem) < 0.01


def test_lines_wrap_within_the_column_and_keep_every_character() -> None:
    font = PdfFont(find_font(FONT_FAMILIES, bold=False), "WRtl")
    text = ("冷库 D1 温度过高，已通知仓库经理（WM）。Temperature above the 8 °C limit at the door-side probe; "
            "supercalifragilisticexpialidocious-and-then-some-identifier-without-spaces-0123456789abcdef")
    for width in (40.0, 90.0, 300.0):
        lines = wrap(text, font, 8.6, width)
        assert all(font.width(line, 8.6) <= width + 0.01 for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert not any(line.startswith(("，", "。", "）")) for line in lines)  # no closing punctuation first
    assert wrap("第一行\n第二行", font, 8.6, 300) == ["第一行", "第二行"]
    assert wrap("", font, 8.6, 300) == [""]


def test_characters_the_font_lacks_keep_their_text_in_the_printed_timeline(database: Database, seal: Seal,
                                                                            tmp_path: Path) -> None:
    note = "🔥 门已关 ✅ łódź ✔✗ Őrs"
    scenario = play_cold_room_incident(database)
    with database.reader() as session:
        review = build_review(session, incident_id=scenario.incident_id, setup=SETUP, now=scenario.end)
    first = review.timeline[0]
    event = TimelineEntry(at=first.at, who="王伟 Wang Wei", action="note.added", text=Bi(note, note),
                          object_id=None, detail="", reason=None)
    pdf = render_pdf(replace(review, timeline=(event,)), lang="zh", seal=seal)
    assert check_pdfa(pdf) == []
    verdict = check_seal(pdf, trust=[seal.certificate])
    assert (verdict.intact, verdict.valid, verdict.trusted, verdict.whole_file) == (True, True, True, True)
    text = "\n".join(_pages_text(pdf, tmp_path))
    assert note in text and "🔥 门已关 ✅ łódź" in text
    # ✔ ✗ ł Ő are drawn with the DejaVu Sans subset (its map names them); only the emoji stay "?" on the page
    reader = PdfFileReader(io.BytesIO(pdf))
    fallback = {}
    for page in reader.root["/Pages"]["/Kids"]:
        fallback.update({name: font.get_object() for name, font in page.get_object()["/Resources"]["/Font"].items()
                         if name == "/WRtlf"})
    font = fallback["/WRtlf"]
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert "DejaVu" in str(descriptor["/FontName"])
    cmap = font["/ToUnicode"].get_object().data.decode("ascii").upper()
    assert all(f"<{ord(char):04X}>" in cmap for char in "✔✗łŐ") and f"<{ord('门'):04X}>" not in cmap
