"""Photo evidence: the cost of checking a phone picture and of its thumbnail and print copy.

    .venv/bin/python -m bench.evidence [--rounds 10]

A 12-megapixel (4000×3000) JPEG with EXIF GPS, as a phone camera writes it, goes through ``check_image``
(decode, location removed) and ``LocalStore.put``; the baseline of the same run is a plain Pillow decode
of the same bytes (``Image.open().load()``), so the check's own cost shows as the difference.
"""

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from bench.common import report
from incidents.evidence.images import GPS_IFD, EvidencePolicy, check_image, printable, thumbnail
from incidents.evidence.store import LocalStore


def camera_picture() -> bytes:
    """A 4000×3000 JPEG with structure (not flat colour) and an EXIF GPS position."""
    image = Image.effect_noise((1000, 750), 40).convert("RGB").resize((4000, 3000))
    draw = ImageDraw.Draw(image)
    for x in range(0, 4000, 250):
        draw.line((x, 0, 4000 - x, 3000), fill="orange", width=9)
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 30.0), 3: "E", 4: (121.0, 28.0, 12.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def median_ms(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    data = camera_picture()
    checked = check_image(data, EvidencePolicy())
    report("evidence_picture_bytes", len(data))
    report("evidence_decode_baseline_ms", f"{median_ms(lambda: Image.open(io.BytesIO(data)).load(), rounds):.1f}")
    report("evidence_check_ms", f"{median_ms(lambda: check_image(data, EvidencePolicy()), rounds):.1f}")
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder))
        put = median_ms(lambda: store.put(checked.sha256, checked.data, "image/jpeg"), 1)
        report("evidence_store_put_ms", f"{put:.1f}")
    report("evidence_thumbnail_ms", f"{median_ms(lambda: thumbnail(checked.data), rounds):.1f}")
    report("evidence_print_copy_ms", f"{median_ms(lambda: printable(checked.data), rounds):.1f}")
    report("evidence_print_copy_bytes", len(printable(checked.data)))


if __name__ == "__main__":
    main()
