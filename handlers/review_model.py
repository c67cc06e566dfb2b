"""The shape of a post-incident review: plain frozen data, every text in Chinese and English.

``handlers.review`` fills it from the record; ``integrations.export`` renders it. Times are aware UTC,
readings in the metric's canonical unit (``incidents.units``).
"""

from dataclasses import dataclass
from datetime import date, datetime

from handlers.review_identity import Accountability
from handlers.review_sources import StepSource
from handlers.text import pair
from incidents.kinetics import Exceedance


@dataclass(frozen=True, slots=True)
class Bi:
    """One text in both languages; a document shows one of them or both."""

    zh: str
    en: str

    @classmethod
    def of(cls, key: str, **values: object) -> "Bi":
        """A catalogue sentence (``handlers.text.CATALOGUE``) formatted in both languages."""
        return cls(*pair(key, **values))

    @classmethod
    def same(cls, text: str) -> "Bi":
        """A text that reads the same in both languages (a name, a code)."""
        return cls(text, text)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    who: str
    action: str
    text: Bi
    object_id: str | None
    detail: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class StepLine:
    step_id: str
    title: Bi
    role: str
    status: str
    status_text: Bi
    started_at: datetime
    finished_at: datetime | None
    by: str | None
    seconds: float
    due_seconds: float | None
    overdue: bool
    reason: str | None
    answer: Bi | None


@dataclass(frozen=True, slots=True)
class EscalationLine:
    at: datetime
    level: int | None
    role: str | None
    role_name: Bi | None
    target: str | None


@dataclass(frozen=True, slots=True)
class Series:
    """Every stored sample of one probe, at the probe's own sampling; ``interval_s`` is its median gap."""

    sensor: str
    name: Bi
    metric: str
    unit: str
    interval_s: float | None
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A limit drawn on the chart: the zone's range (``zone-max``/``zone-min``) or an alert rule's threshold."""

    value: float
    above: bool
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Milestone:
    """A milestone as the review counts it; ``edited_by``, ``reason`` and ``system_at`` (the time the system had
    recorded) are set when a person corrected it (``incidents.milestones``)."""

    key: str
    name: Bi
    at: datetime
    edited_by: str | None = None
    reason: str | None = None
    system_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Calibration:
    """A probe's calibration as the device registry records it: ``ok``, ``overdue`` or ``unknown``."""

    state: str
    due: date | None
    text: Bi


@dataclass(frozen=True, slots=True)
class ProbeExposure:
    """One probe of the zone over the excursion and over the chosen period (USP <1079.2> MKT)."""

    sensor: str
    name: Bi
    samples: int
    low: tuple[datetime, float] | None
    high: tuple[datetime, float] | None
    mkt_excursion: float | None
    mkt_period: float | None
    period_samples: int
    beyond: tuple[Exceedance, ...]  # one per threshold of the review, in the same order
    calibration: Calibration


@dataclass(frozen=True, slots=True)
class Exposure:
    """Temperature exposure of the incident's zone (temperature incidents only)."""

    metric: str
    unit: str
    activation_energy_kj: float
    excursion_start: datetime
    excursion_end: datetime
    period_start: datetime
    period_end: datetime
    probes: tuple[ProbeExposure, ...]


@dataclass(frozen=True, slots=True)
class AffectedStock:
    """Stock that was in the zone during the incident (from the ledger), with its status then."""

    sku: str
    name: Bi
    location: str
    lot: str | None
    expiry: str | None
    expired: bool
    status: str
    status_text: Bi
    qty: float
    expiring: bool = False  # not expired, but expiring within EXPIRY_WARNING_DAYS of the incident's start


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The whole audit chain's verification; ``incident_events`` of them belong to this incident."""

    ok: bool
    checked: int
    first_bad_id: int | None
    problem: str | None
    incident_events: int


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """A picture kept as evidence of a step (``handlers.review_evidence``); the bytes are in the store."""

    step_id: str
    step_title: Bi
    sha256: str
    media_type: str
    width: int
    height: int
    size_bytes: int
    by: str | None
    platform: str
    at: datetime
    location_removed: bool


@dataclass(frozen=True, slots=True)
class Review:
    incident_id: int
    title: Bi
    severity: str
    status: str
    status_text: Bi
    site: str | None
    zone: str | None
    zone_name: Bi | None
    playbook: str | None
    summary: Bi
    cause: Bi | None
    disposition: Bi | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    mitigating_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
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
    exposure: Exposure | None
    stock: tuple[AffectedStock, ...]
    stock_window: tuple[datetime, datetime]
    chain: ChainResult
    sign_off_roles: tuple[tuple[str, Bi], ...]  # (role code, role name)
    signed_by: tuple[str, ...]  # printed names of the e-signatures given during the incident
    timezone: str
    generated_at: datetime
    accountability: Accountability  # acknowledgements, signatures, overrides (handlers.review_identity)
    sources: tuple[StepSource, ...] = ()  # sources of the steps taken (handlers.review_sources)
    evidence: tuple[EvidenceLine, ...] = ()  # photo evidence of the steps (handlers.review_evidence)
