"""``GET /api/v1/incidents/{id}/review.{md,html,pdf,json,csv}?lang=zh|en|both&mkt_period=7d``."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from handlers.review import ReviewSetup, build_review
from incidents import service
from incidents.database import Database
from incidents.evidence.store import EvidenceStore
from integrations.api_types import IncidentId
from integrations.export.formats import MEDIA_TYPES, ReviewFormat
from integrations.export.language import Lang
from integrations.export.pictures import load_pictures
from playbooks.durations import parse_duration

if TYPE_CHECKING:
    from integrations.export.seal import Seal


@dataclass
class ReviewExporter:
    """Builds and renders reviews; the PDF seal is loaded (or generated) on first use, then kept."""

    db: Database
    setup: ReviewSetup
    load_seal: Callable[[], "Seal"]
    store: EvidenceStore | None = None  # where the pictures of reviews are (none: shown as missing)
    _seal: "Seal | None" = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def seal(self) -> "Seal":
        """The site's seal (SealUnavailable when the configured certificate cannot be used)."""
        with self._lock:
            if self._seal is None:
                self._seal = self.load_seal()
            return self._seal

    def export(self, *, incident_id: int, fmt: ReviewFormat, now: datetime, lang: Lang = "both",
               mkt_period: timedelta | None = None) -> bytes:
        """One review in ``fmt``; ``mkt_period`` overrides the configured MKT period (IncidentNotFound when
        there is no such incident)."""
        from integrations.export.render import render  # matplotlib and pyHanko load with the first review

        setup = replace(self.setup, mkt_period=mkt_period) if mkt_period else self.setup
        with self.db.reader() as session:
            review = build_review(session, incident_id=incident_id, setup=setup, now=now)
        pictures = load_pictures(review, self.store, for_print=fmt is ReviewFormat.PDF) \
            if fmt in (ReviewFormat.HTML, ReviewFormat.PDF) else None
        return render(review, fmt, lang=lang, seal=self.seal() if fmt is ReviewFormat.PDF else None,
                      pictures=pictures)


def build_router(exporter: ReviewExporter, now: Callable[[], datetime], require_token: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/incidents", tags=["reviews"], dependencies=[Depends(require_token)])

    @api.get("/{incident_id}/review.{fmt}")
    async def review(incident_id: IncidentId, fmt: ReviewFormat,
                     lang: Annotated[Lang, Query(description="zh, en or both (Chinese first)")] = "both",
                     mkt_period: Annotated[str | None, Query(description="MKT period, e.g. 7d (default: the "
                                                                         "configured one)")] = None) -> Response:
        """The post-incident review in Markdown, HTML, PDF/A (sealed), JSON or CSV."""
        from integrations.export.pdf_font import FontUnavailable  # loaded with the first review, as the rest

        try:
            period = parse_duration(mkt_period) if mkt_period else None
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"mkt_period: {exc}") from exc
        try:
            body = await run_in_threadpool(exporter.export, incident_id=incident_id, fmt=fmt, now=now(), lang=lang,
                                           mkt_period=period)
        except service.IncidentNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        except FontUnavailable as exc:  # the server lacks the font or HarfBuzz: say which, not a bare 500
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        filename = f"incident-{incident_id}-review.{fmt.value}"
        disposition = "inline" if fmt in (ReviewFormat.HTML, ReviewFormat.PDF) else "attachment"
        return Response(body, media_type=MEDIA_TYPES[fmt],
                        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'})

    return api
