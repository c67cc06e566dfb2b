"""The review's pictures, fetched from the evidence store by hash, checked against it, ready to embed.

A picture whose stored bytes no longer hash to the sha256 of its audit row is shown as altered; one the
store cannot give is shown as missing. The PDF embeds an RGB JPEG copy (PDF/A-2b, ISO 19005-2 6.2.8).
"""

import base64
import hashlib
from dataclasses import dataclass

from handlers.review_model import Review
from incidents.evidence.images import printable
from incidents.evidence.store import EvidenceMissing, EvidenceStore, EvidenceUnavailable

BROWSER_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


@dataclass(frozen=True, slots=True)
class Picture:
    """``uri``: a ``data:`` URI, None when the bytes could not be had; ``verified``: their sha256 matches."""

    uri: str | None
    verified: bool


def load_pictures(review: Review, store: EvidenceStore | None, *, for_print: bool) -> dict[str, Picture]:
    """Every picture of the review by sha256: as stored for the screen (a JPEG copy when a browser cannot
    show the type), an RGB JPEG copy for print."""
    found: dict[str, Picture] = {}
    for line in review.evidence:
        if line.sha256 in found:
            continue
        try:
            data = store.get(line.sha256) if store is not None else None
        except (EvidenceMissing, EvidenceUnavailable):
            data = None
        if data is None:
            found[line.sha256] = Picture(None, False)
            continue
        verified = hashlib.sha256(data).hexdigest() == line.sha256
        if for_print or line.media_type not in BROWSER_TYPES:
            data, media = printable(data), "image/jpeg"
        else:
            media = line.media_type
        found[line.sha256] = Picture(f"data:{media};base64,{base64.b64encode(data).decode()}", verified)
    return found
