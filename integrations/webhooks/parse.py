"""Webhook bodies (Alertmanager v4, Grafana unified alerting, PagerDuty Events v2, generic JSON) to
ExternalAlerts. Pure.

Every field the sender's specification marks optional is optional here. Alertmanager
(``notify/webhook`` ``Message``: version "4", groupKey, truncatedAlerts, and ``template.Data``):
``fingerprint`` is absent before release 0.19 and is then computed from the labels exactly as
Alertmanager does (``prometheus/common`` ``model.LabelSet.Fingerprint``: FNV-1a 64 over each label
name and value, sorted by name, each followed by the byte 0xFF, printed as 16 hex digits).
Grafana's webhook contact point sends the same shape with version "1", ``orgId``, ``state``,
``title``, ``message`` and per-alert ``values``/``valueString``/``silenceURL``/``dashboardURL``.
PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event" and the Events v2 OpenAPI):
``routing_key`` and ``event_action`` required; ``dedup_key`` at most 255 characters;
``payload.summary`` (at most 1,024 characters), ``payload.source`` and ``payload.severity``
(critical, error, warning or info, exactly) required for a trigger; ``links`` items need ``href``,
``images`` items ``src``; the whole event at most 512 KB.
"""

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from incidents.readings import Reading
from incidents.rules.external import AlertAction, ExternalAlert, ExternalGroup, GenericIntake
from incidents.rules.plain_reading import (
    PlainReadingError,
    load_json,
    load_json_object,
    parse_timestamp,
    reading_from_plain,
    string_labels,
)
from incidents.severity import Severity

# Severity words from Prometheus labels, PagerDuty, and Chinese ERP warning levels (紧急 / 警告 / 提醒).
SEVERITY_WORDS: dict[str, Severity] = {
    "sev1": Severity.SEV1,
    "sev2": Severity.SEV2,
    "sev3": Severity.SEV3,
    "sev4": Severity.SEV4,
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
    "minor": Severity.SEV3,
    "medium": Severity.SEV3,
    "info": Severity.SEV4,
    "low": Severity.SEV4,
    "none": Severity.SEV4,
    "紧急": Severity.SEV1,
    "严重": Severity.SEV2,
    "警告": Severity.SEV3,
    "提醒": Severity.SEV4,
}
ALERTMANAGER_DEFAULT_SEVERITY = Severity.SEV3
_AM_ZERO_TIME = "0001-01-01T00:00:00Z"
_PD_ACTIONS = {action.value: action for action in AlertAction}
_PD_SEVERITIES = ("critical", "error", "warning", "info")
PD_MAX_BODY_BYTES = 512 * 1024
MAX_GROUP_ALERTS = 10_000  # alerts applied from one group notification; the rest are counted as truncated
MAX_GENERIC_ITEMS = 10_000
PD_MAX_SUMMARY = 1024
PD_MAX_DEDUP_KEY = 255
_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


