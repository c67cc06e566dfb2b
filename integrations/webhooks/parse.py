"""Webhook bodies (Alertmanager v4, PagerDuty Events v2, generic JSON) to ExternalAlerts. Pure."""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from incidents.readings import Reading
from incidents.rules.external import AlertAction, ExternalAlert, GenericIntake
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


def parse_alertmanager(body: bytes, *, now: datetime) -> list[ExternalAlert]:
    """One ExternalAlert per alert of an Alertmanager webhook (version 4) group."""
    data = load_json_object(body, "Alertmanager body", PayloadError)
    if data.get("version") != "4":
        raise PayloadError(f'Alertmanager webhook version {data.get("version")!r} is not supported (need "4")')
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError('Alertmanager body has no "alerts" list')
    common = {"group_key": data.get("groupKey"), "receiver": data.get("receiver")}
    return [_alertmanager_alert(index, item, common, now) for index, item in enumerate(alerts, start=1)]


def _alertmanager_alert(index: int, item: object, common: dict[str, object], now: datetime) -> ExternalAlert:
    if not isinstance(item, dict):
        raise PayloadError(f"Alertmanager alert {index} is not an object")
    status, fingerprint = item.get("status"), item.get("fingerprint")
    if status not in ("firing", "resolved"):
        raise PayloadError(f'Alertmanager alert {index} has status {status!r}, expected "firing" or "resolved"')
    if not isinstance(fingerprint, str) or not fingerprint:
        raise PayloadError(f"Alertmanager alert {index} has no fingerprint")
    labels = _labels(item.get("labels"), f"Alertmanager alert {index}")
    annotations = _labels(item.get("annotations"), f"Alertmanager alert {index} annotations")
    title_en = annotations.get("summary") or labels.get("alertname") or fingerprint
    resolved = status == "resolved"
    when = item.get("endsAt") if resolved and item.get("endsAt") != _AM_ZERO_TIME else item.get("startsAt")
    return ExternalAlert(
        source="alertmanager",
        action=AlertAction.RESOLVE if resolved else AlertAction.TRIGGER,
        dedup_key=fingerprint,
        severity=severity_from_word(labels.get("severity")) or ALERTMANAGER_DEFAULT_SEVERITY,
        title_zh=annotations.get("summary_zh") or title_en,
        title_en=title_en,
        at=_timestamp(when, now, f"Alertmanager alert {index}"),
        labels=labels,
        details={
            "annotations": annotations,
            "generator_url": item.get("generatorURL"),
            **common,
        },
    )


def parse_pagerduty(body: bytes, *, now: datetime, make_key: Callable[[], str] = new_dedup_key) -> ExternalAlert:
    """A PagerDuty Events API v2 event; a trigger without ``dedup_key`` gets one from ``make_key``."""
    data = load_json_object(body, "PagerDuty event", PayloadError)
    action = _PD_ACTIONS.get(str(data.get("event_action")))
    if action is None:
        raise PayloadError(
            f"PagerDuty event_action {data.get('event_action')!r} is not trigger, acknowledge or resolve"
        )
    dedup_key = data.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        raise PayloadError("PagerDuty dedup_key must be a non-empty string")
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
    if not isinstance(source, str) or not source:
        raise PayloadError("PagerDuty trigger needs payload.source")
    severity = severity_from_word(payload.get("severity"))
    if payload.get("severity") not in ("critical", "error", "warning", "info") or severity is None:
        raise PayloadError(
            f"PagerDuty payload.severity {payload.get('severity')!r} is not critical, error, warning or info"
        )
    labels = {"source": source}
    labels.update({k: str(payload[k]) for k in ("component", "group", "class") if payload.get(k) is not None})
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
            "links": data.get("links", []),
            "images": data.get("images", []),
        },
    )


def parse_generic(body: bytes, *, now: datetime, make_key: Callable[[], str] = new_dedup_key) -> GenericIntake:
    """A generic JSON alert ``{title, severity, dedup_key?, labels?, action?, ts?, details?}``, a plain
    reading ``{sensor, metric, value, ts?}``, or a list of either."""
    data = load_json(body, "JSON body", PayloadError)
    items = data if isinstance(data, list) else [data]
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
