"""API tokens for ``Authorization: Bearer``: personal (act as their person) or service (no person),
scoped, with an expiry, revocable, stored as sha256 and shown once."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.clock import as_utc
from incidents.directory import actor_for
from incidents.identity.sessions import digest
from incidents.identity.tables import ApiToken
from incidents.tables import Person

PREFIX = "wr_"


class Scope(StrEnum):
    READ = "read"  # GET the REST API: incidents, reviews, stock
    ACT = "act"  # commands and clicks as the token's person (personal tokens only)
    ADMIN = "admin"  # the directory API (personal tokens of admins only)
    INGEST = "ingest"  # POST alerts, readings and stock events


class TokenRefused(ValueError):
    """A token that cannot be made as asked; the message is bilingual."""


@dataclass(frozen=True, slots=True)
class Verified:
    """A token that checks out: its row and who it acts as (a service token acts as itself, with no roles)."""

    row: ApiToken
    actor: Actor

    def allows(self, scope: Scope) -> bool:
        return scope.value in self.row.scopes


def create(session: Session, *, name: str, scopes: Sequence[Scope], person: Person | None,
           expires_at: datetime | None, by: Actor, now: datetime) -> tuple[str, ApiToken]:
    """Make a token; returns the secret (shown once, never stored) and the row. Audited.

    Service tokens may read and ingest only: an act needs a person behind it. An admin scope needs an admin.
    """
    if not name.strip():
        raise TokenRefused("令牌需要名称 / A token needs a name")
    if not scopes:
        raise TokenRefused("令牌至少需要一个权限范围 / A token needs at least one scope")
    if person is None and {Scope.ACT, Scope.ADMIN} & set(scopes):
        raise TokenRefused("服务令牌只能用于读取和接入，操作必须对应具体人员 / A service token may only read and "
                           "ingest: acting needs a person")
    if person is not None and Scope.ADMIN in scopes and not person.admin:
        raise TokenRefused("只有管理员的个人令牌可以带 admin 范围 / Only an admin's personal token may have the "
                           "admin scope")
    if expires_at is not None and expires_at <= now:
        raise TokenRefused("到期时间必须在将来 / The expiry must be in the future")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip()[:80], prefix=secret[:10], token_hash=digest(secret),
                   person_id=person.id if person is not None else None, scopes=[s.value for s in scopes],
                   created_at=now, created_by=by.person_id, expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, action="token.created", actor=by, object_type="token", object_id=str(row.id),
                 after={"name": row.name, "prefix": row.prefix, "person_id": row.person_id, "scopes": row.scopes,
                        "expires_at": expires_at.isoformat() if expires_at else None}, at=now)
    return secret, row


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a bearer token was not accepted (audited; the caller sees only "invalid token")."""

    reason: str
    row: ApiToken | None = None


def verify(session: Session, secret: str, *, now: datetime) -> Verified | Rejected:
    """Read-only check of a bearer token: known, not revoked, not expired, its person active."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret.strip()))).first()
    if row is None:
        return Rejected("unknown token")
    if row.revoked_at is not None:
        return Rejected("revoked token", row)
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return Rejected("expired token", row)
    if row.person_id is None:
        return Verified(row, Actor(person_id=None, name=f"token {row.name} ({row.prefix}…)", platform="api",
                                   platform_user_id=f"token:{row.id}"))
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        return Rejected("token of a deactivated person", row)
    return Verified(row, actor_for(person, platform="api", platform_user_id=f"token:{row.id}"))


def mark_used(session: Session, *, token_id: int, now: datetime) -> None:
    """Note when a token was last used (shown on the tokens page)."""
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = now
        session.add(row)


def revoke(session: Session, *, token_id: int, by: Actor, now: datetime, reason: str = "") -> ApiToken:
    """Revoke a token at once; audited. LookupError when there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise LookupError(f"没有编号为 #{token_id} 的令牌 / There is no token #{token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.record(session, action="token.revoked", actor=by, object_type="token", object_id=str(token_id),
                     before={"revoked": False}, after={"revoked": True, "name": row.name}, reason=reason or None,
                     at=now)
    return row


def revoke_all(session: Session, *, person_id: int, by: Actor, now: datetime, reason: str) -> int:
    """Revoke every live personal token of a person (deactivated); returns how many."""
    rows = session.exec(select(ApiToken).where(ApiToken.person_id == person_id,
                                               col(ApiToken.revoked_at).is_(None))).all()
    for row in rows:
        assert row.id is not None
        revoke(session, token_id=row.id, by=by, now=now, reason=reason)
    return len(rows)


def listing(session: Session, *, person_id: int | None = None) -> list[ApiToken]:
    """Tokens, newest first: one person's, or all of them."""
    query = select(ApiToken).order_by(col(ApiToken.id).desc())
    if person_id is not None:
        query = query.where(ApiToken.person_id == person_id)
    return list(session.exec(query))
