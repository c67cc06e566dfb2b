"""A system font measured, subset and embedded in a PDF for text drawn without WeasyPrint (the printed timeline).

The font is the one fontconfig picks for the review's CSS families, the face WeasyPrint uses for the rest
of the review; HarfBuzz (``libharfbuzz`` and ``libharfbuzz-subset``, the libraries WeasyPrint itself
loads, reached through cffi, a WeasyPrint dependency) gives each character's glyph and advance and cuts the
subset, in milliseconds where fontTools needs seconds to parse a CJK font of 65,000 glyphs. It is embedded
the way WeasyPrint embeds its own fonts and PDF/A-2 asks (ISO 19005-2, 6.2.11): a Type 0 font with the
Identity-H encoding (codes are glyph ids), the subset program (FontFile3/OpenType for CFF outlines,
FontFile2 for TrueType), widths matching the program, and a ToUnicode map so the text can be searched
and copied. A character the font lacks is drawn with the fallback font when that has it (the timeline's
is DejaVu Sans, for symbols such as ✔ ✗ and letters such as ł Ő), else as ``?``; the timeline wraps a run
with a ``?`` in a marked-content span whose /ActualText (ISO 32000-1, 14.9.4) holds the original text, so
extraction (pdftotext, copy and paste) gives the original characters.
"""

import hashlib
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pydyf
from cffi import FFI

_FFI = FFI()
_FFI.cdef("""
    typedef struct hb_blob_t hb_blob_t;
    typedef struct hb_face_t hb_face_t;
    typedef struct hb_font_t hb_font_t;
    typedef struct hb_set_t hb_set_t;
    typedef struct hb_subset_input_t hb_subset_input_t;
    typedef uint32_t hb_codepoint_t;
    typedef int32_t hb_position_t;
    typedef uint32_t hb_tag_t;
    typedef int hb_bool_t;
    typedef struct { hb_position_t ascender; hb_position_t descender; hb_position_t line_gap;
                     hb_position_t r[9]; } hb_font_extents_t;
    hb_blob_t *hb_blob_create_from_file_or_fail (const char *file_name);
    void hb_blob_destroy (hb_blob_t *blob);
    const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
    hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
    void hb_face_destroy (hb_face_t *face);
    unsigned int hb_face_get_upem (const hb_face_t *face);
    hb_blob_t *hb_face_reference_table (const hb_face_t *face, hb_tag_t tag);
    hb_blob_t *hb_face_reference_blob (hb_face_t *face);
    hb_font_t *hb_font_create (hb_face_t *face);
    void hb_font_destroy (hb_font_t *font);
    hb_bool_t hb_font_get_nominal_glyph (hb_font_t *font, hb_codepoint_t unicode, hb_codepoint_t *glyph);
    hb_position_t hb_font_get_glyph_h_advance (hb_font_t *font, hb_codepoint_t glyph);
    hb_bool_t hb_font_get_h_extents (hb_font_t *font, hb_font_extents_t *extents);
    hb_tag_t hb_tag_from_string (const char *str, int len);
    void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
    hb_subset_input_t *hb_subset_input_create_or_fail (void);
    void hb_subset_input_destroy (hb_subset_input_t *input);
    hb_set_t *hb_subset_input_glyph_set (hb_subset_input_t *input);
    hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
    void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
    hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
""")
_RETAIN_GIDS, _DESUBROUTINIZE, _NO_HINTING, _PASSTHROUGH = 0x2, 0x4, 0x1, 0x20
_DROP_TABLE_SET = 3  # HB_SUBSET_SETS_DROP_TABLE_TAG
_DROPPED_TABLES = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT",
                   b"SVG ", b"VORG", b"vhea", b"vmtx")
REPLACEMENT = "?"


class FontUnavailable(Exception):
    """No usable font file or HarfBuzz library; the message says which."""


@cache
def _libraries() -> tuple[Any, Any]:
    try:
        return _FFI.dlopen("libharfbuzz.so.0"), _FFI.dlopen("libharfbuzz-subset.so.0")
    except OSError as exc:
        raise FontUnavailable(f"HarfBuzz is missing ({exc}); bash scripts/fonts.sh installs it") from exc


@dataclass(frozen=True)
class FontFile:
    """Where fontconfig found a face: the file, the face's index in a collection, its PostScript name."""

    path: str
    index: int
    postscript_name: str


@cache
def find_font(families: str, *, bold: bool) -> FontFile:
    """The face fontconfig (``fc-match``) picks for a CSS-like family list (``"A", "B", sans-serif``).

    Raises FontUnavailable when fontconfig is missing or names no file.
    """
    pattern = ",".join(name.strip().strip('"') for name in families.split(",")) + \
        (":weight=bold" if bold else ":weight=regular")
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{postscriptname}", pattern],
                               capture_output=True, text=True, check=True, timeout=30).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as exc:
        raise FontUnavailable(f"fontconfig cannot find a font for {pattern}: {exc}") from exc
    if len(found) < 3 or not found[0]:
        raise FontUnavailable(f"fontconfig names no font file for {pattern}")
    return FontFile(found[0], int(found[1] or 0), found[2] or "Font")


