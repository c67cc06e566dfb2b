"""SQLModel tables of the incident domain. Datetimes are aware UTC (see ``incidents.clock``)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from incidents.clock import utcnow


class Person(SQLModel, table=True):
    """Someone in the admin-managed directory; ``roles`` are codes such as SL, WM, QA.

    ``login`` is the unique identification code for signing in (21 CFR 11.300(a)); ``oidc_subject``
    binds a single sign-on identity (``issuer|sub``). People are deactivated, never deleted.
    """

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str
    name_en: str
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    admin: bool = False
    login: str | None = Field(default=None, unique=True)
    email: str | None = Field(default=None, index=True)
    oidc_subject: str | None = Field(default=None, unique=True)
    qualifications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # what this person reads (handlers.i18n): "zh", "en", "both" (Chinese then English) or a catalogue's code
    language: str = Field(default="both", sa_column_kwargs={"server_default": "both"})


class ChatIdentity(SQLModel, table=True):
    """Maps a platform user id to a person: identity is never taken from a display name."""

    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str
    platform_user_id: str


class Incident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title_zh: str
    title_en: str
    severity: str
    status: str = Field(index=True)
    dedup_key: str = Field(index=True)
    # Equal to dedup_key while the incident is open and NULL afterwards: a unique column that lets
    # at most one open incident exist per dedup key on SQLite and PostgreSQL alike.
    open_dedup_key: str | None = Field(default=None, unique=True)
    site: str | None = None
    zone: str | None = None
    source: str = "rules"
    opened_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = Field(default=None, foreign_key="person.id")
    mitigating_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cleared_at: datetime | None = None
    escalation_level: int = 0
    escalation_policy: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    escalation_token: str | None = None
    playbook_id: str | None = None
    playbook_version: int | None = None
    playbook_sha256: str | None = None
    playbook_state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    commander_id: int | None = Field(default=None, foreign_key="person.id")  # the incident commander
    drill: bool = False  # an exercise: marked everywhere, actuations simulated, left out of statistics
    ack_reminder_at: datetime | None = None  # the next "please acknowledge" reminder while triggered
    status_reminder_at: datetime | None = None  # the next status-update reminder to the commander


class Alert(SQLModel, table=True):
    """One signal that opened or joined an incident."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    fingerprint: str = Field(index=True)
    rule_id: str
    kind: str
    severity: str
    title_zh: str
    title_en: str
    site: str | None = None
    zone: str | None = None
    sensor: str | None = None
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    source: str = "rules"
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    at: datetime = Field(default_factory=utcnow)


class StepRun(SQLModel, table=True):
    """A playbook step of one incident as responders see it."""

    __table_args__ = (UniqueConstraint("incident_id", "step_id"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step_id: str
    status: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    actor_person_id: int | None = Field(default=None, foreign_key="person.id")
    reason: str | None = None


class ChatBinding(SQLModel, table=True):
    """Where an incident's thread lives on one platform; refs are opaque to everything but the adapter."""

    __table_args__ = (UniqueConstraint("incident_id", "platform"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    platform: str
    thread_native: str
    header_native: str


class OutboxMessage(SQLModel, table=True):
    """A chat effect written in the same transaction as the change that caused it."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    platform: str = Field(index=True)
    op: str
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(unique=True)
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    message_native: str | None = None  # the platform's ref of what was sent, for later edits


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform event ids seen once: a retried delivery has no second effect."""

    dedupe_key: str = Field(primary_key=True)
    platform: str
    received_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """Input that could not be used, kept with the reason for someone to inspect."""

    id: int | None = Field(default=None, primary_key=True)
    source: str
    topic: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained: ``hash = sha256(prev_hash + canonical JSON of the row)``."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    incident_id: int | None = Field(default=None, index=True)
    action: str
    actor_person_id: int | None = None
    actor_name: str = "system"
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    platform: str | None = None
    platform_user_id: str | None = None
    object_type: str = "incident"
    object_id: str | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    prev_hash: str
    hash: str = Field(unique=True)


class ActionRun(SQLModel, table=True):
    """A playbook action (publish to MQTT, call a webhook, start a playbook) and how far it got.

    ``key`` is the walker's idempotency key: the same action of the same step iteration exists
    once, and a status change from ``awaiting_confirmation`` or ``pending`` happens once.
    """

    __table_args__ = (UniqueConstraint("incident_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    key: str
    step_id: str
    kind: str
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(index=True)
    confirm_by: str | None = None
    confirmed_by: int | None = Field(default=None, foreign_key="person.id")
    requested_by: int | None = Field(default=None, foreign_key="person.id")  # whose step asked for it
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))


class Shift(SQLModel, table=True):
    """When a person is on duty. Where a role has shifts, the people on shift are the ones paged."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)
