"""Post-incident reviews and statistics across incidents: the data, assembled from the record.

Pure of any rendering library: ``integrations.export`` turns a ``Review`` (``handlers.review_model``) into
Markdown, HTML, PDF, JSON or CSV. Every fact comes from the database: the audit trail, step runs,
alerts, stored sensor samples of the zone's probes and the move ledger of the zone's stock.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean

from sqlmodel import Session, col, select

from handlers.drill_stats import DrillStats, drill_stats, split_drills
from handlers.review_evidence import evidence_of
from handlers.review_exposure import EXPOSURE_METRICS, exposure, limits, zone_series
from handlers.review_identity import accountability
from handlers.review_model import (
    AffectedStock,
    Bi,
    ChainResult,
    EscalationLine,
    Milestone,
    Review,
    StepLine,
    TimelineEntry,
)
from handlers.review_sources import sources_of_steps
from handlers.review_story import (
    CAUSE_INPUTS,
    DISPOSITION_INPUTS,
    Facts,
    Narrator,
    answer_of,
    answer_words,
    summary,
    words,
)
from handlers.text import CATALOGUE
from incidents import audit, directory, milestones, service
from incidents.inventory.as_of import zone_stock_during
from incidents.inventory.report import EXPIRY_WARNING_DAYS
from incidents.kinetics import DEFAULT_ACTIVATION_ENERGY_KJ
from incidents.milestones import MilestoneValue
from incidents.rules.config import DeviceRegistry
from incidents.tables import Alert, AuditEvent, Incident, StepRun
from playbooks.durations import parse_duration
from playbooks.loader import LoadedPlaybook
from playbooks.schema import ROLES

CHART_BEFORE = timedelta(hours=1)
CHART_AFTER = timedelta(minutes=30)
SIGN_OFF_ROLES = ("SL", "WM", "QA")
FORMATS = ("html", "pdf", "md", "json", "csv")


def review_url(public_url: str, incident_id: int, fmt: str = "html") -> str:
    """Where the review of an incident is served in ``fmt`` (one of ``FORMATS``)."""
    return f"{public_url.rstrip('/')}/api/v1/incidents/{incident_id}/review.{fmt}"


def action_text(action: str) -> tuple[str, str]:
    """The audit action in words (zh, en); unknown actions are shown as they are."""
    return CATALOGUE.get(f"action_{action}", (action, action))


@dataclass(frozen=True)
class ReviewSetup:
    """What a review is built with besides the record: playbooks, the device registry and the MKT settings.

    ``activation_energy_kj`` is ΔH of USP <1079.2> (83.144 kJ/mol by default); ``mkt_period`` is how far
    back from the resolution (or now) the period MKT reaches.
    """

    library: Mapping[str, LoadedPlaybook]
    timezone: str
    registry: DeviceRegistry | None = None
    activation_energy_kj: float = DEFAULT_ACTIVATION_ENERGY_KJ
    mkt_period: timedelta = timedelta(hours=24)


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if end is not None else None


def _detail(event: AuditEvent) -> str:
    parts = []
    for source in (event.before, event.after):
        if source:
            parts.append(", ".join(f"{k}={v}" for k, v in source.items() if v is not None and k != "alerts"))
    return " → ".join(p for p in parts if p)


def build_review(session: Session, *, incident_id: int, setup: ReviewSetup, now: datetime) -> Review:
    """Everything a review shows about one incident (IncidentNotFound if there is none)."""
    incident = service.get_incident(session, incident_id=incident_id)
    events = audit.trail(session, incident_id=incident_id)
    alerts = list(session.exec(select(Alert).where(Alert.incident_id == incident_id).order_by(col(Alert.id))))
    loaded = setup.library.get(incident.playbook_id or "")
    playbook = loaded.playbook if loaded else None
    narrator = Narrator(setup.registry, playbook, alerts, setup.timezone)
    timeline = tuple(TimelineEntry(e.at, e.actor_name, e.action, narrator.sentence(e), e.object_id, _detail(e),
                                   e.reason) for e in events)
    marks = milestones.effective(session, incident)
    end = incident.resolved_at or now
    metric = next((a.metric for a in alerts if a.metric), None)
    thresholds = limits(setup.registry, incident.zone, metric, alerts) if metric else ()
    alert_sensors = {a.sensor for a in alerts if a.sensor}
    series = zone_series(session, registry=setup.registry, zone=incident.zone, metric=metric,
                         alert_sensors=alert_sensors, start=incident.opened_at - CHART_BEFORE,
                         end=end + CHART_AFTER) if metric else ()
    found = None
    if metric in EXPOSURE_METRICS:
        period = zone_series(session, registry=setup.registry, zone=incident.zone, metric=metric,
                             alert_sensors=alert_sensors, start=end - setup.mkt_period, end=end) if metric else ()
        found = exposure(chart=series, period=period, thresholds=thresholds, registry=setup.registry,
                         fallback=(incident.opened_at, end), period_window=(end - setup.mkt_period, end),
                         activation_energy_kj=setup.activation_energy_kj)
    people = directory.names(session, [p for p in {incident.acknowledged_by} if p is not None])
    acknowledged_by = people.get(incident.acknowledged_by) if incident.acknowledged_by else None
    resolved_by = next((e.actor_name for e in reversed(events) if e.action == "incident.resolve"), None)
    answers = (incident.playbook_state or {}).get("answers") or {}
    steps = steps_of(session, incident, setup.library, now=now)
    cause, disposition = answer_of(playbook, answers, CAUSE_INPUTS), answer_of(playbook, answers, DISPOSITION_INPUTS)
    zone_name = _zone_name(setup.registry, incident.zone)
    title = Bi(incident.title_zh, incident.title_en)
    chain = audit.verify_chain(session)
    who = accountability(session, incident_id=incident_id)
    signed_by = tuple(dict.fromkeys(line.printed_name for line in who.signatures))
    done = [line.step_id for line in sorted(steps, key=lambda s: s.finished_at or now) if line.status == "done"]
    return Review(
        incident_id=incident_id, title=title, severity=incident.severity, status=incident.status,
        status_text=words(f"status_{incident.status}"), site=incident.site, zone=incident.zone, zone_name=zone_name,
        playbook=f"{incident.playbook_id} v{incident.playbook_version}" if incident.playbook_id else None,
        summary=summary(Facts(
            title=title, severity=incident.severity, zone_name=zone_name or Bi.same("-"),
            opened_at=incident.opened_at, exposure=found, thresholds=thresholds, cause=cause, disposition=disposition,
            steps=steps, acknowledged=(acknowledged_by, incident.acknowledged_at)
            if acknowledged_by and incident.acknowledged_at else None,
            resolved=(resolved_by, incident.resolved_at) if resolved_by and incident.resolved_at else None,
            signed_by=signed_by), setup.timezone),
        cause=cause, disposition=disposition,
        opened_at=incident.opened_at, acknowledged_at=marks["acknowledged"].at, acknowledged_by=acknowledged_by,
        mitigating_at=marks["mitigated"].at, resolved_at=marks["resolved"].at, resolved_by=resolved_by,
        closed_at=marks["closed"].at,
        tta_seconds=_between(marks, "acknowledged"), ttm_seconds=_between(marks, "mitigated"),
        ttr_seconds=_between(marks, "resolved"),
        alerts=len(alerts), timeline=timeline, steps=steps,
        escalations=tuple(_escalation(e) for e in events if e.action.endswith(".escalated")),
        series=series, thresholds=thresholds, milestones=_milestones(incident, marks), exposure=found,
        stock=affected_stock(session, zone=incident.zone, start=incident.opened_at, end=end),
        stock_window=(incident.opened_at, end),
        chain=ChainResult(chain.ok, chain.checked, chain.first_bad_id, chain.problem, len(events)),
        sign_off_roles=tuple((code, role_words(code)) for code in SIGN_OFF_ROLES), signed_by=signed_by,
        timezone=setup.timezone, generated_at=now,
        accountability=who, sources=sources_of_steps(loaded, done),
        evidence=evidence_of(session, incident_id=incident_id, loaded=loaded),
    )


def role_words(code: str) -> Bi:
    """A role's name, ``Bi("仓库经理", "Warehouse manager")``; unknown codes as they are."""
    return Bi(*ROLES.get(code, (code, code)))


