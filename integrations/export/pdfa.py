"""A check of the PDF/A-2 rules a review PDF could break (ISO 19005-2), for tests and ``wareroom review verify``.

This is not a full validator (veraPDF is one; it is packaged neither by Debian nor on PyPI): it walks
every object reachable from the trailer and checks the clauses, numbered as in veraPDF's PDF/A-2B
profile, that a generated and then signed PDF can get wrong: the file header (6.1.2), the trailer ID,
no encryption and nothing after %%EOF (6.1.3), no external or LZW streams (6.1.7), string lengths
(6.1.13), the output intent and its ICC profile (6.2.3), embedded fonts (6.2.11.4), annotation types,
flags and appearances (6.3.1 to 6.3.3), forms (6.4.1, 6.4.2), actions (6.5), the XMP packet and its
PDF/A identification (6.6.2.1, 6.6.4) and embedded files (6.8). As good practice it also checks that
the Info dictionary agrees with the XMP (a PDF/A-1 rule, 6.7.3, that readers still rely on).
"""

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
      "dc": "http://purl.org/dc/elements/1.1/", "pdf": "http://ns.adobe.com/pdf/1.3/",
      "xmp": "http://ns.adobe.com/xap/1.0/"}
_ALLOWED_ACTIONS = {"/GoTo", "/GoToR", "/GoToE", "/Thread", "/URI", "/Named", "/SubmitForm"}
_ALLOWED_ANNOTATIONS = {"/Text", "/Link", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
                        "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup",
                        "/FileAttachment", "/Widget", "/PrinterMark", "/TrapNet", "/Watermark", "/Redact"}
_ACTION_NAMES = _ALLOWED_ACTIONS | {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/JavaScript",
                                    "/Hide", "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView"}
_MAX_STRING_BYTES = 32767
_ANNOTATION_HIDING = {1: "Invisible", 2: "Hidden", 32: "NoView", 256: "ToggleNoView"}
# Info key → (XMP namespace, property, kind)
_INFO_XMP = {"/Title": ("dc", "title", "alt"), "/Author": ("dc", "creator", "seq"),
             "/Subject": ("dc", "description", "alt"), "/Keywords": ("pdf", "Keywords", "text"),
             "/Creator": ("xmp", "CreatorTool", "text"), "/Producer": ("pdf", "Producer", "text"),
             "/CreationDate": ("xmp", "CreateDate", "date"), "/ModDate": ("xmp", "ModifyDate", "date")}


