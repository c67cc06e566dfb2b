"""GS1 barcodes: GTIN check digits and the GTIN of a scanned code (plain GTIN or GS1 element string)."""

import re

_ELEMENT_GTIN = re.compile(r"^(?:\]C1|\]d2|\]Q3)?\(?01\)?(\d{14})")


class BarcodeError(ValueError):
    """A scanned code that looks like a GTIN but is not a valid one; the message is bilingual."""


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (a GTIN without its last digit)."""
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    """``body`` followed by its check digit."""
    return body + str(check_digit(body))


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit GTIN whose check digit is right."""
    return code.isdigit() and len(code) in (8, 12, 13, 14) and check_digit(code[:-1]) == int(code[-1])


def normalise_gtin(code: str) -> str:
    """The 14-digit form of a valid GTIN (leading zeros); BarcodeError if the check digit is wrong."""
    if not is_valid_gtin(code):
        raise BarcodeError(f"条码 {code} 校验位错误 / Barcode {code} has a wrong check digit")
    return code.zfill(14)


def gtin_from_scan(raw: str) -> str | None:
    """The GTIN-14 in a scan, or None when the text is not a barcode.

    Accepts a bare GTIN-8/12/13/14 and GS1 element strings such as ``(01)06901234567892(10)L2408A``
    or ``0106901234567892172508311OL2408A`` (with or without a symbology prefix).
    """
    text = raw.strip().replace(" ", "")
    match = _ELEMENT_GTIN.match(text)
    if match and len(text) > 14:
        return normalise_gtin(match.group(1))
    if text.isdigit() and len(text) in (8, 12, 13, 14):
        return normalise_gtin(text)
    return None
