"""Keeps the message catalogues in ``handlers/locale`` complete: ``python -m handlers.i18n_catalogue COMMAND``.

Commands (README "Languages"):

- ``import-legacy [FILE | --git-ref REF]``: moves ``(zh, en)`` tuples still written in Python into the
  catalogues. Without arguments it reads ``LEGACY`` in ``handlers/text.py`` and empties it afterwards;
  with a file or a git revision (``--git-ref other-branch``) it reads that ``handlers/text.py``'s
  ``LEGACY`` or ``CATALOGUE`` dict and adds the keys the catalogues do not have yet. A key already
  present with other words is reported and left as the catalogue has it (``--replace``: takes the
  source's words, for a branch that reworded a text).
- ``update``: extracts the keys used in code and templates (``babel.cfg``, Babel's extractors), writes
  ``messages.pot`` (the keys, each with its English as a translator's comment) and brings every
  language's ``.po`` up to it (``Catalog.update``, no fuzzy guesses).
- ``add LANG``: starts an empty catalogue for a new language (every text falls back to English).
- ``check``: lists what is wrong (exit 1): a key without Chinese or English, a key used in code that no
  catalogue has, a translation whose ``{placeholders}`` differ from the English, entries left in LEGACY.
- ``compile``: writes each ``.mo`` (what ``pybabel compile -d handlers/locale -D messages`` does).

Message keys are the msgids; ``en`` holds the English text and ``zh`` the Chinese (see ``handlers.i18n``).
"""

import argparse
import ast
import contextlib
import io
import string
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from handlers.i18n import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGES

ROOT = LOCALE_DIR.parents[1]
TEXT_PY = Path(__file__).resolve().parent / "text.py"
BABEL_CFG = ROOT / "babel.cfg"
KEYWORDS: dict[str, None] = {"say": None, "label": None, "pair": None, "t": None, "plain": None}
"""Functions whose first argument is a message key (``handlers.text`` and the web pages' ``t``/``plain``)."""
LEGACY_NAMES = ("LEGACY", "CATALOGUE")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed header date keeps regenerated files free of churn


def po_path(language: str, base: Path = LOCALE_DIR) -> Path:
    return base / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue_languages(base: Path = LOCALE_DIR) -> list[str]:
    """The languages with a ``.po`` under ``base``, sorted."""
    return sorted(p.parent.parent.name for p in base.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(language: str, base: Path = LOCALE_DIR) -> Catalog:
    """The ``.po`` of ``language``; an empty catalogue when there is none yet."""
    path = po_path(language, base)
    if not path.is_file():
        return new_catalog(language)
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def new_catalog(language: str | None) -> Catalog:
    return Catalog(locale=language, domain=DOMAIN, project="WareRoom", version="1", fuzzy=False,
                   creation_date=_EPOCH, revision_date=_EPOCH, copyright_holder="WareRoom",
                   header_comment=f"# WareRoom messages ({language or 'template'}). msgid = message key; "
                                  "the English is in en, see README \"Languages\".\n#")


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())


def legacy_entries(source: str) -> dict[str, tuple[str, str]]:
    """The ``(zh, en)`` dict assigned to ``LEGACY`` (or, in an older ``text.py``, ``CATALOGUE``) in Python
    ``source``; ValueError when neither is a literal dict of string pairs."""
    for name in LEGACY_NAMES:
        node = _dict_node(ast.parse(source), name)
        if node is not None:
            found = ast.literal_eval(node)
            if not all(isinstance(v, tuple) and len(v) == 2 and all(isinstance(s, str) for s in v)
                       for v in found.values()):
                raise ValueError(f"{name} must map keys to (zh, en) string pairs")
            return {str(k): (v[0], v[1]) for k, v in found.items()}
    raise ValueError(f"no {' or '.join(LEGACY_NAMES)} dict literal in the source")


def _dict_node(tree: ast.Module, name: str) -> ast.Dict | None:
    for statement in tree.body:
        target = statement.target if isinstance(statement, ast.AnnAssign) else (
            statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else None)
        value = statement.value if isinstance(statement, ast.AnnAssign | ast.Assign) else None
        if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Dict):
            return value
    return None


