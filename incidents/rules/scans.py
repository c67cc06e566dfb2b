"""Scan anomalies (频繁错扫): bursts of mis-scans per station or operator, and mis-shipments (the picked SKU is
not the ordered one), from pick and pack scan events (MQTT ``wareroom/scans/#``, ``POST /api/v1/scans``).

A ``scan_anomaly`` rule fires when ``count`` matching scans of one station (or operator) fall within
``window``, and resolves once none has for ``window``. Pure and in memory, like the rules engine; the
intake applies its signals with the same noise control as sensor alerts.
"""

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from incidents.rules.fields import ConfigModel, RuleBase, Seconds, StrList
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind

MisScan = Literal["mismatch", "unknown-barcode"]
MIS_SCANS: tuple[MisScan, ...] = ("mismatch", "unknown-barcode")
RESULTS: tuple[str, ...] = ("ok", *MIS_SCANS)


class ScanMatch(ConfigModel):
    """Which scans a rule counts: of these stations or operators only, when given."""

    stations: StrList | None = None
    operators: StrList | None = None


class ScanRule(RuleBase):
    """``pattern: burst`` counts scans whose result is one of ``results``; ``pattern: mis_shipment`` counts
    scans whose picked SKU differs from the ordered SKU. Per ``station`` or ``operator``."""

    type: Literal["scan_anomaly"]
    pattern: Literal["burst", "mis_shipment"] = "burst"
    per: Literal["station", "operator"] = "station"
    results: list[MisScan] = Field(default_factory=lambda: list(MIS_SCANS))
    count: int = Field(ge=1, description="scans within the window that raise the alert")
    window: Seconds = Field(gt=0)
    match: ScanMatch = Field(default_factory=ScanMatch)


class ScanError(ValueError):
    """A scan event that cannot be used; ``reason`` is bilingual."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One scan at a pick or pack station."""

    station: str
    operator: str
    order: str
    result: str
    at: datetime
    sku_ordered: str | None = None
    sku_picked: str | None = None
    site: str | None = None
    zone: str | None = None


def parse_scans(payload: bytes, *, now: datetime) -> list[ScanEvent]:
    """Scan events from JSON: one object or a list of ``{station, operator, order, result, at?, sku_ordered?,
    sku_picked?, site?, zone?}``; ``at`` is ISO 8601 with an offset (default ``now``). ScanError otherwise."""
    try:
        body = json.loads(payload.decode("utf-8"))
    except ValueError as exc:
        raise ScanError(f"扫描消息不是 JSON / The scan event is not JSON: {exc}") from exc
    if _has_nul(body):
        raise ScanError("扫描事件含有 NUL 字符 / The scan event contains a NUL character")
    items = body if isinstance(body, list) else [body]
    events = []
    for item in items:
        if not isinstance(item, dict):
            raise ScanError("扫描事件必须是对象 / A scan event must be an object")
        missing = [k for k in ("station", "operator", "order", "result") if not str(item.get(k) or "").strip()]
        if missing:
            raise ScanError(f"扫描事件缺少字段：{', '.join(missing)} / The scan event lacks: {', '.join(missing)}")
        if item["result"] not in RESULTS:
            raise ScanError(f"未知的扫描结果「{item['result']}」，可用：{', '.join(RESULTS)} / Unknown scan result "
                            f"\"{item['result']}\"; known: {', '.join(RESULTS)}")
        try:
            at = datetime.fromisoformat(item["at"]) if item.get("at") else now
        except (TypeError, ValueError) as exc:
            raise ScanError(f"扫描时间无法解析 / The scan time could not be read: {item.get('at')!r}") from exc
        if at.tzinfo is None:
            raise ScanError("扫描时间需要时区 / The scan time needs a timezone offset")
        events.append(ScanEvent(
            station=str(item["station"]), operator=str(item["operator"]), order=str(item["order"]),
            result=item["result"], at=at, sku_ordered=_text(item.get("sku_ordered")),
            sku_picked=_text(item.get("sku_picked")), site=_text(item.get("site")), zone=_text(item.get("zone"))))
    return events


def _has_nul(value: object) -> bool:
    """Whether any string in a JSON value holds NUL (PostgreSQL text cannot store it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_nul(v) for v in value)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass
class _Window:
    times: deque[float]
    firing: bool = False
    last: ScanEvent | None = None


class ScanWatch:
    """The scan rules' state: one window per (rule, station or operator)."""

    def __init__(self, rules: Iterable[ScanRule]) -> None:
        self.rules = tuple(rules)
        self._windows: dict[str, _Window] = {}

    def observe(self, event: ScanEvent) -> list[AlertSignal]:
        """Count one scan against every rule; the alerts it raises."""
        signals = []
        t = event.at.timestamp()
        for rule in self.rules:
            if not _counts(rule, event):
                continue
            key = f"{rule.id}:{rule.per}:{event.station if rule.per == 'station' else event.operator}"
            window = self._windows.setdefault(key, _Window(deque()))
            window.times.append(t)
            window.last = event
            while window.times and window.times[0] <= t - rule.window:
                window.times.popleft()
            if not window.firing and len(window.times) >= rule.count:
                window.firing = True
                signals.append(_signal(rule, key, event, len(window.times), kind=SignalKind.FIRING, at=event.at))
        return signals

    def tick(self, now: datetime) -> list[AlertSignal]:
        """Resolve the alerts with no counted scan for a whole window."""
        signals = []
        t = now.timestamp()
        for rule in self.rules:
            for key, window in self._windows.items():
                if not key.startswith(f"{rule.id}:") or not window.firing or window.last is None:
                    continue
                if not window.times or window.times[-1] <= t - rule.window:
                    window.firing = False
                    window.times.clear()
                    signals.append(_signal(rule, key, window.last, 0, kind=SignalKind.RESOLVED, at=now))
        return signals


def _counts(rule: ScanRule, event: ScanEvent) -> bool:
    if rule.match.stations is not None and event.station not in rule.match.stations:
        return False
    if rule.match.operators is not None and event.operator not in rule.match.operators:
        return False
    if rule.pattern == "mis_shipment":
        return event.sku_ordered is not None and event.sku_picked is not None and event.sku_ordered != event.sku_picked
    return event.result in rule.results


def _signal(rule: ScanRule, key: str, event: ScanEvent, count: int, *, kind: SignalKind, at: datetime) -> AlertSignal:
    who = event.station if rule.per == "station" else event.operator
    where_zh, where_en = ("工位", "station") if rule.per == "station" else ("操作员", "operator")
    minutes = round(rule.window / 60)
    detail_zh = f"{minutes} 分钟内 {count} 次" if count else "已恢复"
    detail_en = f"{count} in {minutes} min" if count else "back to normal"
    return AlertSignal(
        kind=kind, rule_id=rule.id, fingerprint=key, severity=Severity(rule.severity),
        title_zh=f"{rule.title.zh}：{where_zh} {who}（{detail_zh}）",
        title_en=f"{rule.title.en}: {where_en} {who} ({detail_en})", at=at, site=event.site, zone=event.zone,
        sensor=who, metric="scan_mismatch", value=float(count), threshold=float(rule.count), playbook=rule.playbook,
        source="scans", recipients=tuple(rule.recipients),
        labels={"station": event.station, "operator": event.operator, "order": event.order, "per": rule.per})
