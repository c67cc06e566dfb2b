"""``/stock`` (``查库存``, ``库存``) and ``GET /api/v1/stock/{sku}``: one item's stock, for every platform."""

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from handlers.ports import Reply
from handlers.text import label, local_time, say
from incidents.clock import utcnow
from incidents.database import Database
from incidents.inventory.gs1 import BarcodeError
from incidents.inventory.report import EXPIRY_WARNING_DAYS, QuantLine, StockReport, StockStatus, stock_report
from incidents.inventory.search import NameIndex, SearchResult

log = logging.getLogger(__name__)

_BADGE = {StockStatus.OUT: "🔴", StockStatus.CRITICAL: "🔴", StockStatus.LOW: "🟡", StockStatus.OK: "🟢",
          StockStatus.OVER: "🟣", StockStatus.NO_RULE: "⚪"}


def qty(value: float | None) -> str:
    """A quantity without a needless ``.0``."""
    return "-" if value is None else f"{value:,.10g}" if value == int(value) else f"{value:,.1f}"


def status_text(status: StockStatus) -> str:
    """``🟡 低于补货点 LOW``."""
    return f"{_BADGE[status]} {label(f'stock_{status.value}')}"


def _line(line: QuantLine) -> str:
    """One location and lot; an expired lot says so in its status too, never "available" (a held one keeps
    its hold: quarantine says more)."""
    expiry = line.expiry.isoformat() if line.expiry else "-"
    if line.expiry_flag:
        expiry += " ⛔ " + label("expired") if line.expiry_flag == "expired" else " ⚠️ " + label("expiring")
    reserved = f" ({qty(line.reserved)} {label('reserved')})" if line.reserved else ""
    usable_but_expired = line.expiry_flag == "expired" and line.status == "available"
    status = label("quant_expired") if usable_but_expired else label(f"quant_{line.status}")
    return f"{line.location}  {line.lot or '-'}  {expiry}  {qty(line.on_hand)}{reserved}  {status}"


def format_report(report: StockReport, *, timezone: str) -> str:
    """The chat answer (warehouse-domain §1.2): header, totals, status, lines, movement, count, incidents."""
    tags = [label(f"storage_{report.storage_class}")]
    if report.lot_tracked:
        tags.append(label("lot_tracked"))
    if report.abc_class:
        tags.append(f"{report.abc_class}类 {report.abc_class}-class")
    lines = [f"📦 {report.sku} {report.name_zh} / {report.name_en}  [{' · '.join(tags)}]"]
    if report.gtin:
        lines.append(f"GTIN {report.gtin.lstrip('0') if len(report.gtin.lstrip('0')) >= 13 else report.gtin}")
    lines.append(" | ".join(f"{label(k)} {qty(v)}" for k, v in (
        ("available", report.available), ("on_hand", report.on_hand), ("reserved", report.reserved),
        ("hold", report.hold))) + f" {report.uom}")
    rule = ""
    if report.reorder_point is not None:
        rule = " — " + " / ".join(f"{label(k)} {qty(v)}" for k, v in (
            ("rop", report.reorder_point), ("safety_stock", report.safety_stock), ("max_qty", report.max_qty),
            ("reorder_qty", report.reorder_qty)))
    lines.append(f"{label('status')}: {status_text(report.status)}{rule}")
    if report.expired:
        lines.append(say("stock_expired_lots", qty=qty(report.expired), uom=report.uom))
    if report.expiring:
        lines.append(say("stock_expiring_lots", qty=qty(report.expiring), uom=report.uom, days=EXPIRY_WARNING_DAYS))
    cover = f"{report.days_of_cover:.1f}" if report.days_of_cover is not None else "-"
    lines.append(f"{label('picks_per_day')} {report.picks_per_day:.1f} · {label('days_of_cover')} {cover}")
    if report.lines:
        lines.append("  ".join(label(k) for k in ("location", "lot", "expiry", "qty", "status")))
        lines.extend(_line(line) for line in report.lines)
    if report.last_move:
        move = report.last_move
        lines.append(f"{label('last_move')}: {local_time(move.at, timezone)} {label('move_' + move.kind)} "
                     f"{move.qty:+,.10g} {move.reference or ''} ({move.actor or '-'})")
    if report.last_count:
        count = report.last_count
        when = local_time(count.counted_at, timezone) if count.counted_at else "-"
        lines.append(f"{label('last_count')}: {when} {count.location} {qty(count.counted)}/{qty(count.expected)} "
                     f"{label('variance')} {qty(count.variance)} {count.reason or ''} ({count.status})")
    for incident in report.incidents:
        lines.append(f"⚠️ {label('open_incidents')}: #{incident.id} {incident.severity} {incident.zone or ''} "
                     f"{incident.title_zh} / {incident.title_en}")
    lines.append(f"{label('as_of')} {local_time(report.as_of, timezone)} · {label('stock_source')}")
    return "\n".join(lines)


def report_json(report: StockReport) -> dict[str, Any]:
    """The JSON shape of ``GET /api/v1/stock/{sku}``: every field of the report, dates as ISO 8601."""
    data = asdict(report)
    data["status_text"] = {"zh": say(f"stock_{report.status.value}").split("\n")[0], "en": report.status.value}
    return data


class StockDesk:
    """Answers stock questions from the local stock database (names through its trigram index)."""

    def __init__(self, db: Database, *, timezone: str, now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.timezone = timezone
        self.now = now
        self.index = NameIndex()

    def search(self, query: str) -> tuple[SearchResult, StockReport | None]:
        """What the query names, and the item's report when it names one (BarcodeError for a bad scan)."""
        with self.db.reader() as session:
            found = self.index.search(session, query)
            if found.item is None:
                return found, None
            return found, stock_report(session, item=found.item, now=self.now())

    def reply(self, query: str) -> Reply:
        """The chat answer for ``/stock QUERY``; unknown items get suggestions, bad scans a plain error."""
        if not query.strip():
            return Reply(say("stock_usage"), ok=False)
        try:
            found, report = self.search(query)
        except BarcodeError as exc:
            log.info("stock look-up of a bad barcode %r", query)
            return Reply(str(exc), ok=False)
        if report is None:
            several = found.matched_by == "several"
            log.info("stock look-up of %r: %s", query, "several items match" if several else "nothing found")
            lines = [say("stock_several", query=query.strip(), count=found.matches) if several
                     else say("stock_not_found", query=query.strip())]
            if found.suggestions and not several:
                lines.append(label("stock_suggest"))
            lines += [f"• {s.sku} {s.name_zh} / {s.name_en}" for s in found.suggestions]
            return Reply("\n".join(lines), ok=several)
        text = format_report(report, timezone=self.timezone)
        if found.matched_by == "fuzzy" and found.suggestions:
            text += "\n" + label("stock_other_matches") + " " + ", ".join(s.sku for s in found.suggestions)
        return Reply(text)

    def json(self, sku: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The report as JSON, or None and the suggestions."""
        try:
            found, report = self.search(sku)
        except BarcodeError:
            return None, []
        if report is None:
            return None, [asdict(s) for s in found.suggestions]
        return report_json(report), []
