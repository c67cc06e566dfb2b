"""The message catalogues (gettext, managed with Babel) and the text each reader sees in their language.

Every user-facing sentence has a key (``acked_msg``); the key is the gettext msgid, and each language's
catalogue ``handlers/locale/<lang>/LC_MESSAGES/messages.po`` holds its text: ``en`` the English, ``zh``
the Chinese, any other language what a translator has done so far. A text a catalogue lacks (or leaves
empty) falls back to English. A reader's language is ``zh``, ``en``, a third catalogue's code (``vi``),
or ``both``: Chinese then English, as every shared thread showed before languages were chosen.

Catalogues are read from the ``.mo`` that ``scripts/venv.sh`` compiles (``pybabel compile``); a ``.po``
without a ``.mo``, or newer than it, is compiled in memory at start with ``babel.messages``, so a fresh
checkout and a translator's edit both work without a build step. Directories named with ``configure``
are searched before the shipped one: a translator adds a language by dropping a ``.po`` there.
"""

import gettext
import io
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeGuard, runtime_checkable

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
"""The shipped catalogues: ``LOCALE_DIR/<lang>/LC_MESSAGES/messages.po`` (and the compiled ``.mo``)."""
BOTH = "both"
SOURCE_LANGUAGES = ("zh", "en")
"""The languages every key must have (``tests/i18n/test_catalogue.py`` fails otherwise)."""
FALLBACK = "en"


@runtime_checkable
class Localizable(Protocol):
    """A value shown differently to each reader: a nested ``Phrase``, a date or a quantity
    (``handlers.i18n_values``)."""

    def in_language(self, language: str) -> str: ...


class UnknownLanguage(ValueError):
    """A language code with no catalogue here; the message is bilingual and lists the known codes."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What ``configure`` sets: the language of shared threads and extra catalogue directories."""

    shared: str = BOTH
    extra_dirs: tuple[Path, ...] = field(default_factory=tuple)

    def dirs(self) -> tuple[Path, ...]:
        return (*self.extra_dirs, LOCALE_DIR)


_setup = Setup()


def configure(*, shared: str = BOTH, extra_dirs: Iterable[Path] = ()) -> None:
    """Set the language of shared threads (``settings.thread_language``) and the directories searched
    for catalogues before the shipped one (``settings.locale_dirs``). Raises UnknownLanguage."""
    global _setup  # noqa: PLW0603 (one process-wide setting, made once at start)
    _setup = Setup(shared=shared, extra_dirs=tuple(Path(d) for d in extra_dirs))
    try:  # the shared language may be a catalogue only the new directories have
        check_language(shared)
    except UnknownLanguage:
        _setup = Setup()
        raise


def shared_language() -> str:
    """The language of shared threads and of texts whose reader is not one person."""
    return _setup.shared


_reader: ContextVar[str | None] = ContextVar("wareroom_reader", default=None)


@contextmanager
def reading(language: str) -> Iterator[None]:
    """Within the block ``say`` and ``label`` speak ``language``: for an answer built for one reader that
    posts nothing to a shared thread (``/status``, ``/stock``)."""
    token = _reader.set(language)
    try:
        yield
    finally:
        _reader.reset(token)


def current_language() -> str:
    """The language of the reader being written for (``reading``), else the shared threads'."""
    return _reader.get() or _setup.shared


def languages() -> list[str]:
    """Every language with a catalogue in the searched directories, sorted, e.g. ``['en', 'vi', 'zh']``."""
    found = {path.parent.parent.name for base in _setup.dirs() if base.is_dir()
             for path in base.glob(f"*/LC_MESSAGES/{DOMAIN}.[pm]o")}
    return sorted(found)


def reader_languages() -> list[str]:
    """What a person may choose to read: ``both``, then every catalogue's language."""
    return [BOTH, *languages()]


def language_name(code: str) -> str:
    """What a language calls itself (Babel's CLDR data): ``中文``, ``English``, ``Tiếng Việt``; ``中文 + English``
    for ``both``; the code itself when CLDR does not know it."""
    if code == BOTH:
        return f"{language_name('zh')} + {language_name('en')}"
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code


def check_language(code: str) -> str:
    """``code`` when it names a reader language (``both`` or a catalogue's code); UnknownLanguage otherwise."""
    if code == BOTH or code in languages():
        return code
    known = ", ".join([BOTH, *languages()])
    raise UnknownLanguage(f"未知的语言「{code}」，可用：{known} / Unknown language \"{code}\"; known: {known}")


