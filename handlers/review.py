"""Post-incident reviews and statistics across incidents: the data, assembled from the record.

Pure of any rendering library: ``integrations.export`` turns a ``Review`` into Markdown, HTML, PDF,
JSON or CSV. Every fact comes from the database: the audit trail, step runs, alerts, stored sensor
samples and the stock held in the incident's zone.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean

from sqlmodel import Session, col, select

from handlers.review_identity import Accountability, accountability
from handlers.review_sources import StepSource, sources_of_steps
from handlers.text import CATALOGUE, role_name
from incidents import audit, directory, service
from incidents.inventory.samples import samples_between
from incidents.inventory.tables import Item, Location, Lot, StockQuant, Zone
from incidents.tables import Alert, AuditEvent, Incident, StepRun
from playbooks.durations import parse_duration
from playbooks.loader import LoadedPlaybook

CHART_BEFORE = timedelta(hours=1)
CHART_AFTER = timedelta(minutes=30)
SIGN_OFF_ROLES = ("SL", "WM", "QA")


def review_url(public_url: str, incident_id: int) -> str:
    """Where the HTML review of an incident is served."""
    return f"{public_url.rstrip('/')}/api/v1/incidents/{incident_id}/review.html"


def action_text(action: str) -> tuple[str, str]:
    """The audit action in words (zh, en); unknown actions are shown as they are."""
    return CATALOGUE.get(f"action_{action}", (action, action))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    who: str
    action: str
    text_zh: str
    text_en: str
    object_id: str | None
    detail: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class StepLine:
    step_id: str
    title_zh: str
    title_en: str
    role: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    by: str | None
    seconds: float
    due_seconds: float | None
    overdue: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class EscalationLine:
    at: datetime
    level: int | None
    role: str | None
    target: str | None


@dataclass(frozen=True, slots=True)
class Series:
    sensor: str
    metric: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Threshold:
    rule: str
    value: float


@dataclass(frozen=True, slots=True)
class Milestone:
    key: str
    name_zh: str
    name_en: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AffectedStock:
    sku: str
    name_zh: str
    name_en: str
    location: str
    lot: str | None
    expiry: str | None
    status: str
    qty: float


@dataclass(frozen=True, slots=True)
class ChainResult:
    ok: bool
    checked: int
    first_bad_id: int | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class Review:
    incident_id: int
    title_zh: str
    title_en: str
    severity: str
    status: str
    site: str | None
    zone: str | None
    playbook: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    mitigating_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    tta_seconds: float | None
    ttm_seconds: float | None
    ttr_seconds: float | None
    alerts: int
    timeline: tuple[TimelineEntry, ...]
    steps: tuple[StepLine, ...]
    escalations: tuple[EscalationLine, ...]
    series: tuple[Series, ...]
    thresholds: tuple[Threshold, ...]
    milestones: tuple[Milestone, ...]
    stock: tuple[AffectedStock, ...]
    chain: ChainResult
    sign_off_roles: tuple[str, ...]
    timezone: str
    generated_at: datetime
    accountability: Accountability  # acknowledgements, signatures, overrides (handlers.review_identity)
    sources: tuple[StepSource, ...] = ()


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if end is not None else None


def _detail(event: AuditEvent) -> str:
    parts = []
    for source in (event.before, event.after):
        if source:
            parts.append(", ".join(f"{k}={v}" for k, v in source.items() if v is not None))
    return " → ".join(p for p in parts if p)


def build_review(session: Session, *, incident_id: int, library: Mapping[str, LoadedPlaybook], timezone: str,
                 now: datetime) -> Review:
    """Everything a review shows about one incident (IncidentNotFound if there is none)."""
    incident = service.get_incident(session, incident_id=incident_id)
    events = audit.trail(session, incident_id=incident_id)
    people = directory.names(session, [p for p in {incident.acknowledged_by} if p is not None])
    timeline = tuple(TimelineEntry(e.at, e.actor_name, e.action, *action_text(e.action), e.object_id, _detail(e),
                                   e.reason) for e in events)
    alerts = list(session.exec(select(Alert).where(Alert.incident_id == incident_id).order_by(col(Alert.id))))
    end = incident.resolved_at or now
    series = _series(session, alerts, start=incident.opened_at - CHART_BEFORE, end=end + CHART_AFTER)
    chain = audit.verify_chain(session)
    steps = steps_of(session, incident, library, now=now)
    done = [line.step_id for line in sorted(steps, key=lambda s: s.finished_at or now) if line.status == "done"]
    return Review(
        incident_id=incident_id, title_zh=incident.title_zh, title_en=incident.title_en, severity=incident.severity,
        status=incident.status, site=incident.site, zone=incident.zone,
        playbook=f"{incident.playbook_id} v{incident.playbook_version}" if incident.playbook_id else None,
        opened_at=incident.opened_at, acknowledged_at=incident.acknowledged_at,
        acknowledged_by=people.get(incident.acknowledged_by) if incident.acknowledged_by else None,
        mitigating_at=incident.mitigating_at, resolved_at=incident.resolved_at, closed_at=incident.closed_at,
        tta_seconds=_seconds(incident.opened_at, incident.acknowledged_at),
        ttm_seconds=_seconds(incident.opened_at, incident.mitigating_at),
        ttr_seconds=_seconds(incident.opened_at, incident.resolved_at),
        alerts=len(alerts), timeline=timeline, steps=steps,
        escalations=tuple(EscalationLine(e.at, (e.after or {}).get("level"), (e.after or {}).get("role"),
                                         e.object_id if e.object_type == "step" else None)
                          for e in events if e.action.endswith(".escalated")),
        series=series,
        thresholds=tuple(sorted({Threshold(a.rule_id, a.threshold) for a in alerts if a.threshold is not None},
                                key=lambda t: t.value)),
        milestones=_milestones(incident), stock=affected_stock(session, zone=incident.zone),
        chain=ChainResult(chain.ok, chain.checked, chain.first_bad_id, chain.problem),
        sign_off_roles=tuple(role_name(code) for code in SIGN_OFF_ROLES), timezone=timezone, generated_at=now,
        accountability=accountability(session, incident_id=incident_id),
        sources=sources_of_steps(library.get(incident.playbook_id or ""), done),
    )


def steps_of(session: Session, incident: Incident, library: Mapping[str, LoadedPlaybook], *,
             now: datetime) -> tuple[StepLine, ...]:
    """Every step run of the incident: who, when, how long, against the playbook's completion timeout."""
    runs = list(session.exec(select(StepRun).where(StepRun.incident_id == incident.id).order_by(col(StepRun.id))))
    names = directory.names(session, [r.actor_person_id for r in runs if r.actor_person_id is not None])
    loaded = library.get(incident.playbook_id or "")
    lines = []
    for run in runs:
        step = None
        if loaded is not None:
            step = next((s for s in loaded.playbook.all_steps() if s.id == run.step_id), None)
        due = parse_duration(step.timeouts.complete).total_seconds() if step and step.timeouts and \
            step.timeouts.complete else None
        took = ((run.finished_at or now) - run.started_at).total_seconds()
        lines.append(StepLine(
            step_id=run.step_id, title_zh=step.title.zh if step else run.step_id,
            title_en=step.title.en if step else run.step_id, role=(step.role or "anyone") if step else "-",
            status=run.status, started_at=run.started_at, finished_at=run.finished_at,
            by=names.get(run.actor_person_id) if run.actor_person_id else None, seconds=took, due_seconds=due,
            overdue=due is not None and run.status != "skipped" and took > due, reason=run.reason))
    return tuple(lines)


