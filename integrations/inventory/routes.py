"""``GET /api/v1/stock/{sku}`` and ``POST /api/v1/stock/events``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from handlers.intake import Intake, Rejected
from handlers.stock import StockDesk
from incidents.inventory.events import StockEventError
from integrations.api_types import NO_NUL
from integrations.inventory.sink import StockEventSink


def build_router(desk: StockDesk, sink: StockEventSink, intake: Intake, require_read: Any,
                 require_ingest: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/stock", tags=["stock"])

    @api.get("/{sku}", dependencies=[Depends(require_read)])
    async def stock(sku: Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]) -> Any:
        """One item's stock (the same facts as ``/stock`` in chat); 404 with suggestions when unknown."""
        report, suggestions = desk.json(sku)
        if report is None:
            return JSONResponse(status_code=404, content={
                "detail": f"没有找到 {sku} / No item {sku}", "suggestions": suggestions})
        return report

    @api.post("/events", status_code=202, dependencies=[Depends(require_ingest)])
    async def events(request: Request) -> Any:
        """Stock events from a WMS (one object or a list); all applied or, with a reason, none."""
        body = await request.body()
        try:
            levels = sink.receive(body, source="http")
        except StockEventError as exc:
            intake.reject([Rejected("stock", "http", body.decode("utf-8", "replace"), exc.reason)])
            return JSONResponse(status_code=400, content={"status": "invalid", "message": exc.reason})
        return {"status": "accepted", "levels": [
            {"sku": lv.sku, "location": lv.location, "zone": lv.zone, "on_hand": lv.on_hand,
             "projected": lv.projected} for lv in levels]}

    return api
