"""HTTP routes of the web chat: the page, its thread API, live events, clicks and commands."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from handlers.commands import ChatRouter, parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, Reply, ThreadRef, UserRef
from handlers.text import say
from incidents.clock import utcnow
from incidents.tables import ChatIdentity, Person
from integrations.api_types import ID_MAX, IncidentId, Text
from integrations.webchat.adapter import PLATFORM, WebChat

STATIC = Path(__file__).resolve().parent / "static"


class ClickBody(BaseModel):
    user: Text = Field(min_length=1, max_length=64)
    token: Text = Field(min_length=1, max_length=64)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


class CommandBody(BaseModel):
    user: Text = Field(min_length=1, max_length=64)
    text: Text = Field(min_length=1, max_length=2000)
    incident_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


def build_router(chat: WebChat, router: ChatRouter, require_token: Any) -> APIRouter:
    """The web chat's routes; ``require_token`` guards every API call when an API token is set."""
    api = APIRouter()
    guarded = [Depends(require_token)]

    @api.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @api.get("/webchat/people", dependencies=guarded)
    async def people() -> list[dict[str, Any]]:
        """People who can act in the web chat (the directory's webchat identities)."""
        with chat.db.reader() as session:
            rows = session.exec(select(Person, ChatIdentity).where(
                ChatIdentity.person_id == Person.id, ChatIdentity.platform == PLATFORM).order_by(col(Person.id))).all()
        return [{"user": ident.platform_user_id, "name": f"{p.name_zh} {p.name_en}", "roles": p.roles}
                for p, ident in rows]

    @api.get("/webchat/incidents/{incident_id}/messages", dependencies=guarded)
    async def thread(incident_id: IncidentId) -> list[dict[str, Any]]:
        return chat.thread(incident_id)

    @api.get("/webchat/events", dependencies=guarded)
    async def events(request: Request) -> StreamingResponse:
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

    @api.post("/webchat/click", dependencies=guarded)
    async def click(body: ClickBody) -> dict[str, Any]:
        event = ButtonClicked(platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}",
                              actor=UserRef(PLATFORM, body.user), thread=None, received_at=utcnow(),
                              token=body.token, interaction_id=body.event_id)
        return _answer(router.handle(event))

    @api.post("/webchat/command", dependencies=guarded)
    async def command(body: CommandBody) -> dict[str, Any]:
        parsed = parse_command(body.text)
        if parsed is None:
            return {"ok": False, "text": say("help")}
        thread = ThreadRef(PLATFORM, str(body.incident_id)) if body.incident_id else None
        event: ChatEvent = CommandInvoked(
            platform=PLATFORM, dedupe_key=f"webchat:{body.event_id}", actor=UserRef(PLATFORM, body.user),
            thread=thread, received_at=utcnow(), incident_id=body.incident_id, name=parsed.name, args=parsed.args)
        return _answer(router.handle(event))

    return api


def _answer(reply: Reply) -> dict[str, Any]:
    return {"ok": reply.ok, "text": reply.text}
