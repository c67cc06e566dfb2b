"""The REST API: incidents, alert intake, health. Thin: every decision lives in handlers/ and incidents/."""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlmodel import col, select

from bot.bootstrap import Runtime
from bot.metrics import RuntimeCollector
from incidents import audit, service
from incidents.tables import Alert, Incident, StepRun


def incident_json(incident: Incident) -> dict[str, Any]:
    """The public shape of an incident."""
    return incident.model_dump(mode="json", exclude={"open_dedup_key", "escalation_token", "playbook_state"})


def build_router(runtime: Runtime, require_token: Any) -> APIRouter:
    api = APIRouter()
    guarded = [Depends(require_token)]

    @api.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """``ok``, or ``warn`` with the warnings (the broker dropped messages, a gateway is offline…)."""
        with runtime.db.reader() as session:
            session.exec(select(Incident.id).limit(1)).first()
        warnings = runtime.intake.warnings()
        return {"status": "warn" if warnings else "ok", "readings": runtime.intake.stats.readings,
                "mqtt_connected": runtime.intake.connected, "warnings": warnings}

    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))

    @api.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)

    @api.get("/api/v1/intake/unknown-devices", dependencies=guarded)
    async def unknown_devices() -> list[dict[str, Any]]:
        """Devices that send readings but are not in the registry, the most recently seen first."""
        return [device.to_json() for device in runtime.intake.unknown.listed()]

    @api.get("/api/v1/incidents", dependencies=guarded)
    async def incidents(open_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        with runtime.db.reader() as session:
            return [incident_json(i) for i in service.list_incidents(session, open_only=open_only, limit=limit)]

    @api.get("/api/v1/incidents/{incident_id}", dependencies=guarded)
    async def incident(incident_id: int) -> dict[str, Any]:
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

    return api
