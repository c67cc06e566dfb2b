"""Alert webhooks: plain JSON, Alertmanager (v4) and PagerDuty Events API v2. Answer fast, 202."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from handlers.intake import Intake, Rejected
from incidents.clock import utcnow
from integrations.webhooks.parse import PayloadError, parse_alertmanager, parse_generic, parse_pagerduty

T = TypeVar("T")


def _refuse(intake: Intake, source: str, body: bytes, error: PayloadError) -> JSONResponse:
    intake.reject([Rejected(source, "http", body.decode("utf-8", "replace"), error.reason)])
    return JSONResponse(status_code=400, content={"status": "invalid", "message": error.reason})


def build_router(intake: Intake, require_token: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[Depends(require_token)])

    async def parsed(request: Request, source: str, parser: Callable[..., T]) -> T | JSONResponse:
        """The body parsed, or a 400 with the reason (the body kept as a dead letter)."""
        body = await request.body()
        try:
            return parser(body, now=utcnow())
        except PayloadError as error:
            return _refuse(intake, source, body, error)

    @api.post("", status_code=202)
    async def generic(request: Request) -> Any:
        """One alert, one reading, or a list of both (see the README for the shapes)."""
        intake_body = await parsed(request, "webhook", parse_generic)
        if isinstance(intake_body, JSONResponse):
            return intake_body
        incidents = [i for i in (intake.external(alert) for alert in intake_body.alerts) if i is not None]
        incidents += intake.readings(intake_body.readings)
        return {"status": "accepted", "incidents": sorted(set(incidents)), "readings": len(intake_body.readings)}

    @api.post("/alertmanager", status_code=202)
    async def alertmanager(request: Request) -> Any:
        """Prometheus Alertmanager webhook (version 4): every alert of the group, firing or resolved."""
        alerts = await parsed(request, "alertmanager", parse_alertmanager)
        if isinstance(alerts, JSONResponse):
            return alerts
        incidents = [i for i in (intake.external(alert) for alert in alerts) if i is not None]
        return {"status": "accepted", "incidents": sorted(set(incidents))}

    @api.post("/events", status_code=202)
    async def events(request: Request) -> Any:
        """PagerDuty Events API v2: trigger, acknowledge or resolve by ``dedup_key``."""
        alert = await parsed(request, "pagerduty", parse_pagerduty)
        if isinstance(alert, JSONResponse):
            return alert
        intake.external(alert)
        return {"status": "success", "message": "Event processed", "dedup_key": alert.dedup_key}

    return api