def _series(session: Session, alerts: list[Alert], *, start: datetime, end: datetime) -> tuple[Series, ...]:
    pairs = sorted({(a.sensor, a.metric) for a in alerts if a.sensor and a.metric})
    found: list[Series] = []
    for sensor, metric in pairs:
        assert sensor is not None and metric is not None
        rows = samples_between(session, sensors=[sensor], metric=metric, start=start, end=end)
        if rows:
            found.append(Series(sensor, metric, tuple((r.at, r.value) for r in rows)))
    return tuple(found)


def _milestones(incident: Incident) -> tuple[Milestone, ...]:
    marks = (("opened", incident.opened_at), ("acknowledged", incident.acknowledged_at),
             ("mitigating", incident.mitigating_at), ("resolved", incident.resolved_at))
    return tuple(Milestone(key, *CATALOGUE[f"milestone_{key}"], at) for key, at in marks if at is not None)


def affected_stock(session: Session, *, zone: str | None) -> tuple[AffectedStock, ...]:
    """Stock in the incident's zone, held and quarantined lines first."""
    if zone is None:
        return ()
    rows = session.exec(
        select(StockQuant, Item, Location.code, Lot)
        .join(Item, col(Item.id) == StockQuant.item_id)
        .join(Location, col(Location.id) == StockQuant.location_id)
        .join(Zone, col(Zone.id) == Location.zone_id)
        .outerjoin(Lot, col(Lot.id) == StockQuant.lot_id)
        .where(Zone.code == zone, StockQuant.qty_on_hand != 0)
    ).all()
    lines = [AffectedStock(item.sku, item.name_zh, item.name_en, code, lot.lot_no if lot else None,
                           lot.expiry_date.isoformat() if lot and lot.expiry_date else None, quant.status,
                           quant.qty_on_hand) for quant, item, code, lot in rows]
    return tuple(sorted(lines, key=lambda s: (s.status == "available", s.sku, s.location)))


@dataclass(frozen=True, slots=True)
class GroupStats:
    incident_type: str
    site: str
    count: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    overdue_steps: int


@dataclass(frozen=True, slots=True)
class ReviewStats:
    since: datetime
    until: datetime
    total: int
    groups: tuple[GroupStats, ...]
    noisy_rules: tuple[tuple[str, int], ...]


def review_stats(session: Session, *, since: datetime, now: datetime,
                 library: Mapping[str, LoadedPlaybook]) -> ReviewStats:
    """Counts, MTTA and MTTR by incident type and site, overdue steps, and the rules that fired most."""
    incidents = list(session.exec(select(Incident).where(Incident.opened_at >= since).order_by(col(Incident.id))))
    grouped: dict[tuple[str, str], list[Incident]] = defaultdict(list)
    for incident in incidents:
        grouped[(incident.playbook_id or incident.source, incident.site or "-")].append(incident)
    groups = []
    for (kind, site), members in sorted(grouped.items()):
        acks = [(i.acknowledged_at - i.opened_at).total_seconds() for i in members if i.acknowledged_at]
        fixes = [(i.resolved_at - i.opened_at).total_seconds() for i in members if i.resolved_at]
        overdue = sum(line.overdue for i in members for line in steps_of(session, i, library, now=now))
        groups.append(GroupStats(kind, site, len(members), mean(acks) if acks else None,
                                 mean(fixes) if fixes else None, overdue))
    rules = Counter(session.exec(select(Alert.rule_id).where(Alert.at >= since)).all())
    return ReviewStats(since, now, len(incidents), tuple(groups), tuple(rules.most_common(10)))