class _Face:
    """A HarfBuzz face and font of one file, kept for the life of the process (read-only once made)."""

    def __init__(self, source: FontFile) -> None:
        hb, _ = _libraries()
        self.hb = hb
        blob = hb.hb_blob_create_from_file_or_fail(source.path.encode())
        if blob == _FFI.NULL:
            raise FontUnavailable(f"{source.path}: cannot read the font file")
        self.face = hb.hb_face_create(blob, source.index)
        hb.hb_blob_destroy(blob)
        self.font = hb.hb_font_create(self.face)
        self.upem = hb.hb_face_get_upem(self.face)
        extents = _FFI.new("hb_font_extents_t *")
        hb.hb_font_get_h_extents(self.font, extents)
        self.ascender, self.descender = extents.ascender / self.upem, extents.descender / self.upem
        head = self._table(b"head")
        self.bbox = struct.unpack(">4h", head[36:44]) if len(head) >= 44 else (0, -200, 1000, 900)
        self.cff = bool(self._table(b"CFF ")) or bool(self._table(b"CFF2"))
        self.glyphs: dict[str, tuple[int, float, str]] = {}  # filled as characters are met, by any thread

    def _table(self, tag: bytes) -> bytes:
        blob = self.hb.hb_face_reference_table(self.face, self.hb.hb_tag_from_string(tag, 4))
        length = _FFI.new("unsigned int *")
        data = self.hb.hb_blob_get_data(blob, length)
        content = bytes(_FFI.buffer(data, length[0])) if length[0] else b""
        self.hb.hb_blob_destroy(blob)
        return content

    def glyph(self, char: str) -> tuple[int, float, str]:
        """``(glyph id, advance in em, character shown)`` of ``char``; the replacement's when the font lacks it."""
        found = self.glyphs.get(char)
        if found is None:
            found_gid = _FFI.new("hb_codepoint_t *")
            if self.hb.hb_font_get_nominal_glyph(self.font, ord(char), found_gid):
                gid = found_gid[0]
                found = (gid, self.hb.hb_font_get_glyph_h_advance(self.font, gid) / self.upem, char)
            else:
                found = self.glyph(REPLACEMENT) if char != REPLACEMENT else (0, 0.5, "\ufffd")
            self.glyphs[char] = found
        return found

    def subset(self, gids: set[int]) -> bytes:
        """The font program with only ``gids`` (ids kept, so the codes drawn stay valid), or the error."""
        hb, hb_subset = self.hb, _libraries()[1]
        plan = hb_subset.hb_subset_input_create_or_fail()
        if plan == _FFI.NULL:
            raise FontUnavailable("HarfBuzz cannot make a subset plan")
        try:
            glyph_set = hb_subset.hb_subset_input_glyph_set(plan)
            for gid in sorted(gids | {0}):
                hb.hb_set_add(glyph_set, gid)
            dropped = hb_subset.hb_subset_input_set(plan, _DROP_TABLE_SET)
            for tag in _DROPPED_TABLES:
                hb.hb_set_add(dropped, hb.hb_tag_from_string(tag, 4))
            hb_subset.hb_subset_input_set_flags(plan, _RETAIN_GIDS | _DESUBROUTINIZE | _NO_HINTING | _PASSTHROUGH)
            face = hb_subset.hb_subset_or_fail(self.face, plan)
        finally:
            hb_subset.hb_subset_input_destroy(plan)
        if face == _FFI.NULL:
            raise FontUnavailable("HarfBuzz could not subset the font")
        blob = hb.hb_face_reference_blob(face)
        length = _FFI.new("unsigned int *")
        data = hb.hb_blob_get_data(blob, length)
        program = bytes(_FFI.buffer(data, length[0]))
        hb.hb_blob_destroy(blob)
        hb.hb_face_destroy(face)
        return program


@cache
def _load_face(source: FontFile) -> _Face:
    return _Face(source)


