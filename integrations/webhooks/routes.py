"""Alert webhooks: plain JSON, Alertmanager (v4), Grafana and PagerDuty Events API v2. Answer fast, 202.

A body is parsed and applied off the event loop, in a worker thread of the webhooks' own (one: bodies are
applied one after another, as they were on the loop; ``integrations.worker_thread``), so a body of thousands
of alerts never delays the loop's other work (the lease renewals above all) and never takes a thread of the
loop's default executor, which those renewals use.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from handlers.intake import Intake, Rejected
from incidents.clock import utcnow
from incidents.rules.config import AlertmanagerRouting
from incidents.rules.external import ExternalAlert, ExternalGroup, GenericIntake
from integrations.webhooks.parse import PayloadError, parse_alertmanager, parse_generic, parse_pagerduty
from integrations.worker_thread import WorkerThreads

T = TypeVar("T")
MAX_BODY_BYTES = 4 << 20  # an Alertmanager group of 3,000 alerts is about 1.5 MB


def _refuse(intake: Intake, source: str, body: bytes, error: PayloadError) -> JSONResponse:
    intake.reject([Rejected(source, "http", body.decode("utf-8", "backslashreplace"), error.reason)])
    if source == "pagerduty":  # the answer PagerDuty's Events API v2 gives
        return JSONResponse(status_code=400, content={"status": "invalid event", "message": "Event object is invalid",
                                                      "errors": [error.reason]})
    return JSONResponse(status_code=400, content={"status": "invalid", "message": error.reason})


def build_router(intake: Intake, require_token: Any, routing: AlertmanagerRouting | None = None) -> APIRouter:
    api = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[Depends(require_token)])
    routing = routing or AlertmanagerRouting()
    worker = WorkerThreads(1, name="webhook-intake")

    async def off_loop(request: Request, source: str, parser: Callable[..., T],
                       apply: Callable[[T], Any]) -> Any:
        """The body parsed and applied in the webhooks' worker thread; a 400 with the reason when it cannot be
        parsed (the body kept as a dead letter)."""
        body = await request.body()

        def work() -> Any:
            try:
                if len(body) > MAX_BODY_BYTES:
                    raise PayloadError(f"the body is {len(body):,} bytes, over the limit of {MAX_BODY_BYTES:,}")
                parsed = parser(body, now=utcnow())
            except PayloadError as error:
                return _refuse(intake, source, body[:65_536], error)
            return apply(parsed)

        return await worker.run(work)

    @api.post("", status_code=202)
    async def generic(request: Request) -> Any:
        """One alert, one reading, or a list of both (see the README for the shapes)."""

        def apply(intake_body: GenericIntake) -> Any:
            incidents = [i for i in (intake.external(alert) for alert in intake_body.alerts) if i is not None]
            incidents += intake.readings(intake_body.readings)
            return {"status": "accepted", "incidents": sorted(set(incidents)),
                    "readings": len(intake_body.readings)}

        return await off_loop(request, "webhook", parse_generic, apply)

    async def group(request: Request, source: str) -> Any:
        def apply(notification: ExternalGroup) -> Any:
            incidents = intake.external_group(notification, per=routing.mode(notification.receiver))
            return {"status": "accepted", "incidents": sorted(set(incidents))}

        return await off_loop(request, source, parse_alertmanager, apply)

    @api.post("/alertmanager", status_code=202)
    async def alertmanager(request: Request) -> Any:
        """Prometheus Alertmanager webhook (version 4; Grafana's is accepted too): one incident per group by
        default (``alertmanager.incident_per`` in the rules file), its alerts listed and resolved one by one."""
        return await group(request, "alertmanager")

    @api.post("/grafana", status_code=202)
    async def grafana(request: Request) -> Any:
        """Grafana unified alerting webhook contact point (version 1): treated as an Alertmanager group."""
        return await group(request, "grafana")

    @api.post("/events", status_code=202)
    async def events(request: Request) -> Any:
        """PagerDuty Events API v2: trigger, acknowledge or resolve by ``dedup_key``."""
        def apply(alert: ExternalAlert) -> Any:
            intake.external(alert)
            return {"status": "success", "message": "Event processed", "dedup_key": alert.dedup_key}

        return await off_loop(request, "pagerduty", parse_pagerduty, apply)

    return api