def import_legacy(entries: dict[str, tuple[str, str]], base: Path = LOCALE_DIR, *, replace: bool = False
                  ) -> tuple[list[str], list[str]]:
    """Adds ``entries`` the catalogues lack: Chinese to ``zh``, English to ``en``, an empty entry to every
    other language (which falls back to English). A key present with other words is kept as the catalogues
    have it, or with ``replace`` takes the entry's words (other languages' translations of it are marked
    fuzzy, so they fall back to English until a translator looks again). Returns (added keys, keys present
    with other words)."""
    catalogs = {language: read_catalog(language, base) for language in {*catalogue_languages(base),
                                                                         *SOURCE_LANGUAGES}}
    added: list[str] = []
    differing: list[str] = []
    for key, (zh, en) in entries.items():
        if _text(catalogs["en"], key):
            if (_text(catalogs["en"], key), _text(catalogs["zh"], key)) != (en, zh):
                differing.append(key)
                if replace:
                    _reword(catalogs, key, zh, en)
            continue
        added.append(key)
        for language, catalog in catalogs.items():
            text = {"zh": zh, "en": en}.get(language, "")
            catalog.add(key, string=text, auto_comments=[] if language in SOURCE_LANGUAGES else [f"en: {en}"])
    if added or (replace and differing):
        for language, catalog in catalogs.items():
            write_catalog(catalog, po_path(language, base))
    return added, differing


def _reword(catalogs: dict[str, Catalog], key: str, zh: str, en: str) -> None:
    for language, catalog in catalogs.items():
        message = catalog.get(key)
        if message is None:
            continue
        if language in SOURCE_LANGUAGES:
            message.string = {"zh": zh, "en": en}[language]
        else:
            message.auto_comments = [f"en: {en}"]
            if message.string:
                message.flags.add("fuzzy")


def _text(catalog: Catalog, key: str) -> str:
    """The text ``catalog`` has for ``key``; empty when it has none."""
    message = catalog.get(key)
    return message.string if message is not None and isinstance(message.string, str) else ""


def clear_legacy(path: Path = TEXT_PY) -> None:
    """Empties the ``LEGACY`` dict literal of ``path`` (its entries now live in the catalogues)."""
    source = path.read_text(encoding="utf-8")
    node = _dict_node(ast.parse(source), "LEGACY")
    if node is None or node.end_lineno is None:
        raise ValueError(f"{path} has no LEGACY dict literal")
    lines = source.splitlines(keepends=True)
    first, last = node.lineno, node.end_lineno  # 1-based: the lines with "{" and "}"
    opening = lines[first - 1][: node.col_offset + 1]
    kept = [line for line in lines[first:last - 1] if "import-legacy" in line]
    closing = lines[last - 1][lines[last - 1].index("}"):]
    path.write_text("".join([*lines[: first - 1], opening + "\n", *kept, closing, *lines[last:]]), encoding="utf-8")


