"""``POST /api/v1/attendance``: attendance events from a time clock or HR system, as on MQTT
``wareroom/attendance/#`` (``handlers.staff_desk.StaffDesk.receive``); ``POST /api/v1/scans``: pick and pack
scans, as on MQTT ``wareroom/scans/#`` (``incidents.rules.scans``). Refused input is dead-lettered with the
reason and answered 400."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from handlers.intake import Intake, Rejected
from handlers.staff_desk import AttendanceRefused, StaffDesk
from incidents.rules.scans import ScanError, parse_scans

ATTENDANCE_TOPIC_PREFIX = "wareroom/attendance/"
SCANS_TOPIC_PREFIX = "wareroom/scans/"


def scans_in(intake: Intake, payload: bytes) -> list[int]:
    """Scan events (JSON, one or a list) to the scan rules; ScanError (a ValueError with a reason) when unusable."""
    return intake.scan(parse_scans(payload, now=intake.ctx.now()))


def build_router(staff: StaffDesk, intake: Intake, require_ingest: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["operations"])

    @api.post("/attendance", status_code=202, dependencies=[Depends(require_ingest)])
    async def attendance(request: Request) -> Any:
        """``{"person": login or id, "event": "check_in"|"check_out"|"absent", "at"?, "reason"?}``: the
        staff-shortage incidents an absence opened."""
        body = await request.body()
        try:
            opened = staff.receive(body, source="http")
        except AttendanceRefused as exc:
            intake.reject([Rejected("attendance", "http", body.decode("utf-8", "replace"), exc.reason)])
            return JSONResponse(status_code=400, content={"status": "invalid", "message": exc.reason})
        return {"status": "accepted", "incidents": opened}

    @api.post("/scans", status_code=202, dependencies=[Depends(require_ingest)])
    async def scans(request: Request) -> Any:
        """``{station, operator, order, result: ok|mismatch|unknown-barcode, at?, sku_ordered?, sku_picked?,
        site?, zone?}`` or a list of them: the incidents their alerts opened or touched."""
        body = await request.body()
        try:
            touched = scans_in(intake, body)
        except ScanError as exc:
            intake.reject([Rejected("scans", "http", body.decode("utf-8", "replace"), exc.reason)])
            return JSONResponse(status_code=400, content={"status": "invalid", "message": exc.reason})
        return {"status": "accepted", "incidents": sorted(set(touched))}

    return api
