"""Server-rendered pages (Jinja2, autoescaped): every text comes from the message catalogues (``handlers.i18n``),
in the signed-in person's language (``render(reader=…)``), both languages for anyone else."""

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from handlers import i18n
from handlers.text import role_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def t(key: str, **values: object) -> Markup:
    """A catalogue text as HTML in the reader's language; for ``both`` the Chinese, then the English in a
    quieter span."""
    language = i18n.current_language()
    if language != i18n.BOTH:
        return Markup('<span lang="{}">{}</span>').format(language, i18n.render(key, language, values))
    zh, en = i18n.render(key, "zh", values), i18n.render(key, "en", values)
    return Markup('<span lang="zh">{}</span> <span class="en" lang="en">{}</span>').format(zh, en)


def plain(key: str, **values: object) -> str:
    """A catalogue text on one line: ``登录 Sign in``; given again in the reader's language when a page
    shows it (a title made before ``render``)."""
    return i18n.Label(key, values)


def lines(text: str) -> Markup:
    """A ``say()`` text as HTML in the reader's language, its lines broken with ``<br>``."""
    shown = i18n.for_reader(text, i18n.current_language())
    return Markup("<br>").join(escape(part) for part in shown.split("\n"))


def page_language() -> str:
    """The page's ``lang``: the reader's language, ``zh-CN`` (the first one shown) for ``both``."""
    language = i18n.current_language()
    return "zh-CN" if language in (i18n.BOTH, "zh") else language


def _for_reader(value: object) -> object:
    """Every ``{{ … }}`` of a page: a catalogue text made before ``render`` in the reader's language."""
    return i18n.for_reader(value, i18n.current_language()) if isinstance(value, i18n.Phrase) else value


_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True, finalize=_for_reader)
_ENV.globals.update(t=t, plain=plain, lines=lines, role_name=role_name, page_language=page_language)


def add_templates(folder: Path) -> None:
    """Let ``render`` also find the templates in ``folder`` (another part of the web app: the web chat's
    pages extend this frame); names must not clash with the ones here."""
    loader = _ENV.loader
    assert isinstance(loader, FileSystemLoader)
    if str(folder) not in loader.searchpath:
        loader.searchpath.append(str(folder))


def render(name: str, *, status: int = 200, reader: str | None = None, **context: Any) -> HTMLResponse:
    """A page from ``templates/NAME`` in ``reader``'s language (the signed-in person's; None: the shared
    setting); no caching (pages show per-person, per-moment state)."""
    with i18n.reading(reader or i18n.shared_language()):
        html = _ENV.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store",
                                                           "X-Frame-Options": "DENY",
                                                           "Referrer-Policy": "same-origin"})


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (other hosts, ``//evil``) becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\\\" in target:
        return "/"
    return target


def to_signin(path: str) -> RedirectResponse:
    """Send a browser that is not signed in to the sign-in page, back here afterwards."""
    from urllib.parse import quote

    return RedirectResponse(f"/signin?next={quote(safe_next(path))}", status_code=303)
