"""Pictures are checked by their content with Pillow; the location is removed; files are written whole."""

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from incidents.evidence.images import (
    GPS_IFD,
    EvidencePolicy,
    EvidenceRefused,
    check_image,
    printable,
    thumbnail,
)
from incidents.evidence.store import EvidenceMissing, EvidenceUnavailable, LocalStore
from tests.evidence.pictures import big_jpeg, camera_jpeg, pdf_named_jpg, transparent_png


def test_a_camera_photo_is_kept_without_its_position_and_named_by_its_hash() -> None:
    sent = camera_jpeg()
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)
    checked = check_image(sent, EvidencePolicy())
    stored = Image.open(io.BytesIO(checked.data))
    assert checked.location_removed and GPS_IFD not in stored.getexif()
    assert stored.getexif()[0x010F] == "WareRoomCam"  # the rest of the EXIF stays
    scan = sent.index(b"\xff\xda")  # start of scan: the compressed image is kept byte for byte
    assert checked.data.endswith(sent[scan:]) and len(checked.data) < len(sent)
    assert (checked.media_type, checked.width, checked.height) == ("image/jpeg", 800, 600)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()


def test_a_site_that_keeps_locations_stores_the_bytes_as_sent() -> None:
    sent = camera_jpeg()
    checked = check_image(sent, EvidencePolicy(keep_location=True))
    assert checked.data == sent and not checked.location_removed


def test_a_pdf_named_jpg_is_not_a_picture() -> None:
    with pytest.raises(EvidenceRefused) as refused:
        check_image(pdf_named_jpg(), EvidencePolicy())
    assert (refused.value.key, refused.value.values) == ("photo_not_image", {"kind": "PDF"})


@pytest.mark.parametrize(("sent", "kind"), [
    # the ISO-BMFF ftyp box an iPhone's HEIC photo starts with (ISO/IEC 23008-12), then the start of its meta box
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x0dmeta", "HEIC/HEIF"),
    ("冷库门已关 door closed\n".encode(), "TXT"),
    (b"\x00\x01\x02\xff\xfe", "?"),
])
def test_a_file_that_is_no_picture_is_named_by_what_it_seems_to_be(sent: bytes, kind: str) -> None:
    with pytest.raises(EvidenceRefused) as refused:
        check_image(sent, EvidencePolicy())
    assert (refused.value.key, refused.value.values) == ("photo_not_image", {"kind": kind})


def test_a_truncated_jpeg_is_refused_even_where_weasyprint_allows_truncated_loading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing WeasyPrint does
    with pytest.raises(EvidenceRefused) as refused:
        check_image(camera_jpeg()[:2000], EvidencePolicy())
    assert refused.value.key == "photo_not_image"
    assert ImageFile.LOAD_TRUNCATED_IMAGES


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded() -> None:
    data = big_jpeg(300_000)
    with pytest.raises(EvidenceRefused) as refused:
        check_image(data, EvidencePolicy(max_bytes=200_000))
    assert refused.value.key == "photo_too_large" and refused.value.values["limit_mb"] == "0"


def test_a_decompression_bomb_is_refused_and_the_global_limit_is_left_as_it_was() -> None:
    before = Image.MAX_IMAGE_PIXELS
    out = io.BytesIO()
    Image.new("L", (6000, 6000)).save(out, format="PNG")  # a few KB that decode to 36 Mpx
    assert out.tell() < 200_000
    with pytest.raises(EvidenceRefused) as refused:
        check_image(out.getvalue(), EvidencePolicy(max_pixels=10_000_000))
    assert refused.value.key == "photo_too_many_pixels"
    assert before == Image.MAX_IMAGE_PIXELS


def test_thumbnails_and_printable_copies_are_rgb_jpegs_without_alpha() -> None:
    for made in (thumbnail(camera_jpeg()), printable(transparent_png())):
        image = Image.open(io.BytesIO(made))
        assert (image.format, image.mode) == ("JPEG", "RGB")
    assert max(Image.open(io.BytesIO(thumbnail(camera_jpeg()))).size) == 320


def test_the_local_store_writes_once_and_leaves_no_partial_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "evidence")
    checked = check_image(camera_jpeg(), EvidencePolicy())
    store.put(checked.sha256, checked.data, checked.media_type)
    store.put(checked.sha256, checked.data, checked.media_type)
    assert store.get(checked.sha256) == checked.data
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [checked.sha256]
    with pytest.raises(EvidenceMissing):
        store.get("0" * 64)
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")
    (tmp_path / "blocked").write_text("a file where the directory should be")
    with pytest.raises(EvidenceUnavailable):
        LocalStore(tmp_path / "blocked").put(checked.sha256, checked.data, checked.media_type)
