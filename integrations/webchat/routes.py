"""HTTP routes of the web chat: the page, its thread API, live events, clicks and commands.

In ``wareroom serve`` every call needs a signed-in person (session cookie, plus the CSRF token on
clicks and commands) or a personal API token; the person is the verified one, never a name in the
body. Only ``wareroom demo`` lets the page pick a person (``user``), and it says so on screen.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from handlers.commands import ChatRouter, parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, Reply, ThreadRef, UserRef
from handlers.text import say
from incidents.clock import utcnow
from incidents.identity.tokens import Scope
from incidents.tables import ChatIdentity, Person
from integrations.api_types import ID_MAX, IncidentId, Text
from integrations.webauth.caller import Caller, Refused, WebAuth
from integrations.webauth.pages import to_signin
from integrations.webchat.adapter import PLATFORM, WebChat

STATIC = Path(__file__).resolve().parent / "static"


class ClickBody(BaseModel):
    user: Text | None = Field(default=None, min_length=1, max_length=64)  # the demo's picked person only
    token: Text = Field(min_length=1, max_length=64)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


class CommandBody(BaseModel):
    user: Text | None = Field(default=None, min_length=1, max_length=64)  # the demo's picked person only
    text: Text = Field(min_length=1, max_length=2000)
    incident_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


def build_router(chat: WebChat, router: ChatRouter, auth: WebAuth, *, notice: str = "") -> APIRouter:
    """The web chat's routes, each behind the caller check of ``auth``; ``notice`` is shown above the chat
    (empty: nothing)."""
    api = APIRouter()
    reader = Depends(auth.needs(Scope.READ, anonymous_in_demo=True))
    actor = Depends(auth.needs(Scope.ACT, anonymous_in_demo=True))

    def who(request: Request, caller: Caller, user: str | None) -> UserRef:
        """The verified person behind a click or command; the demo's anonymous page names its pick."""
        if caller.actor is not None:
            if user is not None:  # a signed-in page never names someone to act as
                auth.audit_refusal(request, f"web chat body named user {user!r} for a signed-in caller",
                                   actor=caller.actor)
                raise Refused(400, say("web_user_refused"))
            return UserRef(PLATFORM, caller.actor.platform_user_id or "", caller.actor.name,
                           person_id=caller.actor.person_id)
        if user is None:
            raise Refused(401, say("signin_needed"))
        return UserRef(PLATFORM, user)

    @api.get("/", include_in_schema=False)
    async def page(request: Request) -> Response:
        if not auth.config.demo and auth.session_caller(request) is None:
            return to_signin("/")
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store"})

    @api.get("/webchat/notice", include_in_schema=False)
    async def banner() -> dict[str, str]:
        return {"text": notice}

    @api.get("/webchat/people")
    async def people(caller: Caller = reader) -> list[dict[str, Any]]:
        """The demo's people to pick from (their web chat identities); empty outside the demo."""
        if not auth.config.demo:
            return []
        with chat.db.reader() as session:
            rows = session.exec(select(Person, ChatIdentity).where(
                ChatIdentity.person_id == Person.id, ChatIdentity.platform == PLATFORM).order_by(col(Person.id))).all()
        return [{"user": ident.platform_user_id, "name": f"{p.name_zh} {p.name_en}", "roles": p.roles}
                for p, ident in rows]

    @api.get("/webchat/incidents/{incident_id}/messages")
    async def thread(incident_id: IncidentId, caller: Caller = reader) -> list[dict[str, Any]]:
        return chat.thread(incident_id)

    @api.get("/webchat/events")
    async def events(request: Request, caller: Caller = reader) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            subscription = chat.broadcaster.subscribe()
            while not await request.is_disconnected():
                try:
                    data = await asyncio.wait_for(anext(subscription), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"data: {data}\n\n"
            await subscription.aclose()
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.post("/webchat/click")
    async def click(request: Request, body: ClickBody, caller: Caller = actor) -> dict[str, Any]:
        event = ButtonClicked(platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}",
                              actor=who(request, caller, body.user), thread=None, received_at=utcnow(),
                              token=body.token, interaction_id=body.event_id)
        return _answer(await asyncio.to_thread(router.handle, event))

    @api.post("/webchat/command")
    async def command(request: Request, body: CommandBody, caller: Caller = actor) -> dict[str, Any]:
        parsed = parse_command(body.text)
        if parsed is None:
            return {"ok": False, "text": say("help")}
        thread = ThreadRef(PLATFORM, str(body.incident_id)) if body.incident_id else None
        event: ChatEvent = CommandInvoked(
            platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}", actor=who(request, caller, body.user),
            thread=thread, received_at=utcnow(), incident_id=body.incident_id, name=parsed.name, args=parsed.args)
        return _answer(await asyncio.to_thread(router.handle, event))

    return api


def _answer(reply: Reply) -> dict[str, Any]:
    return {"ok": reply.ok, "text": reply.text}
