"""The REST API: incidents, commands, health. Thin: every decision lives in handlers/ and incidents/.

Reads need the ``read`` scope (a session or a token); commands and clicks need ``act`` and a
personal token or session: they run through the same ``ChatRouter`` (and so the same permission
check) as every chat platform, as the token's person.
"""

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field
from sqlmodel import col, select

from bot.bootstrap import Runtime
from bot.metrics import RuntimeCollector
from handlers import alarm_view
from handlers.commands import parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, UserRef
from handlers.text import say
from incidents import alarms, audit, directory, service, shelving
from incidents.clock import utcnow
from incidents.identity.tokens import Scope
from incidents.tables import Alert, Incident, Person, StepRun
from integrations.api_types import ID_MAX, IncidentId, Limit, Text
from integrations.webauth.caller import Caller, WebAuth

PLATFORM = "api"


class CommandIn(BaseModel):
    """A chat command as text (``/ack 12 door closed``), optionally in an incident's thread."""

    text: Text = Field(min_length=1, max_length=2000)
    incident_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)


class DrillIn(BaseModel):
    """A drill of a playbook (its id or a command alias such as ``fire``), now or at ``at`` (``14:30``, ISO)."""

    playbook: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")  # one word each: no NUL, no spaces
    zone: str = Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    at: str | None = Field(default=None, max_length=40, pattern=r"^[\dT:+\-.Z]+$")
    note: Text = Field(default="", max_length=500)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)


class ClickIn(BaseModel):
    """A button's token (``v1:ack:12``) as a chat card would send it."""

    token: Text = Field(min_length=1, max_length=64)
    event_id: Text = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)


def incident_json(incident: Incident) -> dict[str, Any]:
    """The public shape of an incident."""
    return incident.model_dump(mode="json", exclude={"open_dedup_key", "escalation_token", "playbook_state"})


def _add_health(api: APIRouter, runtime: Runtime) -> None:
    """``/healthz`` (ok or warn, with why) and ``/metrics`` (Prometheus text format) on ``api``."""

    @api.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """``ok``, or ``warn`` with the warnings (the broker dropped messages, a gateway is offline…)."""
        with runtime.db.reader() as session:
            session.exec(select(Incident.id).limit(1)).first()
        degraded = runtime.channels.health.degraded()
        failing = runtime.channels.health.last_error
        warnings = runtime.intake.warnings() + [
            f"{platform} deliveries failing since {since.isoformat()}: {failing.get(platform, '')}"
            for platform, since in sorted(degraded.items())]
        return {"status": "warn" if warnings else "ok", "readings": runtime.intake.stats.readings,
                "mqtt_connected": runtime.intake.connected, "warnings": warnings, "degraded": sorted(degraded)}

    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))

    @api.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)


