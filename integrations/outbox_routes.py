"""Undelivered chat messages for an admin: ``GET /api/v1/outbox/dead-letters``, a retry, and a simple page."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from incidents import outbox
from incidents.actors import Actor
from incidents.database import Database
from incidents.tables import OutboxMessage
from integrations.api_types import ID_MAX, Limit
from integrations.webauth.caller import Caller

PAGE = Path(__file__).resolve().parent / "webchat" / "static" / "outbox.html"
SERVICE_ADMIN = Actor(person_id=None, name="API (admin token)", platform="api")


def dead_letter_json(row: OutboxMessage) -> dict[str, Any]:
    """What an admin needs to decide: where it was going, what it said, why it failed."""
    message = row.payload.get("message", {})
    return {"id": row.id, "incident_id": row.incident_id, "platform": row.platform, "op": row.op,
            "title": message.get("title", ""), "attempts": row.attempts, "error": row.last_error,
            "created_at": row.created_at.isoformat()}


def build_router(db: Database, admin: Callable[[Request], Awaitable[Caller]], wake: Callable[[], None]) -> APIRouter:
    """The routes, for admins only (``admin`` is the caller check); ``wake`` asks the dispatcher to look at
    the outbox at once."""
    api = APIRouter(tags=["outbox"], dependencies=[Depends(admin)])

    @api.get("/outbox", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html; charset=utf-8")

    @api.get("/api/v1/outbox/dead-letters")
    async def dead_letters(limit: Limit = 100) -> list[dict[str, Any]]:
        """Chat messages parked after a refusal or the retry budget, newest first."""
        with db.reader() as session:
            return [dead_letter_json(row) for row in outbox.dead_letters(session, limit=limit)]

    @api.post("/api/v1/outbox/dead-letters/{row_id}/retry")
    async def retry(row_id: Annotated[int, PathParam(ge=1, le=ID_MAX)],
                    caller: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
        """Send a parked message again now, with a fresh retry budget (audited as the admin who asked)."""
        try:
            with db.unit_of_work() as session:
                row = outbox.retry(session, row_id=row_id, actor=caller.actor or SERVICE_ADMIN)
                answer = {"id": row.id, "status": row.status}
        except outbox.NotParked as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        wake()
        return answer

    return api
