"""The catalogues: complete in Chinese and English, kept so by the maintenance command, open to a third language."""

import os
import shutil
from pathlib import Path

import pytest

from handlers import i18n, i18n_catalogue
from handlers.i18n_catalogue import import_legacy, legacy_entries, problems, read_catalog
from handlers.text import CATALOGUE, LEGACY, label, pair, say

LOCALE = i18n.LOCALE_DIR


def test_every_key_has_chinese_and_english_and_no_tuple_is_left_in_python() -> None:
    assert problems() == []
    assert LEGACY == {}
    assert len(CATALOGUE) > 300 and all(zh and en for zh, en in CATALOGUE.values())


def test_the_check_fails_for_a_missing_translation_a_bad_placeholder_and_a_leftover_tuple(tmp_path: Path) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.mo"))
    zh = read_catalog("zh", copy)
    zh["acked_msg"].string = ""
    zh["duplicate"].string = "该操作已处理 {what}。"
    i18n_catalogue.write_catalog(zh, i18n_catalogue.po_path("zh", copy))
    text_py = tmp_path / "text.py"
    text_py.write_text('LEGACY: dict[str, tuple[str, str]] = {\n    "new_key": ("新", "New"),\n}\n', encoding="utf-8")
    found = problems(copy, text_py)
    assert "acked_msg: no zh text" in found
    assert "duplicate: zh uses placeholders the English does not give: ['what']" in found
    assert any("LEGACY still has 1 entries" in line for line in found)


def test_import_legacy_moves_tuples_into_every_catalogue_and_empties_legacy(tmp_path: Path) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.mo"))
    text_py = tmp_path / "text.py"
    text_py.write_text('LEGACY: dict[str, tuple[str, str]] = {\n'
                       '    # (zh, en) pairs not yet in the catalogues: `... import-legacy` moves them\n'
                       '    # dashboard\n'
                       '    "shift_board_title": ("班次看板", "Shift board"),\n'
                       '    "status": ("状态", "State"),\n'
                       '}\n\nAFTER = 1\n', encoding="utf-8")
    added, differing = import_legacy(legacy_entries(text_py.read_text(encoding="utf-8")), copy)
    assert (added, differing) == (["shift_board_title"], ["status"])
    assert read_catalog("zh", copy)["shift_board_title"].string == "班次看板"
    assert read_catalog("en", copy)["shift_board_title"].string == "Shift board"
    vi = read_catalog("vi", copy)["shift_board_title"]
    assert vi.string == "" and vi.auto_comments == ["en: Shift board"]  # a translator sees the English
    assert read_catalog("en", copy)["status"].string == "Status"  # the catalogue's words are kept
    vi_catalog = read_catalog("vi", copy)
    vi_catalog["status"].string = "Trạng thái"
    i18n_catalogue.write_catalog(vi_catalog, i18n_catalogue.po_path("vi", copy))
    assert import_legacy({"status": ("状态", "State")}, copy, replace=True) == ([], ["status"])
    assert read_catalog("en", copy)["status"].string == "State"  # a branch that reworded a text
    assert "fuzzy" in read_catalog("vi", copy)["status"].flags  # the translator is asked to look again
    i18n_catalogue.clear_legacy(text_py)
    assert legacy_entries(text_py.read_text(encoding="utf-8")) == {}
    assert "import-legacy" in text_py.read_text(encoding="utf-8") and "AFTER = 1" in text_py.read_text()


def test_an_older_text_py_with_catalogue_tuples_is_read_as_legacy() -> None:
    source = 'CATALOGUE: dict[str, tuple[str, str]] = {"a": ("甲", "A"), "b": ("乙", "B")}\n'
    assert legacy_entries(source) == {"a": ("甲", "A"), "b": ("乙", "B")}
    with pytest.raises(ValueError, match="no LEGACY or CATALOGUE"):
        legacy_entries("X = 1\n")


def test_shared_text_stays_bilingual_as_before() -> None:
    assert label("status") == "状态 Status"
    assert say("acked_msg", who="Wang") == "Wang 已确认事件。\nWang acknowledged the incident."
    assert pair("acked_msg", who="W") == ("W 已确认事件。", "W acknowledged the incident.")


def test_the_shipped_third_catalogue_starts_empty_and_falls_back_to_english() -> None:
    assert "vi" in i18n.languages()
    assert i18n.render("help", "vi", {}) == i18n.render("help", "en", {})


def test_a_new_language_po_changes_messages_without_code_changes(translator_dir: Path) -> None:
    with pytest.raises(i18n.UnknownLanguage, match="Unknown language \"id\""):
        i18n.check_language("id")
    i18n.configure(extra_dirs=[translator_dir])
    assert i18n.check_language("id") == "id"
    said = say("acked_msg", who="Budi")
    assert i18n.for_reader(said, "id") == "Budi telah mengonfirmasi insiden."
    assert i18n.for_reader(say("duplicate"), "id") == "This action was already processed."  # empty: English
    assert i18n.for_reader(say("no_incident"), "id") == i18n.render("no_incident", "en", {})  # absent: English
    assert i18n.label_in("web_signin", "id") == "Masuk sebagai {nobody_gives_this}"
    assert i18n.render("web_signin", "id", {}) == "Sign in"  # a translator's slip falls back, never fails


def test_shared_threads_follow_the_site_setting(translator_dir: Path) -> None:
    i18n.configure(shared="id", extra_dirs=[translator_dir])
    assert say("acked_msg", who="Budi") == "Budi telah mengonfirmasi insiden."
    i18n.configure(shared="en")
    assert label("status") == "Status"
    with pytest.raises(i18n.UnknownLanguage):
        i18n.configure(shared="xx")
    assert i18n.shared_language() == "both"


def test_a_po_without_a_fresh_mo_is_compiled_at_start(tmp_path: Path, language_setup: None) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy, ignore=shutil.ignore_patterns("*.mo"))
    zh = read_catalog("zh", copy)
    zh["status"].string = "状况"
    i18n_catalogue.write_catalog(zh, i18n_catalogue.po_path("zh", copy))
    i18n.configure(extra_dirs=[copy])
    assert i18n.label_in("status", "zh") == "状况"  # no .mo at all: the .po, compiled in memory
    i18n_catalogue.compile_all(copy)
    zh["status"].string = "状态（新）"
    i18n_catalogue.write_catalog(zh, i18n_catalogue.po_path("zh", copy))
    mo = i18n_catalogue.po_path("zh", copy).with_suffix(".mo")
    os.utime(mo, (mo.stat().st_atime, mo.stat().st_mtime - 60))  # the .mo is older than the edited .po
    i18n.reload()
    assert i18n.label_in("status", "zh") == "状态（新）"