def extracted_keys(root: Path = ROOT) -> dict[str, list[tuple[str, int]]]:
    """Every literal key passed to a KEYWORDS function in the code and templates ``babel.cfg`` maps."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))  # type: ignore[no-untyped-call]
    found: dict[str, list[tuple[str, int]]] = {}
    with contextlib.redirect_stderr(io.StringIO()):  # Babel warns of keys built at run time (f"perm_{x}")
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(root), method_map, options_map, keywords=KEYWORDS):
            if isinstance(message, str):
                found.setdefault(message, []).append((filename, lineno))
    return found


def template_catalog(base: Path = LOCALE_DIR) -> Catalog:
    """The ``.pot``: every key of the English catalogue and every key used in code, each with its English."""
    english = read_catalog("en", base)
    pot = new_catalog(None)
    used = extracted_keys()
    for message in english:
        if message.id:
            pot.add(message.id, locations=used.get(str(message.id), []), auto_comments=[f"en: {message.string}"])
    for key, places in used.items():
        if key not in pot:
            pot.add(key, locations=places)
    return pot


def update(base: Path = LOCALE_DIR) -> Catalog:
    """Writes ``messages.pot`` and brings every ``.po`` up to it; returns the template."""
    pot = template_catalog(base)
    write_catalog(pot, base / f"{DOMAIN}.pot")
    for language in catalogue_languages(base):
        catalog = read_catalog(language, base)
        catalog.update(pot, no_fuzzy_matching=True, update_creation_date=False)
        if language in SOURCE_LANGUAGES:
            for message in catalog:
                message.auto_comments = []
        write_catalog(catalog, po_path(language, base))
    return pot


def add_language(language: str, base: Path = LOCALE_DIR) -> Path:
    """Starts an empty catalogue for ``language`` with every key and its English as a comment."""
    path = po_path(language, base)
    if path.exists():
        raise FileExistsError(f"{path} exists")
    catalog = new_catalog(language)
    catalog.update(template_catalog(base), no_fuzzy_matching=True, update_creation_date=False)
    write_catalog(catalog, path)
    return path


def _placeholders(text: str) -> set[str]:
    """The ``{names}`` of a text, language suffixes dropped (``{title_zh}`` and ``{title_en}`` both count as
    ``title``): a translation may use either language's value."""
    return {name.removesuffix("_zh").removesuffix("_en")
            for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems(base: Path = LOCALE_DIR, text_py: Path = TEXT_PY) -> list[str]:
    """What keeps the catalogues from being complete, one line each; empty when all is well."""
    found: list[str] = []
    catalogs = {language: read_catalog(language, base) for language in catalogue_languages(base)}
    english = catalogs.get("en") or new_catalog("en")
    keys = [str(m.id) for m in english if m.id]
    for key in extracted_keys():
        if key not in english:
            found.append(f"{key}: used in code but no catalogue has it")
    for language in SOURCE_LANGUAGES:
        catalog = catalogs.get(language) or new_catalog(language)
        found.extend(f"{key}: no {language} text" for key in keys if not _text(catalog, key))
    for language, catalog in catalogs.items():
        for message in catalog:
            en = english.get(message.id) if message.id else None
            if message.id and message.string and en is not None and isinstance(message.string, str) \
                    and not _placeholders(message.string) <= _placeholders(str(en.string)):
                found.append(f"{message.id}: {language} uses placeholders the English does not give: "
                             f"{sorted(_placeholders(message.string) - _placeholders(str(en.string)))}")
    legacy = legacy_entries(text_py.read_text(encoding="utf-8"))
    if legacy:
        found.append(f"handlers/text.py LEGACY still has {len(legacy)} entries: run "
                     "`python -m handlers.i18n_catalogue import-legacy`")
    return found


def compile_all(base: Path = LOCALE_DIR) -> list[Path]:
    """Writes ``<lang>/LC_MESSAGES/messages.mo`` for every ``.po`` under ``base``; returns them."""
    written = []
    for language in catalogue_languages(base):
        target = po_path(language, base).with_suffix(".mo")
        with target.open("wb") as out:
            write_mo(out, read_catalog(language, base))
        written.append(target)
    return written


def _git_show(ref: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:handlers/text.py"], check=True,
                          capture_output=True, text=True).stdout


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.i18n_catalogue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    legacy = commands.add_parser("import-legacy", help="move (zh, en) tuples from text.py into the catalogues")
    legacy.add_argument("file", nargs="?", type=Path, help="a text.py to read instead of handlers/text.py")
    legacy.add_argument("--git-ref", help="read handlers/text.py as it is in this git revision")
    legacy.add_argument("--replace", action="store_true", help="a key the catalogues have with other words takes "
                        "the source's words (default: keep the catalogues')")
    commands.add_parser("update", help="extract keys, write messages.pot, update every .po")
    new = commands.add_parser("add", help="start an empty catalogue for a new language")
    new.add_argument("language")
    commands.add_parser("check", help="report missing or mismatched texts (exit 1)")
    commands.add_parser("compile", help="write the .mo files")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "import-legacy":
        own = args.file is None and args.git_ref is None
        source = _git_show(args.git_ref) if args.git_ref else (args.file or TEXT_PY).read_text(encoding="utf-8")
        added, differing = import_legacy(legacy_entries(source), replace=args.replace)
        if own:
            clear_legacy()
        print(f"added {len(added)} key(s): {', '.join(added) or '-'}")
        for key in differing:
            done = "took the source's words" if args.replace else \
                "kept the catalogues' words (--replace takes the source's)"
            print(f"{key}: the source has other words; {done}", file=sys.stderr)
        update()
    elif args.command == "update":
        print(f"{len(update())} key(s) in {LOCALE_DIR / (DOMAIN + '.pot')}")
    elif args.command == "add":
        print(add_language(args.language))
    elif args.command == "check":
        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    elif args.command == "compile":
        for path in compile_all():
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
