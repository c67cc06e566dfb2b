"""HTTP routes of the web chat: its pages (the chat, the dashboard), its thread API, live events, clicks and
commands.

In ``wareroom serve`` every call needs a signed-in person (session cookie, plus the CSRF token on
clicks and commands) or a personal API token; the person is the verified one, never a name in the
body. Only ``wareroom demo`` lets the page pick a person (``user``), and it says so on screen.

The answer to a person's command or click stays in the thread, for that person only
(``WebChat.reply``); what the command changes is posted for everyone by the core as before.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from handlers.commands import ChatRouter, parse_command
from handlers.intake import Intake
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, Reply, ThreadRef, UserRef
from handlers.text import say
from incidents import service
from incidents.clock import utcnow
from incidents.identity.tokens import Scope
from integrations.api_types import ID_MAX, IncidentId, Text
from integrations.webauth.caller import Caller, Refused, WebAuth
from integrations.webchat import pages
from integrations.webchat.adapter import NO_INCIDENT, PLATFORM, WebChat, viewer_key
from integrations.webchat.steps import step_facts


class ClickBody(BaseModel):
    user: Text | None = Field(default=None, min_length=1, max_length=64)  # the demo's picked person only
    token: Text = Field(min_length=1, max_length=64)
    incident_id: int | None = Field(default=None, ge=1, le=ID_MAX)  # the thread the answer is kept in
    label: Text | None = Field(default=None, max_length=200)  # the button's label, shown above the answer
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


class CommandBody(BaseModel):
    user: Text | None = Field(default=None, min_length=1, max_length=64)  # the demo's picked person only
    text: Text = Field(min_length=1, max_length=2000)
    incident_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


def build_router(chat: WebChat, router: ChatRouter, auth: WebAuth, intake: Intake, *, notice: str = "") -> APIRouter:
    """The web chat's routes, each behind the caller check of ``auth``; ``notice`` is shown above the chat
    (empty: nothing); ``intake`` gives the dashboard its registry and live sensor states."""
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

    api.include_router(pages.page_routes(chat, router, auth, intake, notice=notice))

    @api.get("/webchat/notice", include_in_schema=False)
    async def banner() -> dict[str, str]:
        return {"text": notice}

    api.include_router(_thread_routes(chat, router, reader))

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

    def answer(sender: UserRef, reply: Reply, *, incident_id: int | None, asked: str, event_id: str
               ) -> dict[str, Any]:
        """The reply for the page, kept in the thread for the sender (``message``)."""
        key = viewer_key(person_id=sender.person_id, user=sender.user_id)
        kept = chat.reply(incident_id, viewer=key, command=asked, text=reply.text, ok=reply.ok,
                          key=f"reply:{event_id}") if key else None
        return {"ok": reply.ok, "text": reply.text, "message": kept}

    @api.post("/webchat/click")
    async def click(request: Request, body: ClickBody, caller: Caller = actor) -> dict[str, Any]:
        sender = who(request, caller, body.user)
        event = ButtonClicked(platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}", actor=sender,
                              thread=None, received_at=utcnow(), token=body.token, interaction_id=body.event_id)
        reply = await asyncio.to_thread(router.handle, event)
        return answer(sender, reply, incident_id=body.incident_id, asked=body.label or "", event_id=body.event_id)

    @api.post("/webchat/command")
    async def command(request: Request, body: CommandBody, caller: Caller = actor) -> dict[str, Any]:
        sender = who(request, caller, body.user)
        parsed = parse_command(body.text)
        if parsed is None:
            reply = Reply(say("help"), ok=False)
        else:
            thread = ThreadRef(PLATFORM, str(body.incident_id)) if body.incident_id else None
            event: ChatEvent = CommandInvoked(
                platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}", actor=sender, thread=thread,
                received_at=utcnow(), incident_id=body.incident_id, name=parsed.name, args=parsed.args)
            reply = await asyncio.to_thread(router.handle, event)
        return answer(sender, reply, incident_id=body.incident_id, asked=body.text, event_id=body.event_id)

    return api


def _thread_routes(chat: WebChat, router: ChatRouter, reader: Any) -> APIRouter:
    """What a page reads of a thread: its messages as the caller sees them, and its steps' facts."""
    api = APIRouter()

    def viewer(caller: Caller, user: str | None) -> str | None:
        return viewer_key(person_id=caller.person_id, user=None if caller.actor else user)

    @api.get("/webchat/incidents/{incident_id}/messages")
    async def thread(incident_id: IncidentId, caller: Caller = reader, user: str | None = None
                     ) -> list[dict[str, Any]]:
        """The thread as the caller sees it: everyone's messages and the replies kept for them (``user``: the
        demo's picked person)."""
        return chat.thread(incident_id, viewer=viewer(caller, user))

    @api.get("/webchat/replies")
    async def own_replies(caller: Caller = reader, user: str | None = None) -> list[dict[str, Any]]:
        """The caller's replies to commands sent outside any incident."""
        key = viewer(caller, user)
        return chat.thread(NO_INCIDENT, viewer=key) if key else []

    @api.get("/webchat/incidents/{incident_id}/steps")
    async def steps(incident_id: IncidentId, caller: Caller = reader) -> list[dict[str, Any]]:
        """Each playbook step's input (type, unit) and the answer recorded for it (``steps.step_facts``)."""
        with chat.db.reader() as session:
            try:
                incident = service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc
        return step_facts(router.playbooks, incident)

    return api
