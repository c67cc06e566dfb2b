"""A translator's folder of catalogues, and the process-wide language setup put back after each test."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers import i18n

INDONESIAN_PO = r'''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: id\n"

msgid "acked_msg"
msgstr "{who} telah mengonfirmasi insiden."

msgid "unknown_command"
msgstr "Perintah \"{name}\" tidak dikenal. Ketik /help untuk daftarnya."

msgid "duplicate"
msgstr ""

msgid "web_signin"
msgstr "Masuk sebagai {nobody_gives_this}"
'''
"""A small Indonesian catalogue: two texts, one left empty, one with a placeholder the code does not give."""


@pytest.fixture
def language_setup() -> Iterator[None]:
    """Whatever a test configures, the next one starts from the shipped catalogues and shared ``both``."""
    yield
    i18n.configure()
    i18n.reload()


@pytest.fixture
def translator_dir(tmp_path: Path, language_setup: None) -> Path:
    """``tmp/id/LC_MESSAGES/messages.po`` compiled by ``pybabel compile`` (the .mo is what is read)."""
    folder = tmp_path / "locale" / "id" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(INDONESIAN_PO, encoding="utf-8")
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "compile", "-d", str(tmp_path / "locale"), "-D", "messages"], check=True)
    assert (folder / "messages.mo").is_file()
    return tmp_path / "locale"
