"""User-facing text: message keys in, the reader's language out.

The words live in gettext catalogues, one ``.po`` per language under ``handlers/locale`` (``handlers.i18n``,
README "Languages"). ``say`` and ``label`` speak the shared threads' language (``both`` by default: Chinese,
then English); ``pair`` gives the two apart for documents that show one language or both; an answer to one
person is put into that person's language by ``handlers.i18n.for_reader``.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers import i18n
from playbooks.schema import ROLES

LEGACY: dict[str, tuple[str, str]] = {
    # (zh, en) pairs not yet in the catalogues: `python -m handlers.i18n_catalogue import-legacy` moves them
}
"""Texts still written as ``(zh, en)`` tuples (a branch that predates the catalogues); they work as they are
until moved, and ``tests/i18n/test_catalogue.py`` fails while any is left."""
i18n.use_legacy(LEGACY)


class _Pairs(Mapping[str, tuple[str, str]]):
    """``CATALOGUE[key]``: the unformatted ``(zh, en)`` texts of a key, read from the catalogues."""

    def __getitem__(self, key: str) -> tuple[str, str]:
        if not i18n.has(key):
            raise KeyError(key)
        return i18n.template(key, "zh"), i18n.template(key, "en")

    def __iter__(self) -> Iterator[str]:
        return iter(i18n.keys())

    def __len__(self) -> int:
        return len(i18n.keys())


CATALOGUE: Mapping[str, tuple[str, str]] = _Pairs()
"""Every key's ``(zh, en)`` texts, for code that formats the two languages itself."""



def label(key: str) -> str:
    """A short label in the shared threads' language (or the reader's, ``i18n.reading``): ``状态 Status``
    for ``both``."""
    return i18n.label_in(key, i18n.current_language())


def say(key: str, **values: object) -> str:
    """A sentence in the shared threads' language (``both``: the Chinese line, then the English line), or the
    reader's within ``i18n.reading``; it is
    an ``i18n.Phrase`` that remembers ``key`` and ``values``, so an answer to one person is shown in theirs
    (``i18n.for_reader``)."""
    return i18n.Phrase(key, values)


def pair(key: str, **values: object) -> tuple[str, str]:
    """The sentence in each language apart: ``(zh, en)``, for documents that show one language or both."""
    return i18n.render(key, "zh", values), i18n.render(key, "en", values)


def role_name(code: str) -> str:
    """``仓库经理 Warehouse manager (WM)``; unknown codes are shown as they are."""
    zh, en = ROLES.get(code, (code, code))
    return f"{zh} {en} ({code})"


def roles_text(codes: list[str], language: int) -> str:
    """Role names in one language (0 = zh, 1 = en), e.g. ``班组长 (SL)、质量负责人 (QA)``."""
    names = [f"{ROLES.get(code, (code, code))[language]} ({code})" for code in codes]
    return ("、" if language == 0 else ", ").join(names)


def duration_text(seconds: float | None) -> str:
    """``1 h 05 min``, ``4 min 30 s``, ``13 min``, ``12 s``; ``-`` for nothing. The same in Chinese and English."""
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC datetime shown in the site's timezone, e.g. ``11-25 21:03 CST``."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M %Z")