def check_pdfa(pdf: bytes, *, part: int = 2) -> list[str]:
    """Problems against PDF/A-``part`` (empty when the checked clauses hold), each naming its clause."""
    problems: list[str] = []
    if not re.match(rb"%PDF-1\.[0-7]\r?\n%[\x80-\xff]{4}", pdf[:20]):
        problems.append("6.1.2: the header is not %PDF-1.n followed by a comment of four bytes above 127")
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        trailer = reader.trailer_view
    except Exception as exc:
        return [*problems, f"the file cannot be read as PDF: {exc}"]
    if "/ID" not in trailer:
        problems.append("6.1.3: the trailer has no /ID")
    if "/Encrypt" in trailer:
        problems.append("6.1.3: the file is encrypted")
    if not pdf.rstrip(b"\r\n").endswith(b"%%EOF") or len(pdf) - len(pdf.rstrip(b"\r\n")) > 2:
        problems.append("6.1.3: data follows the last %%EOF")
    root = reader.root
    problems += _output_intent(root)
    problems += _metadata(root, trailer, part)
    form = _get(root, "/AcroForm")
    if form is not None and _get(form, "/NeedAppearances"):
        problems.append("6.4.1: the form sets NeedAppearances")
    if form is not None and "/XFA" in form:
        problems.append("6.4.2: the form carries XFA")
    if _get(root, "/NeedsRendering"):
        problems.append("6.4.2: the catalog sets NeedsRendering")
    if "/AA" in root:
        problems.append("6.5.2: the catalog has additional actions (/AA)")
    names = _get(root, "/Names")
    if names is not None and "/JavaScript" in names:
        problems.append("6.5.1: the document carries JavaScript")
    if names is not None and "/EmbeddedFiles" in names and part == 2:
        problems.append("6.8: the file embeds other files")
    for obj in _reachable(trailer):
        problems += _object_problems(obj)
    return list(dict.fromkeys(problems))


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` with indirect references followed; ``default`` when absent."""
    obj = obj.get_object() if isinstance(obj, generic.IndirectObject) else obj
    value = obj.get(key, default) if isinstance(obj, generic.DictionaryObject) else default
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _reachable(start: generic.PdfObject) -> Iterator[generic.DictionaryObject]:
    """Every dictionary (streams included) reachable from ``start``, each once."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [start]
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, generic.DictionaryObject):
            yield obj
            stack.extend(v for k, v in obj.items() if k not in ("/Parent", "/P"))
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj)


def _object_problems(obj: generic.DictionaryObject) -> list[str]:
    found = []
    kind = _get(obj, "/Type")
    subtype = _get(obj, "/Subtype")
    if isinstance(obj, generic.StreamObject):
        if any(key in obj for key in ("/F", "/FFilter", "/FDecodeParms")):
            found.append("6.1.7.1: a stream refers to an external file")
        filters = _get(obj, "/Filter")
        listed = filters if isinstance(filters, generic.ArrayObject) else [filters]
        if "/LZWDecode" in listed:
            found.append("6.1.7.2: a stream uses LZWDecode")
    if kind == "/Font" and subtype not in ("/Type3", "/Type0"):
        descriptor = _get(obj, "/FontDescriptor")
        if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            found.append(f"6.2.11.4: font {obj.get('/BaseFont')} is not embedded")
    if kind == "/Annot":
        found += _annotation_problems(obj)
    if kind == "/Page" and "/AA" in obj:
        found.append("6.5.2: a page has additional actions (/AA)")
    action = _get(obj, "/S") if kind == "/Action" or "/Type" not in obj else None
    if action in _ACTION_NAMES and action not in _ALLOWED_ACTIONS:
        found.append(f"6.5.1: a {action} action is not allowed")
    for value in obj.values():
        if isinstance(value, generic.ByteStringObject | generic.TextStringObject) and \
                len(value.original_bytes) > _MAX_STRING_BYTES:
            found.append("6.1.13: a string is longer than 32767 bytes")
    return found


def _annotation_problems(annot: generic.DictionaryObject) -> list[str]:
    subtype = _get(annot, "/Subtype")
    if subtype not in _ALLOWED_ANNOTATIONS:
        return [f"6.3.1: a {subtype} annotation is not allowed"]
    if subtype == "/Popup":
        return []
    if "/F" not in annot:
        return ["6.3.2: an annotation has no flags (/F)"]
    flags = int(_get(annot, "/F", 0))
    found = []
    if not flags & 4:
        found.append(f"6.3.2: a {annot.get('/Subtype')} annotation is not set to print")
    hiding = [name for bit, name in _ANNOTATION_HIDING.items() if flags & bit]
    if hiding:
        found.append(f"6.3.2: a {annot.get('/Subtype')} annotation is {', '.join(hiding)}")
    rect = [float(v) for v in _get(annot, "/Rect", [0, 0, 0, 0])]
    zero = rect[0] == rect[2] or rect[1] == rect[3]
    appearance = _get(annot, "/AP")
    if not zero and _get(annot, "/Subtype") not in ("/Link",) and appearance is None:
        found.append(f"6.3.3: a visible {annot.get('/Subtype')} annotation has no appearance")
    if appearance is not None and set(appearance.keys()) - {"/N"}:
        found.append("6.3.3: an appearance dictionary has more than the /N entry")
    if subtype == "/Widget" and ("/A" in annot or "/AA" in annot):
        found.append("6.4.1: a form widget carries actions")
    return found


def _output_intent(root: generic.DictionaryObject) -> list[str]:
    intents = [i.get_object() for i in _get(root, "/OutputIntents") or []]
    pdfa = [i for i in intents if _get(i, "/S") == "/GTS_PDFA1"]
    if not pdfa:
        return ["6.2.3: no PDF/A output intent (GTS_PDFA1)"]
    if "/DestOutputProfile" not in pdfa[0]:
        return ["6.2.3: the PDF/A output intent has no ICC profile"]
    profiles = {repr(i.raw_get("/DestOutputProfile")) for i in intents if "/DestOutputProfile" in i}
    if len(profiles) > 1:
        return ["6.2.3: the output intents name different ICC profiles"]
    icc = _get(pdfa[0], "/DestOutputProfile").data
    if icc[12:16] not in (b"mntr", b"prtr") or icc[16:20] not in (b"RGB ", b"CMYK", b"GRAY") or icc[8] >= 5:
        return ["6.2.3: the output intent's ICC profile is not a v2/v4 monitor or printer profile"]
    return []


def _metadata(root: generic.DictionaryObject, trailer: generic.DictionaryObject, part: int) -> list[str]:
    stream = _get(root, "/Metadata")
    if stream is None or _get(stream, "/Type") != "/Metadata" or _get(stream, "/Subtype") != "/XML":
        return ["6.6.2.1: the catalog has no metadata stream of type /Metadata, subtype /XML"]
    found = []
    try:
        text = stream.data.decode("utf-8")
        header, body = text.split("?>", 1)
        xmp = ET.fromstring(body.rsplit("<?xpacket", 1)[0])
    except (ET.ParseError, ValueError, UnicodeDecodeError) as exc:
        return [f"6.6.2.1: the XMP packet is not well-formed UTF-8 XML: {exc}"]
    if re.search(r"\b(bytes|encoding)=", header):
        found.append("6.6.2.1: the XMP packet header uses the bytes or encoding attribute")
    if _xmp_value(xmp, "pdfaid", "part") != str(part):
        found.append(f"6.6.4: the XMP does not say pdfaid:part {part}")
    if _xmp_value(xmp, "pdfaid", "conformance") not in ("A", "B", "U"):
        found.append("6.6.4: the XMP has no pdfaid:conformance A, B or U")
    info = _get(trailer, "/Info")
    for key, (prefix, name, kind) in _INFO_XMP.items():
        if info is None or key not in info:
            continue
        mine = str(info[key])
        theirs = _xmp_value(xmp, prefix, name)
        same = theirs is not None and _pdf_date(mine) == _iso_date(theirs) if kind == "date" else theirs == mine
        if not same:
            found.append(f"6.7.3 (PDF/A-1): Info {key} {mine!r} differs from XMP {prefix}:{name} {theirs!r}")
    return found


def _xmp_value(xmp: ET.Element, prefix: str, name: str) -> str | None:
    attribute = f"{{{NS[prefix]}}}{name}"
    for description in xmp.iter(f"{{{NS['rdf']}}}Description"):
        if attribute in description.attrib:
            return description.attrib[attribute]
        element = description.find(f"{prefix}:{name}", NS)
        if element is not None:
            item = element.find(".//rdf:li", NS)
            return (item.text if item is not None else element.text) or ""
    return None


def _pdf_date(text: str) -> datetime | None:
    match = re.match(r"D:(\d{14})(Z|[+-]\d{2}'?\d{2}'?)?", text)
    if match is None:
        return None
    zone = (match.group(2) or "Z").replace("'", "")
    return datetime.strptime(match.group(1) + ("+0000" if zone == "Z" else zone), "%Y%m%d%H%M%S%z")


def _iso_date(text: str) -> datetime | None:
    try:  # PDF dates stop at the second
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(microsecond=0)
    except ValueError:
        return None