def _escalation(event: AuditEvent) -> EscalationLine:
    after = event.after or {}
    role = after.get("role")
    return EscalationLine(event.at, after.get("level"), role, role_words(role) if role else None,
                          event.object_id if event.object_type == "step" else None)


def _zone_name(registry: DeviceRegistry | None, zone: str | None) -> Bi | None:
    if zone is None:
        return None
    known = registry.zones.get(zone) if registry else None
    return Bi(known.name_zh, known.name_en) if known else Bi.same(zone)


def steps_of(session: Session, incident: Incident, library: Mapping[str, LoadedPlaybook], *,
             now: datetime) -> tuple[StepLine, ...]:
    """Every step run of the incident: who, when, how long, against the playbook's completion timeout.

    A step still open when the incident was resolved is timed up to the resolution, not up to now.
    """
    runs = list(session.exec(select(StepRun).where(StepRun.incident_id == incident.id).order_by(col(StepRun.id))))
    names = directory.names(session, [r.actor_person_id for r in runs if r.actor_person_id is not None])
    loaded = library.get(incident.playbook_id or "")
    answers = (incident.playbook_state or {}).get("answers") or {}
    lines = []
    for run in runs:
        step = None
        if loaded is not None:
            step = next((s for s in loaded.playbook.all_steps() if s.id == run.step_id), None)
        due = parse_duration(step.timeouts.complete).total_seconds() if step and step.timeouts and \
            step.timeouts.complete else None
        stopped = run.finished_at or incident.resolved_at or now
        took = max(0.0, (stopped - run.started_at).total_seconds())
        open_at_end = run.finished_at is None and incident.resolved_at is not None
        answer = answer_words(step.input, answers.get(step.input.id)) if step and step.input and \
            run.status == "done" else None
        lines.append(StepLine(
            step_id=run.step_id, title=Bi(step.title.zh, step.title.en) if step else Bi.same(run.step_id),
            role=(step.role or "anyone") if step else "-", status=run.status,
            status_text=words("step_open_at_resolution" if open_at_end else f"step_{run.status}"),
            started_at=run.started_at, finished_at=run.finished_at,
            by=names.get(run.actor_person_id) if run.actor_person_id else None, seconds=took, due_seconds=due,
            overdue=due is not None and run.status != "skipped" and took > due, reason=run.reason, answer=answer))
    return tuple(lines)


