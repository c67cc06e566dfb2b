"""Check a picture a responder sent, remove its location, and make the thumbnail and printable copies.

Pillow reads the content: the file name and the declared type are never trusted. Limits come from
``EvidencePolicy`` (``WAREROOM_EVIDENCE_MAX_BYTES``, ``WAREROOM_EVIDENCE_MAX_PIXELS``). The pixel limit is
checked on the header's size before any pixel is decoded, on top of Pillow's own process-wide
decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``, ``DecompressionBombError``), which is left as it is.
Pillow is imported with the first picture, not when the bot starts.
"""

import codecs
import hashlib
import io
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
            "MPO": "image/jpeg"}
"""Formats a phone camera or a chat app sends, by Pillow's format name, and the media type stored."""
GPS_IFD = 0x8825  # EXIF tag of the GPSInfo IFD (EXIF 2.32, table 4)
THUMB_EDGE = 320  # px: the longest edge of a thumbnail
PRINT_EDGE = 2000  # px: the longest edge of the copy embedded in a PDF (A4 at 240 dpi)
_DECODING = threading.Lock()  # one strict decode at a time: the truncation switch is process-wide


class EvidenceRefused(ValueError):
    """The file cannot be evidence; ``key`` names the bilingual sentence (``handlers.text``) and ``values`` fill it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class EvidencePolicy:
    """``max_bytes``: the largest file accepted (bytes); ``max_pixels``: width × height above which an image is
    refused as a decompression bomb; ``keep_location``: keep EXIF GPS (a site setting, off by default)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
    keep_location: bool = False


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """The bytes to store (location removed unless kept), their sha256 (hex), type and size in pixels."""

    data: bytes
    sha256: str
    media_type: str
    width: int
    height: int
    location_removed: bool


def size_words(size: int, policy: EvidencePolicy) -> dict[str, str]:
    """The values of the ``photo_too_large`` sentence: ``size_mb`` and ``limit_mb``."""
    return {"size_mb": f"{size / 1048576:.1f}", "limit_mb": f"{policy.max_bytes / 1048576:.0f}"}


def check_image(data: bytes, policy: EvidencePolicy) -> CheckedImage:
    """The picture as it will be stored; EvidenceRefused (``photo_too_large``, ``photo_not_image``,
    ``photo_too_many_pixels``) when it cannot be evidence."""
    if len(data) > policy.max_bytes:
        raise EvidenceRefused("photo_too_large", **size_words(len(data), policy))
    image = _open(data, policy)
    media_type = ACCEPTED.get(image.format or "")
    if media_type is None:
        raise EvidenceRefused("photo_not_image", kind=image.format or "?")
    width, height = image.size
    removed = False
    if not policy.keep_location:
        exif = image.getexif()
        if GPS_IFD in exif:
            data = _without_location(image, exif, data)
            removed = True
    return CheckedImage(data, hashlib.sha256(data).hexdigest(), media_type, width, height, removed)


def _open(data: bytes, policy: EvidencePolicy) -> "Image.Image":
    """Open (the header only), refuse more pixels than the policy allows before one is decoded, then decode it
    all, so that a truncated file fails here and not later."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # Pillow's own process-wide bomb check applies here too
    except Image.DecompressionBombError:
        raise EvidenceRefused("photo_too_many_pixels", limit=f"{policy.max_pixels:,}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise EvidenceRefused("photo_not_image", kind=_sniffed(data)) from None
    width, height = image.size
    if width * height > policy.max_pixels:
        raise EvidenceRefused("photo_too_many_pixels", limit=f"{policy.max_pixels:,}")
    with _DECODING:
        allowed = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # WeasyPrint turns it on for the whole process when it loads
        try:
            image.load()
        except (OSError, SyntaxError, ValueError):
            raise EvidenceRefused("photo_not_image", kind=image.format or "?") from None
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = allowed
    return image


HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
"""ISO-BMFF major brands of HEIF pictures (an iPhone's default photo format; AVIF too), which Pillow cannot
read: ISO/IEC 23008-12 Annex B, and AV1 Image File Format 1.1 section 7.2."""


def _sniffed(data: bytes) -> str:
    """What a file that is no picture seems to be, for the refusal: by its first bytes (PDF, ZIP/Office, HTML,
    HEIC/HEIF by the ``ftyp`` box at byte 4), ``TXT`` for UTF-8 text, ``?`` when unknown."""
    signatures = ((b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP/Office"), (b"<!DOCTYPE html", "HTML"), (b"<html", "HTML"))
    known = next((name for magic, name in signatures if data.lstrip()[:len(magic)].lower() == magic.lower()), None)
    if known is not None:
        return known
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIC/HEIF"
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data[:4096])  # a character cut at 4,096 waits
    except UnicodeDecodeError:
        return "?"
    return "TXT" if text.strip() and all(c.isprintable() or c in "\t\r\n" for c in text) else "?"


def _without_location(image: "Image.Image", exif: "Image.Exif", data: bytes) -> bytes:
    """The same picture with the GPS IFD removed from its EXIF. A JPEG keeps every byte of its image data:
    only its EXIF segment (APP1) is rewritten; other formats are saved again by Pillow."""
    del exif[GPS_IFD]
    if image.format in ("JPEG", "MPO"):
        rewritten = _replace_app1(data, exif.tobytes())
        if rewritten is not None:
            return rewritten
    out = io.BytesIO()
    image.save(out, format="JPEG" if image.format == "MPO" else image.format, exif=exif.tobytes())
    return out.getvalue()


def _replace_app1(jpeg: bytes, exif: bytes) -> bytes | None:
    """``jpeg`` with its ``Exif`` APP1 segment replaced by ``exif`` (ISO/IEC 10918-1 B.1.1.4 markers, EXIF 2.32
    4.5.4); None when the segments before the image data hold no such APP1 or the new one is too long."""
    position = 2  # after SOI
    while position + 4 <= len(jpeg) and jpeg[position] == 0xFF:
        marker, length = jpeg[position + 1], int.from_bytes(jpeg[position + 2:position + 4], "big")
        if marker == 0xDA:  # start of scan: the image data follows, no EXIF was found
            return None
        end = position + 2 + length
        if marker == 0xE1 and jpeg[position + 4:position + 10] == b"Exif\x00\x00":
            if len(exif) + 2 > 0xFFFF:
                return None
            segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
            return jpeg[:position] + segment + jpeg[end:]
        position = end
    return None


def thumbnail(data: bytes) -> bytes:
    """A JPEG at most ``THUMB_EDGE`` px on its longest edge, turned upright by its EXIF orientation."""
    return _jpeg(data, THUMB_EDGE, quality=80)


def printable(data: bytes) -> bytes:
    """An RGB JPEG without alpha, at most ``PRINT_EDGE`` px, as PDF/A-2b embeds it (ISO 19005-2 6.2.8)."""
    return _jpeg(data, PRINT_EDGE, quality=85)


def _jpeg(data: bytes, edge: int, *, quality: int) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", (edge, edge))  # a JPEG decodes at 1/2, 1/4 or 1/8 scale when that is enough
        image = ImageOps.exif_transpose(source)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image = image.convert("RGB")
        image.thumbnail((edge, edge))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
        return out.getvalue()
