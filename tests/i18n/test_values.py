"""Dates, numbers and units in each reader's conventions (Babel's CLDR data)."""

from datetime import UTC, datetime

from handlers.i18n import for_reader
from handlers.i18n_values import Moment, Quantity, moment_text, number_text, quantity_text
from handlers.text import say

AT = datetime(2026, 11, 25, 2, 3, tzinfo=UTC)


def test_a_moment_in_chinese_english_and_the_shared_neutral_form() -> None:
    assert moment_text(AT, "Asia/Shanghai", "zh") == "11月25日 10:03 CST"
    assert moment_text(AT, "Asia/Shanghai", "en") == "Nov 25 10:03 CST"
    assert moment_text(AT, "Asia/Shanghai", "both") == "11-25 10:03 CST"


def test_numbers_and_units_follow_the_locale() -> None:
    assert number_text(1234.5, "en") == "1,234.5" and number_text(1234.5, "zh") == "1,234.5"
    assert number_text(1234.5, "vi") == "1.234,5"
    assert quantity_text(8.6, "°C", "en") == "8.6°C" and quantity_text(8.6, "°C", "zh") == "8.6°C"
    assert quantity_text(8.6, "°C", "vi") == "8,6°C" and quantity_text(8.6, "°C", "de") == "8,6 °C"
    assert quantity_text(65.0, "%RH", "vi") == "65,0 %RH"  # not a CLDR unit: after the locale's number
    assert quantity_text(8.6, "°C", "both") == "8.6 °C"


def test_a_sentence_formats_its_values_for_each_reader() -> None:
    said = say("silenced_msg", who="Li Na", target="D1", id=3, reason="defrost", until=Moment(AT, "Asia/Shanghai"))
    assert "至 11-25 10:03 CST" in said and "until 11-25 10:03 CST" in said  # shared: as threads always showed
    assert for_reader(said, "en").startswith("Li Na silenced D1 until Nov 25 10:03 CST (#3)")
    assert for_reader(said, "zh").startswith("Li Na 已静默 D1 至 11月25日 10:03 CST（#3）")
    reading = say("cleared_msg", value=Quantity(8.6, "°C"))
    assert "（8.6 °C）" in reading and for_reader(reading, "vi").startswith("The reading is back in range (8,6°C)")
