"""Dates, numbers and quantities that each reader sees in their language's conventions (Babel, CLDR data).

Pass them as values to ``handlers.text.say``: a reader of ``zh``, ``en`` or a third catalogue's language gets
Babel's locale formatting (``11月25日 10:03 CST`` / ``Nov 25 10:03 CST``, ``8,6°C`` in Vietnamese); ``both``
keeps the one neutral form shared threads have always shown (``11-25 10:03 CST``, ``8.6 °C``).
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from babel.units import format_unit

from handlers.i18n import BOTH
from handlers.text import local_time

CLDR_UNITS: dict[str, str] = {
    "°C": "temperature-celsius", "°F": "temperature-fahrenheit", "%": "concentr-percent",
    "hPa": "pressure-hectopascal", "V": "electric-volt", "A": "electric-ampere", "W": "power-watt",
    "kWh": "energy-kilowatt-hour", "ppm": "concentr-permillion", "lx": "light-lux",
    "m/s": "speed-meter-per-second",
}
"""Our unit symbols (``incidents.units.CANONICAL``) and the CLDR unit each is; others (``%RH``) are written
after the locale's number."""


def _locale(language: str) -> Locale:
    """The Babel locale of a reader language; English for ``both`` and for a code CLDR does not know."""
    try:
        return Locale.parse("en" if language == BOTH else language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def number_text(value: float, language: str, digits: int = 1) -> str:
    """``1,234.5`` (en, zh), ``1.234,5`` (vi, de): ``digits`` decimals in the reader's conventions."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    if language == BOTH:
        return f"{value:.{digits}f}"
    return format_decimal(value, format=pattern, locale=_locale(language))


def quantity_text(value: float, unit: str, language: str, digits: int = 1) -> str:
    """``8.6°C`` (en, zh), ``8,6°C`` (vi), ``8,6 °C`` (de); ``8.6 °C`` for ``both``. ``unit`` is a symbol of
    ``incidents.units``; one CLDR does not have is written after the number (``65.0 %RH``)."""
    if language == BOTH:
        return f"{value:.{digits}f} {unit}".rstrip()
    number = number_text(value, language, digits)
    cldr = CLDR_UNITS.get(unit)
    if cldr is None:
        return f"{number} {unit}".rstrip()
    return format_unit(number, cldr, length="short", locale=_locale(language))


def moment_text(moment: datetime, timezone: str, language: str) -> str:
    """A UTC datetime in the site's timezone: ``11月25日 10:03 CST`` (zh), ``Nov 25 10:03 CST`` (en); for ``both`` the
    neutral ``11-25 10:03 CST`` of ``handlers.text.local_time``."""
    if language == BOTH:
        return local_time(moment, timezone)
    locale, zone = _locale(language), ZoneInfo(timezone)
    return f"{format_skeleton('MMMd', moment, tzinfo=zone, locale=locale)} " \
           f"{format_skeleton('Hm', moment, tzinfo=zone, locale=locale)} {moment.astimezone(zone):%Z}"


@dataclass(frozen=True, slots=True)
class Moment:
    """A moment as ``say`` shows it to each reader (``moment_text``)."""

    at: datetime
    timezone: str

    def in_language(self, language: str) -> str:
        return moment_text(self.at, self.timezone, language)

    def __str__(self) -> str:
        return self.in_language(BOTH)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured value with its unit symbol as ``say`` shows it to each reader (``quantity_text``)."""

    value: float
    unit: str
    digits: int = 1

    def in_language(self, language: str) -> str:
        return quantity_text(self.value, self.unit, language, self.digits)

    def __str__(self) -> str:
        return self.in_language(BOTH)