def _compiled(po_path: Path, language: str) -> gettext.GNUTranslations:
    """A ``.po`` compiled in memory (what ``pybabel compile`` writes, without fuzzy or empty entries)."""
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=language if _is_locale(language) else None)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _is_locale(code: str) -> bool:
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def _one_dir(base: Path, language: str) -> gettext.NullTranslations | None:
    folder = base / language / "LC_MESSAGES"
    po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_path.is_file() and (not po_path.is_file() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
        with mo_path.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if po_path.is_file():
        return _compiled(po_path, language)
    return None


@lru_cache(maxsize=64)
def _translations(language: str, dirs: tuple[Path, ...]) -> gettext.NullTranslations:
    chain = [found for base in dirs if (found := _one_dir(base, language)) is not None]
    if language != FALLBACK:
        chain.append(_translations(FALLBACK, dirs))
    head = chain[0] if chain else gettext.NullTranslations()
    for later in chain[1:]:
        head.add_fallback(later)
    return head


def reload() -> None:
    """Forget the catalogues read so far (after a ``.po`` changed while running, and in tests)."""
    _translations.cache_clear()


_legacy: Mapping[str, tuple[str, str]] = {}


def use_legacy(pairs: Mapping[str, tuple[str, str]]) -> None:
    """Texts still written as ``(zh, en)`` tuples (``handlers.text.LEGACY``), used for keys no catalogue has
    until ``python -m handlers.i18n_catalogue import-legacy`` moves them."""
    global _legacy  # noqa: PLW0603 (handlers.text registers its dict once, at import)
    _legacy = pairs


def template(key: str, language: str) -> str:
    """The unformatted text of ``key`` in one catalogue language, English where it has none; a LEGACY pair's
    Chinese or English when no catalogue has the key; the key itself when nothing has it (the completeness
    test keeps that from shipping)."""
    found = _translations(language, _setup.dirs()).gettext(key)
    if found == key and key in _legacy:
        zh, en = _legacy[key]
        return zh if language == "zh" else en
    return found


def has(key: str) -> bool:
    """True when the shipped English catalogue (or a LEGACY pair) has ``key``."""
    return key in _legacy or key in _shipped_keys()


@lru_cache(maxsize=1)
def _shipped_keys() -> dict[str, None]:
    """The keys of the shipped English ``.po``, in its order (a dict: ordered, and quick to test)."""
    with (LOCALE_DIR / FALLBACK / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return {str(message.id): None for message in read_po(source) if message.id}


def keys() -> list[str]:
    """Every key of the shipped English catalogue, then any LEGACY key it lacks."""
    shipped = _shipped_keys()
    return [*shipped, *(key for key in _legacy if key not in shipped)]


def render(key: str, language: str, values: Mapping[str, object], *, joiner: str = "\n") -> str:
    """``key`` in ``language`` with ``values`` filled in; ``both`` gives the Chinese then the English, joined
    by ``joiner`` (a line break; a space for labels), once when they read the same. A translation whose
    placeholders do not match the English (a translator's slip) falls back to the English rather than
    failing the message."""
    if language == BOTH:  # dates and quantities keep their one neutral form on both lines
        neutral = {name: value.in_language(BOTH) if _localizable(value) and not isinstance(value, Phrase)
                   else value for name, value in values.items()}
        zh, en = render(key, "zh", neutral), render(key, "en", neutral)
        return zh if zh == en else f"{zh}{joiner}{en}"
    shown = {name: value.in_language(language) if _localizable(value) else value
             for name, value in values.items()}
    try:
        return template(key, language).format(**shown)
    except (KeyError, IndexError, ValueError):
        if language == FALLBACK:
            raise
        return template(key, FALLBACK).format(**shown)


def _localizable(value: object) -> TypeGuard[Localizable]:
    """``isinstance(value, Localizable)`` for the values sentences take (plain strings and numbers, mostly),
    without the cost of a protocol check on every one."""
    if isinstance(value, Phrase):
        return True
    return not isinstance(value, str | int | float) and isinstance(value, Localizable)


def label_in(key: str, language: str) -> str:
    """A short label in ``language``; ``both`` as ``状态 Status``."""
    if language == BOTH:
        zh, en = template(key, "zh"), template(key, "en")
        return zh if zh == en else f"{zh} {en}"
    return template(key, language)


class Phrase(str):
    """A catalogue sentence in the current language (``current_language``) that remembers its key and
    values, so that an answer to one person can be given again in that person's language (``for_reader``)."""

    key: str
    values: dict[str, object]
    joiner = "\n"  # between the Chinese and the English for ``both``

    def __new__(cls, key: str, values: Mapping[str, object]) -> "Phrase":
        made = super().__new__(cls, render(key, current_language(), values, joiner=cls.joiner))
        made.key = key
        made.values = dict(values)
        return made

    def in_language(self, language: str) -> str:
        """The same sentence in ``language``."""
        return render(self.key, language, self.values, joiner=self.joiner)


class Label(Phrase):
    """A short text on one line (``状态 Status`` for ``both``), e.g. a page title, given again per reader."""

    joiner = " "


def for_reader(text: str, language: str) -> str:
    """``text`` for one reader: a ``Phrase`` in their language, any other text as it is."""
    return text.in_language(language) if isinstance(text, Phrase) else text