def build_router(runtime: Runtime, auth: WebAuth) -> APIRouter:
    api = APIRouter()
    reader = [Depends(auth.needs(Scope.READ, anonymous_in_demo=True))]
    acting = Depends(auth.needs(Scope.ACT))

    _add_health(api, runtime)

    @api.get("/api/v1/intake/unknown-devices", dependencies=reader)
    async def unknown_devices() -> list[dict[str, Any]]:
        """Devices that send readings but are not in the registry, the most recently seen first."""
        return [device.to_json() for device in runtime.intake.unknown.listed()]

    @api.get("/api/v1/incidents", dependencies=reader)
    async def incidents(open_only: bool = False, limit: Limit = 100) -> list[dict[str, Any]]:
        with runtime.db.reader() as session:
            unacknowledged = alarm_view.returned_unacknowledged(session)  # shown until acknowledged, even resolved
            return [{**incident_json(i), "alarms_returned_unacknowledged": unacknowledged.get(i.id or 0, 0)}
                    for i in service.list_incidents(session, open_only=open_only, limit=limit)]

    @api.get("/api/v1/incidents/{incident_id}", dependencies=reader)
    async def incident(incident_id: IncidentId) -> dict[str, Any]:
        with runtime.db.reader() as session:
            try:
                row = service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc
            alerts = session.exec(select(Alert).where(Alert.incident_id == incident_id).order_by(col(Alert.id))).all()
            steps = session.exec(select(StepRun).where(StepRun.incident_id == incident_id)
                                 .order_by(col(StepRun.id))).all()
            return {
                **incident_json(row),
                "current_steps": runtime.playbooks.current_ids(row),
                "alerts": [a.model_dump(mode="json") for a in alerts],
                "steps": [s.model_dump(mode="json") for s in steps],
                "timeline": [e.model_dump(mode="json") for e in audit.trail(session, incident_id=incident_id)],
            }

    def sender(caller: Caller) -> UserRef:
        assert caller.actor is not None
        return UserRef(PLATFORM, caller.actor.platform_user_id or "", caller.actor.name,
                       person_id=caller.actor.person_id)

    @api.post("/api/v1/commands", tags=["commands"])
    async def command(body: CommandIn, caller: Caller = acting) -> dict[str, Any]:
        """Run a chat command as the token's person; the answer is what chat would have said."""
        parsed = parse_command(body.text)
        if parsed is None:
            return {"ok": False, "text": say("help")}
        event: ChatEvent = CommandInvoked(platform=PLATFORM, dedupe_key=f"api:{body.event_id}", actor=sender(caller),
                                          thread=None, received_at=utcnow(), incident_id=body.incident_id,
                                          name=parsed.name, args=parsed.args)
        reply = await asyncio.to_thread(runtime.router.handle, event)
        return {"ok": reply.ok, "text": reply.text}

    @api.post("/api/v1/drills", tags=["commands"])
    async def drill(body: DrillIn, caller: Caller = acting) -> dict[str, Any]:
        """Start or schedule a drill as the token's person: ``/incident <playbook> <zone> --drill [--at …]``."""
        args = (body.playbook, body.zone, "--drill",
                *(["--at", body.at] if body.at else []), *body.note.split())
        event = CommandInvoked(platform=PLATFORM, dedupe_key=f"api:{body.event_id}", actor=sender(caller),
                               thread=None, received_at=utcnow(), name="incident", args=args)
        reply = await asyncio.to_thread(runtime.router.handle, event)
        return {"ok": reply.ok, "text": reply.text}

    @api.post("/api/v1/clicks", tags=["commands"])
    async def click(body: ClickIn, caller: Caller = acting) -> dict[str, Any]:
        """Press a card's button as the token's person."""
        event = ButtonClicked(platform=PLATFORM, dedupe_key=f"api:{body.event_id}", actor=sender(caller),
                              thread=None, received_at=utcnow(), token=body.token, interaction_id=body.event_id)
        reply = await asyncio.to_thread(runtime.router.handle, event)
        return {"ok": reply.ok, "text": reply.text}

    @api.get("/api/v1/alarms", dependencies=reader, tags=["alarms"])
    async def alarm_list() -> dict[str, Any]:
        """Alarms needing attention with their ISA-18.2 state, and the shelvings and removals from service in
        force. Acknowledge, reset, shelve and put out of service through ``/api/v1/commands`` (``/shelve …``)."""
        now = runtime.ctx.now()
        with runtime.db.reader() as session:
            rows = alarm_view.states(session, alarms.needing_attention(session), now=now)
            return {"alarms": [{**c.model_dump(mode="json"), "state": s.value} for c, s in rows],
                    "holds": [h.model_dump(mode="json") for h in shelving.in_force(session, now=now)]}

    @api.get("/api/v1/people", dependencies=[Depends(auth.needs(Scope.ADMIN))], tags=["directory"])
    async def people() -> list[dict[str, Any]]:
        """The directory (admin scope): each person's roles, flags and chat links."""
        with runtime.db.reader() as session:
            return [{"id": p.id, **directory.person_json(session, p)}
                    for p in session.exec(select(Person).order_by(col(Person.id)))]

    return api
