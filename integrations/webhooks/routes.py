"""Alert webhooks: plain JSON, Alertmanager (v4) and PagerDuty Events API v2. Answer fast, 202."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from handlers.intake import Intake, Rejected
from incidents.clock import utcnow
from integrations.webhooks.parse import PayloadError, parse_alertmanager, parse_generic, parse_pagerduty


def _refuse(intake: Intake, source: str, body: bytes, error: PayloadError) -> JSONResponse:
    intake.reject([Rejected(source, "http", body.decode("utf-8", "replace"), error.reason)])
    return JSONResponse(status_code=400, content={"status": "invalid", "message": error.reason})


def build_router(intake: Intake, require_token: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[Depends(require_token)])

    @api.post("", status_code=202)
    async def generic(request: Request) -> Any:
        """One alert, one reading, or a list of both (see the README for the shapes)."""
        body = await request.body()
        try:
            parsed = parse_generic(body, now=utcnow())
        except PayloadError as error:
            return _refuse(intake, "webhook", body, error)
        incidents = [i for i in (intake.external(alert) for alert in parsed.alerts) if i is not None]
        incidents += intake.readings(parsed.readings)
        return {"status": "accepted", "incidents": sorted(set(incidents)), "readings": len(parsed.readings)}

    @api.post("/alertmanager", status_code=202)
    async def alertmanager(request: Request) -> Any:
        """Prometheus Alertmanager webhook (version 4): every alert of the group, firing or resolved."""
        body = await request.body()
        try:
            alerts = parse_alertmanager(body, now=utcnow())
        except PayloadError as error:
            return _refuse(intake, "alertmanager", body, error)
        incidents = [i for i in (intake.external(alert) for alert in alerts) if i is not None]
        return {"status": "accepted", "incidents": sorted(set(incidents))}

    @api.post("/events", status_code=202)
    async def events(request: Request) -> Any:
        """PagerDuty Events API v2: trigger, acknowledge or resolve by ``dedup_key``."""
        body = await request.body()
        try:
            alert = parse_pagerduty(body, now=utcnow())
        except PayloadError as error:
            return _refuse(intake, "pagerduty", body, error)
        intake.external(alert)
        return {"status": "success", "message": "Event processed", "dedup_key": alert.dedup_key}

    return api