class PayloadError(ValueError):
    """A webhook body that cannot be used; ``reason`` is a plain sentence for the HTTP answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_dedup_key() -> str:
    """A fresh dedup key for a trigger that came without one."""
    return uuid.uuid4().hex


def severity_from_word(word: object) -> Severity | None:
    """Map a severity word (``critical``, ``SEV2``, ``警告``…) to a Severity, or None if unknown."""
    return SEVERITY_WORDS.get(word.strip().lower()) if isinstance(word, str) else None


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives an alert with these labels (16 hex digits)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def parse_alertmanager(body: bytes, *, now: datetime) -> ExternalGroup:
    """An Alertmanager webhook (version 4) or Grafana webhook (version 1) notification: one group of alerts."""
    data = load_json_object(body, "Alertmanager body", PayloadError)
    grafana = "orgId" in data or data.get("version") == "1"
    source = "grafana" if grafana else "alertmanager"
    if not grafana and data.get("version", "4") != "4":
        raise PayloadError(f'Alertmanager webhook version {data.get("version")!r} is not supported (need "4")')
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError(f'{_SENDERS[source]} body has no "alerts" list')
    beyond = max(0, len(alerts) - MAX_GROUP_ALERTS)  # applied as the sender's own max_alerts would: counted
    group_labels = _labels(data.get("groupLabels"), f"{_SENDERS[source]} groupLabels")
    receiver = _optional_text(data.get("receiver"), "receiver")
    key = _optional_text(data.get("groupKey"), "groupKey") or "{}:{" + ",".join(
        f'{name}="{value}"' for name, value in sorted(group_labels.items())) + "}"
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError(f"{_SENDERS[source]} truncatedAlerts {str(truncated)[:20]!r} is not a count")
    common: dict[str, object] = {"group_key": key, "receiver": receiver}
    if grafana:
        common.update({"title": data.get("title"), "state": data.get("state")})
    status = data.get("status")
    return ExternalGroup(
        source=source, key=key, receiver=receiver, truncated=truncated + beyond,
        alerts=tuple(_alertmanager_alert(source, index, item, group_status=status, common=common, now=now)
                     for index, item in enumerate(alerts[:MAX_GROUP_ALERTS], start=1)),
    )


_SENDERS = {"alertmanager": "Alertmanager", "grafana": "Grafana"}
_GRAFANA_DETAILS = ("values", "valueString", "silenceURL", "dashboardURL", "panelURL", "imageURL")


def _alertmanager_alert(source: str, index: int, item: object, *, group_status: object,
                        common: dict[str, object], now: datetime) -> ExternalAlert:
    what = f"{_SENDERS[source]} alert {index}"
    if not isinstance(item, dict):
        raise PayloadError(f"{what} is not an object")
    status = item.get("status", group_status)
    if status not in ("firing", "resolved"):
        raise PayloadError(f'{what} has status {status!r}, expected "firing" or "resolved"')
    labels = _labels(item.get("labels"), what)
    annotations = _labels(item.get("annotations"), f"{what} annotations")
    fingerprint = item.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        fingerprint = labels_fingerprint(labels)  # Alertmanager before 0.19 sent none
    elif not isinstance(fingerprint, str):
        raise PayloadError(f"{what} fingerprint {fingerprint!r} is not a string")
    title_en = annotations.get("summary") or labels.get("alertname") or fingerprint
    resolved = status == "resolved"
    ends = item.get("endsAt")
    when = ends if resolved and ends not in (None, "", _AM_ZERO_TIME) else item.get("startsAt")
    details: dict[str, object] = {"annotations": annotations, "generator_url": item.get("generatorURL"), **common}
    details.update({key: item[key] for key in _GRAFANA_DETAILS if key in item})
    return ExternalAlert(
        source=source,
        action=AlertAction.RESOLVE if resolved else AlertAction.TRIGGER,
        dedup_key=fingerprint,
        severity=severity_from_word(labels.get("severity")) or ALERTMANAGER_DEFAULT_SEVERITY,
        title_zh=annotations.get("summary_zh") or title_en,
        title_en=title_en,
        at=_timestamp(when, now, what),
        labels=labels,
        details=details,
    )


def parse_pagerduty(body: bytes, *, now: datetime, make_key: Callable[[], str] = new_dedup_key) -> ExternalAlert:
    """A PagerDuty Events API v2 event, held to the published limits; a trigger without ``dedup_key`` gets one
    from ``make_key``."""
    if len(body) > PD_MAX_BODY_BYTES:
        raise PayloadError(f"PagerDuty event is {len(body):,} bytes, over the limit of 512 KB")
    data = load_json_object(body, "PagerDuty event", PayloadError)
    routing_key = data.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        raise PayloadError("PagerDuty event needs routing_key (the integration key)")
    action = _PD_ACTIONS.get(str(data.get("event_action")))
    if action is None:
        raise PayloadError(
            f"PagerDuty event_action {str(data.get('event_action'))[:40]!r} is not trigger, acknowledge or resolve"
        )
    dedup_key = data.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        raise PayloadError("PagerDuty dedup_key must be a non-empty string")
    if dedup_key is not None and len(dedup_key) > PD_MAX_DEDUP_KEY:
        raise PayloadError(f"PagerDuty dedup_key is {len(dedup_key)} characters, over the limit of 255")
    if action is not AlertAction.TRIGGER:
        if dedup_key is None:
            raise PayloadError(f"PagerDuty {action.value} needs a dedup_key")
        return ExternalAlert(
            source="pagerduty",
            action=action,
            dedup_key=dedup_key,
            severity=None,
            title_zh="",
            title_en="",
            at=now,
        )
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise PayloadError("PagerDuty trigger has no payload object")
    summary, source = payload.get("summary"), payload.get("source")
    if not isinstance(summary, str) or not summary:
        raise PayloadError("PagerDuty trigger needs payload.summary")
    if len(summary) > PD_MAX_SUMMARY:
        raise PayloadError(f"PagerDuty payload.summary is {len(summary):,} characters, over the limit of 1,024")
    if not isinstance(source, str) or not source:
        raise PayloadError("PagerDuty trigger needs payload.source")
    if payload.get("severity") not in _PD_SEVERITIES:
        raise PayloadError(
            f"PagerDuty payload.severity {str(payload.get('severity'))[:40]!r} is not critical, error, warning or info"
        )
    severity = severity_from_word(payload["severity"])
    labels = {"source": source}
    for key in ("component", "group", "class"):
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            raise PayloadError(f"PagerDuty payload.{key} must be a string")
        if value:
            labels[key] = value
    return ExternalAlert(
        source="pagerduty",
        action=action,
        dedup_key=dedup_key or make_key(),
        severity=severity,
        title_zh=summary,
        title_en=summary,
        at=_timestamp(payload.get("timestamp"), now, "PagerDuty payload"),
        labels=labels,
        details={
            "custom_details": payload.get("custom_details"),
            "links": _context(data, "links", "href"),
            "images": _context(data, "images", "src"),
            **{key: data[key] for key in ("client", "client_url") if isinstance(data.get(key), str)},
        },
    )


def _context(data: dict[str, Any], name: str, required: str) -> list[Any]:
    """PagerDuty ``links`` / ``images``: optional lists of objects, each with its ``required`` URL."""
    items = data.get(name, [])
    if not isinstance(items, list):
        raise PayloadError(f"PagerDuty {name} must be a list")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get(required), str):
            raise PayloadError(f"PagerDuty {name} item {number} needs {required}")
    return items


def parse_generic(body: bytes, *, now: datetime, make_key: Callable[[], str] = new_dedup_key) -> GenericIntake:
    """A generic JSON alert ``{title, severity, dedup_key?, labels?, action?, ts?, details?}``, a plain
    reading ``{sensor, metric, value, ts?}``, or a list of either."""
    data = load_json(body, "JSON body", PayloadError)
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_GENERIC_ITEMS:
        raise PayloadError(f"JSON body has {len(items):,} items, over the limit of {MAX_GENERIC_ITEMS:,}")
    alerts: list[ExternalAlert] = []
    readings: list[Reading] = []
    for index, item in enumerate(items, start=1):
        where = f"item {index}" if isinstance(data, list) else "body"
        if not isinstance(item, dict):
            raise PayloadError(f"{where} is not a JSON object")
        try:
            if "sensor" in item and "title" not in item:
                readings.append(reading_from_plain(item, now=now, source="webhook"))
            else:
                alerts.append(_generic_alert(item, now, make_key))
        except (PayloadError, PlainReadingError) as exc:
            raise PayloadError(f"{where}: {exc}") from None
    return GenericIntake(alerts=tuple(alerts), readings=tuple(readings))


def _generic_alert(item: dict[str, Any], now: datetime, make_key: Callable[[], str]) -> ExternalAlert:
    action = _PD_ACTIONS.get(str(item.get("action", "trigger")))
    if action is None:
        raise PayloadError(f"action {item.get('action')!r} is not trigger, acknowledge or resolve")
    title_zh, title_en = _titles(item.get("title"))
    dedup_key = item.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        raise PayloadError("dedup_key must be a non-empty string")
    if dedup_key is None and action is not AlertAction.TRIGGER:
        raise PayloadError(f"{action.value} needs a dedup_key")
    severity = severity_from_word(item.get("severity"))
    if severity is None:
        raise PayloadError(
            f"severity {item.get('severity')!r} is not one of SEV1–SEV4, critical, error, warning, info, "
            "紧急, 严重, 警告, 提醒"
        )
    details = item.get("details", {})
    if not isinstance(details, dict):
        raise PayloadError('"details" must be an object')
    return ExternalAlert(
        source="generic",
        action=action,
        dedup_key=dedup_key or make_key(),
        severity=severity,
        title_zh=title_zh,
        title_en=title_en,
        at=_timestamp(item.get("ts"), now, "alert"),
        labels=string_labels(item.get("labels")),
        details=details,
    )


def _titles(title: object) -> tuple[str, str]:
    if isinstance(title, str) and title:
        return title, title
    if isinstance(title, dict):
        zh, en = title.get("zh"), title.get("en")
        if isinstance(zh, str) and zh and isinstance(en, str) and en:
            return zh, en
    raise PayloadError('"title" must be a non-empty string or {"zh": ..., "en": ...}')


def _optional_text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a string")
    return value


def _labels(value: object, what: str) -> dict[str, str]:
    try:
        return string_labels(value)
    except PlainReadingError as exc:
        raise PayloadError(f"{what}: {exc}") from None


def _timestamp(value: object, now: datetime, what: str) -> datetime:
    try:
        return parse_timestamp(value, now=now)
    except PlainReadingError as exc:
        raise PayloadError(f"{what}: {exc}") from None