def _between(marks: dict[str, MilestoneValue], key: str) -> float | None:
    """Seconds from detection to milestone ``key`` as they count (edited where a person corrected them)."""
    start, end = marks["detected"].at, marks[key].at
    return _seconds(start, end) if start is not None else None


_REVIEW_KEYS = {"impact_started": "impact_started", "detected": "opened", "acknowledged": "acknowledged",
                "mitigated": "mitigating", "resolved": "resolved", "closed": "closed"}
"""Milestone keys (``incidents.milestones.KEYS``) → the review's milestone keys."""


def _milestones(incident: Incident, marks: dict[str, MilestoneValue]) -> tuple[Milestone, ...]:
    """The milestones in time order: each as it counts, the edited ones with who, why and the system's time.
    Impact start is shown when it precedes detection or was edited."""
    found = [Milestone(_REVIEW_KEYS[key], words(f"milestone_{_REVIEW_KEYS[key]}"), value.at, value.edited_by,
                       value.reason, value.system_at if value.edited else None)
             for key, value in marks.items() if value.at is not None
             and (key != "impact_started" or value.edited or value.at != marks["detected"].at)]
    if incident.cleared_at is not None:
        found.append(Milestone("cleared", words("milestone_cleared"), incident.cleared_at))
    return tuple(sorted(found, key=lambda mark: mark.at))


