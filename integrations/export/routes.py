"""``GET /api/v1/incidents/{id}/review.{md,html,pdf,json,csv}``."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from handlers.review import build_review
from incidents import service
from incidents.database import Database
from integrations.api_types import IncidentId
from integrations.export.render import MEDIA_TYPES, ReviewFormat, render
from playbooks.loader import LoadedPlaybook


def export_review(db: Database, *, incident_id: int, fmt: ReviewFormat, library: Mapping[str, LoadedPlaybook],
                  timezone: str, now: datetime) -> bytes:
    """Build and render one review (IncidentNotFound when there is no such incident)."""
    with db.reader() as session:
        review = build_review(session, incident_id=incident_id, library=library, timezone=timezone, now=now)
    return render(review, fmt)


def build_router(db: Database, library: Mapping[str, LoadedPlaybook], timezone: str, now: Callable[[], datetime],
                 require_token: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/incidents", tags=["reviews"], dependencies=[Depends(require_token)])

    @api.get("/{incident_id}/review.{fmt}")
    async def review(incident_id: IncidentId, fmt: ReviewFormat) -> Response:
        """The post-incident review in Markdown, HTML, PDF, JSON or CSV."""
        try:
            body = await run_in_threadpool(export_review, db, incident_id=incident_id, fmt=fmt, library=library,
                                           timezone=timezone, now=now())
        except service.IncidentNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        filename = f"incident-{incident_id}-review.{fmt.value}"
        disposition = "inline" if fmt in (ReviewFormat.HTML, ReviewFormat.PDF) else "attachment"
        return Response(body, media_type=MEDIA_TYPES[fmt],
                        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'})

    return api
