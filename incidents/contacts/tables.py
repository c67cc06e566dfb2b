"""Tables of personal contact data: verified phone numbers and email addresses, notification rules, the PIN
and quiet hours, and the heartbeats that integrations are expected to send. Secrets (the PIN, verification
codes) are stored as argon2 hashes only."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class ContactProfile(SQLModel, table=True):
    """A person's acknowledgement PIN (argon2 hash and lockout), language and quiet hours (site time, ``HH:MM``;
    ``quiet_start`` after ``quiet_end`` spans midnight)."""

    __tablename__ = "contact_profile"
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    language: str = "zh"
    pin_hash: str | None = None
    pin_failures: int = 0
    pin_locked_until: datetime | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None


class ContactPoint(SQLModel, table=True):
    """A phone number (E.164, for SMS and calls) or an email address; used only once verified by a code."""

    __tablename__ = "contact_point"
    __table_args__ = (UniqueConstraint("kind", "address"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str  # phone | email
    address: str
    verified_at: datetime | None = None
    code_hash: str | None = None
    code_expires_at: datetime | None = None
    code_attempts: int = 0


class NotificationRule(SQLModel, table=True):
    """One step of a person's rules for a severity: ``channel`` (chat, sms, voice, email) ``after_seconds``
    after they are paged, if the incident is still unacknowledged."""

    __tablename__ = "notification_rule"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    severity: str
    channel: str
    after_seconds: int = 0


class ExpectedHeartbeat(SQLModel, table=True):
    """An integration that promises to call in at least every ``timeout_seconds``; ``incident_id`` is the open
    system incident about its silence, if any."""

    __tablename__ = "expected_heartbeat"
    name: str = Field(primary_key=True)
    timeout_seconds: int
    last_seen_at: datetime | None = None
    declared_at: datetime
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