@dataclass
class PdfFont:
    """One face as drawn on PDF pages: text measured in points, encoded as glyph codes, embedded at the end.

    ``resource`` is the name pages use for it (``WRtl`` …). Not shared between threads: each PDF makes its own.
    """

    source: FontFile
    resource: str
    fallback: "PdfFont | None" = None  # draws the characters this face lacks, when it has them
    _chars: set[str] = field(default_factory=set)  # every character encoded so far
    _codes: dict[str, str] = field(default_factory=dict)  # character → four hex digits
    _encoded: dict[str, str] = field(default_factory=dict)  # text → its hex string
    _face: _Face = field(init=False)

    def __post_init__(self) -> None:
        self._face = _load_face(self.source)

    @property
    def ascender(self) -> float:
        """Ascent above the baseline in em (positive)."""
        return float(self._face.ascender)

    @property
    def descender(self) -> float:
        """Descent below the baseline in em (negative)."""
        return float(self._face.descender)

    def has(self, char: str) -> bool:
        """Whether the face has a glyph of ``char``."""
        return bool(self._face.glyph(char)[2] == char)

    def drawer(self, char: str) -> "PdfFont":
        """The font that draws ``char``: this one, else the fallback when it has it, else this one (``?``)."""
        fallback = self.fallback
        if fallback is not None and not self.has(char) and fallback.has(char):
            return fallback
        return self

    def advances(self, text: str) -> list[float]:
        """Each character's advance in em, from the font that draws it (see ``drawer``)."""
        drawer = self.drawer
        return [drawer(char)._face.glyph(char)[1] for char in text]

    def pieces(self, text: str) -> list[tuple["PdfFont", str]]:
        """``text`` split into runs of characters drawn by one font, in order (see ``drawer``)."""
        pieces: list[tuple[PdfFont, str]] = []
        for char in text:
            font = self.drawer(char)
            if pieces and pieces[-1][0] is font:
                pieces[-1] = (font, pieces[-1][1] + char)
            else:
                pieces.append((font, char))
        return pieces

    @property
    def used(self) -> bool:
        """Whether any text was encoded with this font (an unused fallback is not embedded)."""
        return bool(self._chars)

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` in points at ``size`` points (no kerning, as the timeline's text needs none)."""
        return sum(self.advances(text)) * size

    def lacks(self, text: str) -> bool:
        """Whether any character of ``text`` is missing from the font and its fallback (so drawn as ``?``)."""
        return any(not self.drawer(char).has(char) for char in set(text))

    def encode(self, text: str) -> str:
        """``text`` as a PDF hex string of two-byte glyph codes (Identity-H), its glyphs marked as used."""
        found = self._encoded.get(text)
        if found is None:
            codes = self._codes
            for char in set(text).difference(codes):
                codes[char] = f"{self._face.glyph(char)[0]:04x}"
            found = self._encoded[text] = "<" + "".join([codes[char] for char in text]) + ">"
            self._chars.update(text)
        return found

    def embed(self, pdf: pydyf.PDF) -> bytes:
        """Write the subset font's objects into ``pdf``; the Type 0 font's reference (``b"12 0 R"``)."""
        face = self._face
        used: dict[int, str] = {}
        for char in sorted(self._chars):
            gid, _, shown = face.glyph(char)
            used.setdefault(gid, shown)
        used = dict(sorted(used.items())) or {0: "\ufffd"}
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(repr(sorted(used)).encode()).digest()[:6])
        name = f"/{tag}+{self.source.postscript_name.replace(' ', '-')}"
        subset = face.subset(set(used))
        program = flate_stream(subset, {"Subtype": "/OpenType"} if face.cff else {"Length1": len(subset)})
        pdf.add_object(program)
        upem_ascent, upem_descent = round(face.ascender * 1000), round(face.descender * 1000)
        scale = 1000 / face.upem
        descriptor = pydyf.Dictionary({
            "Type": "/FontDescriptor", "FontName": name, "Flags": 4,
            "FontBBox": pydyf.Array([round(v * scale) for v in face.bbox]), "ItalicAngle": 0,
            "Ascent": upem_ascent, "Descent": upem_descent, "CapHeight": upem_ascent, "StemV": 80,
            "FontFile3" if face.cff else "FontFile2": program.reference})
        pdf.add_object(descriptor)
        widths = pydyf.Array()
        for gid, char in used.items():
            widths.extend([gid, pydyf.Array([round(face.glyph(char)[1] * 1000, 3) if gid else 0])])
        cid_font = pydyf.Dictionary({
            "Type": "/Font", "Subtype": "/CIDFontType0" if face.cff else "/CIDFontType2", "BaseFont": name,
            "CIDSystemInfo": pydyf.Dictionary({"Registry": pydyf.String("Adobe"),
                                               "Ordering": pydyf.String("Identity"), "Supplement": 0}),
            "FontDescriptor": descriptor.reference, "W": widths})
        if not face.cff:
            cid_font["CIDToGIDMap"] = "/Identity"
        pdf.add_object(cid_font)
        to_unicode = flate_stream(_to_unicode_cmap(used))
        pdf.add_object(to_unicode)
        font = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type0", "BaseFont": name, "Encoding": "/Identity-H",
                                 "DescendantFonts": pydyf.Array([cid_font.reference]),
                                 "ToUnicode": to_unicode.reference})
        pdf.add_object(font)
        return bytes(font.reference)


def flate_stream(content: bytes, extra: dict[str, Any] | None = None) -> pydyf.Stream:
    """A stream of ``content`` compressed at zlib's default level (pydyf's own uses level 9: several times
    slower on hundreds of pages of text for a few per cent smaller)."""
    return pydyf.Stream([zlib.compress(content)], pydyf.Dictionary({**(extra or {}), "Filter": "/FlateDecode"}))


def _to_unicode_cmap(used: dict[int, str]) -> bytes:
    """A ToUnicode CMap (PDF 1.7, 9.10.3) from two-byte codes to the characters drawn with them."""
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <ffff>", "endcodespacerange"]
    items = list(used.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar")
        lines += [f"<{gid:04x}> <{char.encode('utf-16-be').hex()}>" for gid, char in batch]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode()
