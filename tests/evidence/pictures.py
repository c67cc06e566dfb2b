"""Test pictures made with Pillow: a camera-like JPEG with a GPS position, a PDF named .jpg, a huge one."""

import io

from PIL import Image, ImageDraw

from incidents.evidence.images import GPS_IFD

GPS_TAGS = {1: "N", 2: (31.0, 14.0, 30.0), 3: "E", 4: (121.0, 28.0, 12.0)}  # a Shanghai warehouse


def camera_jpeg(*, size: tuple[int, int] = (800, 600), gps: bool = True, colour: str = "#3a6ea5") -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera make and, unless ``gps`` is False, a position."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill="#f2c14e")
    draw.text((20, 20), "HOLD 扣留", fill="black")
    exif = Image.Exif()
    exif[0x010F] = "WareRoomCam"  # Make
    if gps:
        exif.get_ifd(GPS_IFD).update(GPS_TAGS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def transparent_png(size: tuple[int, int] = (200, 120)) -> bytes:
    """A PNG with an alpha channel (a screenshot), which the PDF must flatten."""
    image = Image.new("RGBA", size, (255, 0, 0, 96))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_named_jpg() -> bytes:
    """A real one-page PDF (Pillow writes it): the bytes a person sends as ``report.jpg``."""
    out = io.BytesIO()
    Image.new("RGB", (100, 100), "white").save(out, format="PDF")
    data = out.getvalue()
    assert data.startswith(b"%PDF")
    return data


def big_jpeg(min_bytes: int) -> bytes:
    """A noisy JPEG of at least ``min_bytes`` (noise does not compress)."""
    edge = 256
    while True:
        image = Image.effect_noise((edge, edge), 120).convert("RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=95)
        if out.tell() >= min_bytes:
            return out.getvalue()
        edge *= 2
