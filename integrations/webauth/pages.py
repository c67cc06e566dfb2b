"""Server-rendered pages (Jinja2, autoescaped): every text comes from ``handlers.text.CATALOGUE``."""

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from handlers.text import CATALOGUE, role_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def t(key: str, **values: object) -> Markup:
    """A catalogue text as HTML: the Chinese, then the English in a quieter span."""
    zh, en = CATALOGUE[key]
    return Markup('<span lang="zh">{}</span> <span class="en" lang="en">{}</span>').format(
        zh.format(**values), en.format(**values))


def plain(key: str, **values: object) -> str:
    """A catalogue text on one line: ``登录 Sign in``."""
    zh, en = CATALOGUE[key]
    return f"{zh.format(**values)} {en.format(**values)}"


def lines(text: str) -> Markup:
    """A two-line ``say()`` text as HTML with a line break."""
    return Markup("<br>").join(escape(part) for part in text.split("\n"))


_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)
_ENV.globals.update(t=t, plain=plain, lines=lines, role_name=role_name)


def add_templates(folder: Path) -> None:
    """Let ``render`` also find the templates in ``folder`` (another part of the web app: the web chat's
    pages extend this frame); names must not clash with the ones here."""
    loader = _ENV.loader
    assert isinstance(loader, FileSystemLoader)
    if str(folder) not in loader.searchpath:
        loader.searchpath.append(str(folder))


def render(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``templates/NAME``; no caching (pages show per-person, per-moment state)."""
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
