"""The web chat's server-rendered pages (Jinja2 in ``templates``, framed by the sign-in pages' frame):
the chat and the dashboard. The browser side is one small script per page in ``static``; the texts it
shows come from ``handlers.text.CATALOGUE`` through the page (``texts``)."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from handlers.commands import ChatRouter
from handlers.intake import Intake
from handlers.text import CATALOGUE
from incidents.lifecycle import STATUS_TEXT, Status
from integrations.webauth.caller import Caller, WebAuth
from integrations.webauth.pages import add_templates, plain, render, to_signin
from integrations.webchat import dashboard
from integrations.webchat.adapter import WebChat
from integrations.webchat.dashboard import Dashboard

add_templates(Path(__file__).resolve().parent / "templates")
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"app.css": "text/css", "chat.js": "text/javascript", "dashboard.js": "text/javascript"}

SCRIPT_TEXTS = (
    "web_incidents", "web_no_incidents", "web_pick_incident", "web_read_only", "web_only_you", "web_you",
    "web_my_replies", "web_alarms_returned", "web_recorded", "web_photo_add", "web_photo_sending", "web_photo_sent",
    "web_photo_unavailable", "web_photo_failed", "web_signed_out", "web_offline", "web_send_failed",
    "web_messages_more",
)
"""The catalogue texts the chat's script shows: Chinese then English, ``{detail}`` filled in by the script."""


def status_text(status: str) -> str:
    """``待确认 Triggered``; an unknown status as it is."""
    try:
        zh, en = STATUS_TEXT[Status(status)]
    except ValueError:
        return status
    return f"{zh} {en}"


def _me(caller: Caller | None) -> dict[str, Any] | None:
    if caller is None or caller.actor is None:
        return None
    return {"name": caller.actor.name, "admin": caller.actor.admin}


def chat_page(caller: Caller | None, *, demo: bool, people: list[dict[str, Any]], notice: str) -> HTMLResponse:
    """The chat: the incident list and a thread (two views on a phone, side by side on a desk)."""
    texts: dict[str, Any] = {key: " ".join(CATALOGUE[key]) for key in SCRIPT_TEXTS}
    texts["status"] = {s.value: status_text(s.value) for s in Status}
    return render("chat.html.j2", title=plain("web_incidents"), page="chat", main_class="app", me=_me(caller),
                  csrf=caller.csrf if caller else "", demo=demo, people=people, notice=notice, texts=texts)


def dashboard_page(caller: Caller | None, board: Dashboard, *, demo: bool, part: bool) -> HTMLResponse:
    """The dashboard; ``part``: only the board, which the page swaps in when something changes."""
    return render("dashboard_board.html.j2" if part else "dashboard.html.j2", title=plain("dash_title"),
                  page="dashboard", main_class="wide", me=_me(caller), csrf=caller.csrf if caller else "", demo=demo,
                  board=board, status_text=status_text)


def page_routes(chat: WebChat, router: ChatRouter, auth: WebAuth, intake: Intake, *, notice: str) -> APIRouter:
    """``/`` (the chat), ``/dashboard`` and the pages' static files; a browser that is not signed in is sent to
    the sign-in page (the demo lets anyone in)."""
    api = APIRouter(include_in_schema=False)

    @api.get("/")
    async def page(request: Request) -> Response:
        caller = auth.session_caller(request)
        if not auth.config.demo and caller is None:
            return to_signin("/")
        people = chat.people() if auth.config.demo and caller is None else []
        return chat_page(caller, demo=auth.config.demo, people=people, notice=notice)

    @api.get("/dashboard")
    async def board(request: Request, part: bool = False) -> Response:
        """The dashboard page; ``part=true``: only its content, for the page's live refresh."""
        caller = auth.session_caller(request)
        if not auth.config.demo and caller is None:
            return to_signin("/dashboard")
        snapshot = intake.engine.snapshot()  # the intake runs on this event loop: a consistent copy
        with chat.db.reader() as session:
            view = dashboard.build(session, intake.engine.registry, snapshot, now=router.ctx.now(),
                                   timezone=router.ctx.timezone,
                                   metrics=dashboard.rule_metrics(snapshot, intake.engine.rule))
        return dashboard_page(caller, view, demo=auth.config.demo, part=part)

    @api.get("/webchat/static/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(status_code=404)
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    return api