def affected_stock(session: Session, *, zone: str | None, start: datetime, end: datetime) -> tuple[
        AffectedStock, ...]:
    """Stock that was in the incident's zone from ``start`` to ``end`` (replayed from the ledger), with the
    most held; expired lots (expiry before ``start``) are flagged and come first, then held lines, then the rest;
    lots expiring within ``EXPIRY_WARNING_DAYS`` of ``start`` are flagged "expiring"."""
    if zone is None:
        return ()
    lines = []
    for held in zone_stock_during(session, zone=zone, start=start, end=end):
        expired = held.expiry is not None and held.expiry < start.date()
        expiring = held.expiry is not None and not expired and \
            held.expiry <= start.date() + timedelta(days=EXPIRY_WARNING_DAYS)
        lines.append(AffectedStock(
            sku=held.sku, name=Bi(held.name_zh, held.name_en or held.name_zh), location=held.location, lot=held.lot,
            expiry=held.expiry.isoformat() if held.expiry else None, expired=expired, status=held.status,
            status_text=words("stock_status_expired" if expired else f"stock_status_{held.status}"),
            qty=held.qty_most, expiring=expiring))
    return tuple(sorted(lines, key=lambda s: (not s.expired, s.status == "available", s.sku, s.location)))


@dataclass(frozen=True, slots=True)
class GroupStats:
    incident_type: str
    site: str
    count: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    overdue_steps: int
    edited_milestones: int = 0  # incidents of the group whose milestones a person corrected


@dataclass(frozen=True, slots=True)
class ReviewStats:
    since: datetime
    until: datetime
    total: int
    groups: tuple[GroupStats, ...]
    noisy_rules: tuple[tuple[str, int], ...]
    drills: DrillStats = field(default_factory=DrillStats)  # reported apart; in ``groups`` only when included


def review_stats(session: Session, *, since: datetime, now: datetime,
                 library: Mapping[str, LoadedPlaybook], include_drills: bool = False) -> ReviewStats:
    """Counts, MTTA and MTTR by incident type and site (from the milestones as they count, edited ones included,
    and how many incidents had an edited milestone), overdue steps, and the rules that fired most.

    Drills are left out unless ``include_drills``, and always reported apart (``ReviewStats.drills``).
    """
    everything = list(session.exec(select(Incident).where(Incident.opened_at >= since).order_by(col(Incident.id))))
    incidents, drills = split_drills(everything, include_drills=include_drills)
    left_out = {i.id for i in everything} - {i.id for i in incidents}
    marks = milestones.effective_many(session, incidents)
    grouped: dict[tuple[str, str], list[Incident]] = defaultdict(list)
    for incident in incidents:
        grouped[(incident.playbook_id or incident.source, incident.site or "-")].append(incident)
    groups = []
    for (kind, site), members in sorted(grouped.items()):
        acks = [s for i in members if (s := _between(marks[i.id or 0], "acknowledged")) is not None]
        fixes = [s for i in members if (s := _between(marks[i.id or 0], "resolved")) is not None]
        overdue = sum(line.overdue for i in members for line in steps_of(session, i, library, now=now))
        edited = sum(any(v.edited for v in marks[i.id or 0].values()) for i in members)
        groups.append(GroupStats(kind, site, len(members), mean(acks) if acks else None,
                                 mean(fixes) if fixes else None, overdue, edited))
    fired = session.exec(select(Alert.rule_id, Alert.incident_id).where(Alert.at >= since))
    rules = Counter(rule for rule, incident_id in fired if incident_id not in left_out)
    return ReviewStats(since, now, len(incidents), tuple(groups), tuple(rules.most_common(10)), drill_stats(drills))
