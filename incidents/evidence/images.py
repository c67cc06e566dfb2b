"""Check a picture a responder sent, remove its location, and make the thumbnail and printable copies.

Pillow reads the content: the file name and the declared type are never trusted. Limits come from
``EvidencePolicy`` (``WAREROOM_EVIDENCE_MAX_BYTES``, ``WAREROOM_EVIDENCE_MAX_PIXELS``). The pixel limit is
checked on the header's size before any pixel is decoded, on top of Pillow's own process-wide
decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``, ``DecompressionBombError``), which is left as it is.
"""

import hashlib
import io
import threading
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
            "HEIC": "image/heic", "MPO": "image/jpeg"}
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
            data = _without_location(image, exif)
            removed = True
    return CheckedImage(data, hashlib.sha256(data).hexdigest(), media_type, width, height, removed)


def _open(data: bytes, policy: EvidencePolicy) -> Image.Image:
    """Open (the header only), refuse more pixels than the policy allows before one is decoded, then decode it
    all, so that a truncated file fails here and not later."""
    try:
        image = Image.open(io.BytesIO(data))  # Pillow's own process-wide bomb check applies here too
    except Image.DecompressionBombError:
        raise EvidenceRefused("photo_too_many_pixels", limit=f"{policy.max_pixels:,}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise EvidenceRefused("photo_not_image", kind="?") from None
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


def _without_location(image: Image.Image, exif: Image.Exif) -> bytes:
    """The same picture with the GPS IFD removed from its EXIF; a JPEG keeps its quantisation tables."""
    del exif[GPS_IFD]
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()}
    if image.format in ("JPEG", "MPO"):
        options["quality"] = "keep"
        image.save(out, format="JPEG", **options)
    else:
        image.save(out, format=image.format, **options)
    return out.getvalue()


def thumbnail(data: bytes) -> bytes:
    """A JPEG at most ``THUMB_EDGE`` px on its longest edge, turned upright by its EXIF orientation."""
    return _jpeg(data, THUMB_EDGE, quality=80)


def printable(data: bytes) -> bytes:
    """An RGB JPEG without alpha, at most ``PRINT_EDGE`` px, as PDF/A-2b embeds it (ISO 19005-2 6.2.8)."""
    return _jpeg(data, PRINT_EDGE, quality=85)


def _jpeg(data: bytes, edge: int, *, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as source:
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
