"""Tables of credentials and sessions. Secrets are never stored: only their hashes (argon2 for
passwords, sha256 for random tokens, which carry 256 bits and need no slow hash)."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from incidents.clock import utcnow


class Credential(SQLModel, table=True):
    """A person's web credentials: an argon2 password hash, an optional TOTP secret, the lockout state."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    password_hash: str | None = None
    password_set_at: datetime | None = None
    totp_secret: str | None = None  # base32; set once the person has proved a first code
    failed_attempts: int = 0
    locked_until: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random id; the table holds its sha256."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf_token: str
    method: str  # password, password+totp, sso, link, demo
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime  # the absolute timeout
    ended_at: datetime | None = None
    ended_reason: str | None = None
    client: str = ""  # address and user agent, for the sessions page


class ApiToken(SQLModel, table=True):
    """A personal (``person_id`` set) or service token for ``Authorization: Bearer``; shown once."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    prefix: str = Field(index=True)  # the first characters, shown in lists to tell tokens apart
    token_hash: str = Field(unique=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class OneTimeCode(SQLModel, table=True):
    """A short-lived secret for one use: ``link`` (``/link CODE`` in a chat) or ``signin`` (a sign-in link)."""

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(index=True)
    code_hash: str = Field(unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    expires_at: datetime
    used_at: datetime | None = None
