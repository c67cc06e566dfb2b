"""Who is calling: a signed-in browser (session cookie + CSRF on every state-changing request) or an
API token (``Authorization: Bearer``), checked against the scope a route needs. Refusals are audited."""

import hmac
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from fastapi import HTTPException, Request
from fastapi.responses import Response

from handlers.text import say
from incidents import audit
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity import sessions, tokens
from incidents.identity.tokens import Scope
from incidents.permissions import Permission, may

log = logging.getLogger(__name__)
SESSION_COOKIE = "wareroom_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller. ``actor`` is None only for anonymous callers the mode allows (the demo's
    pick-a-person web chat, open alert intake)."""

    actor: Actor | None
    via: str  # session, token, anonymous
    scopes: frozenset[str] = frozenset()
    session_id: int | None = None
    csrf: str = ""
    token_id: int | None = None

    @property
    def person_id(self) -> int | None:
        return self.actor.person_id if self.actor is not None else None

    def may(self, permission: Permission) -> bool:
        """True when the caller's person holds ``permission``."""
        return self.actor is not None and may(self.actor, permission)


@dataclass
class AuthConfig:
    demo: bool
    timeouts: sessions.Timeouts
    secure_cookies: bool
    require_ingest_token: bool
    signin_per_minute: int
    base_url: str
    now: Callable[[], datetime] = field(default=utcnow)


class Refused(HTTPException):
    """401 or 403 with a bilingual ``detail``; the refusal was audited."""


class SignInThrottle:
    """At most ``per_minute`` sign-in attempts per client address (a sliding window in memory)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        """Count an attempt; False when the address has used up its minute."""
        now = time.monotonic()
        window = self._seen[client]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True


def client_of(request: Request) -> str:
    """``address user-agent`` of a request, for the audit and the sessions page."""
    host = request.client.host if request.client else "?"
    return f"{host} {request.headers.get('user-agent', '')[:120]}".strip()


class WebAuth:
    """Resolves callers for every route. One instance per app."""

    def __init__(self, db: Database, config: AuthConfig) -> None:
        self.db = db
        self.config = config
        self.throttle = SignInThrottle(config.signin_per_minute)

    # -- the pieces ------------------------------------------------------------------------------------

    def audit_refusal(self, request: Request, reason: str, *, actor: Actor | None = None) -> None:
        """An ``access.refused`` row for a request turned away at the edge."""
        who = actor or Actor(person_id=None, name="unknown", platform="web", platform_user_id=client_of(request)[:80])
        with self.db.unit_of_work() as session:
            audit.record(session, action="access.refused", actor=who, object_type="http",
                         object_id=f"{request.method} {request.url.path}"[:200], reason=reason, at=self.config.now())

    def session_caller(self, request: Request) -> Caller | None:
        """The caller of a live session cookie, or None; a session that has just timed out is ended (audited)."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        now = self.config.now()
        with self.db.reader() as session:
            found = sessions.lookup(session, token, timeouts=self.config.timeouts, now=now)
        if found.expired is not None:
            with self.db.unit_of_work() as session:
                sessions.end(session, found.expired, reason=found.expired_reason, by=None, now=now)
            return None
        if found.live is None:
            return None
        row = found.live.row
        assert row.id is not None
        if sessions.needs_touch(row, now):
            with self.db.unit_of_work() as session:
                sessions.touch(session, session_id=row.id, now=now)
        scopes = {Scope.READ.value, Scope.ACT.value} | ({Scope.ADMIN.value} if found.live.person.admin else set())
        actor = found.live.actor
        return Caller(replace(actor, platform="web", platform_user_id=f"session:{row.id}"),
                      "session", frozenset(scopes), session_id=row.id, csrf=row.csrf_token)

    def token_caller(self, request: Request) -> Caller | None:
        """The caller of an ``Authorization: Bearer`` token; None when there is no such header.
        A bad token is refused (401) and audited."""
        header = request.headers.get("authorization", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            self.audit_refusal(request, "malformed Authorization header")
            raise Refused(401, say("token_invalid"))
        now = self.config.now()
        with self.db.reader() as session:
            checked = tokens.verify(session, secret, now=now)
        if isinstance(checked, tokens.Rejected):
            self.audit_refusal(request, checked.reason)
            raise Refused(401, say("token_invalid"))
        assert checked.row.id is not None
        with self.db.unit_of_work() as session:
            tokens.mark_used(session, token_id=checked.row.id, now=now)
        return Caller(checked.actor, "token", frozenset(checked.row.scopes), token_id=checked.row.id)

    def check_csrf(self, request: Request, caller: Caller, form_value: str | None = None) -> None:
        """Unsafe requests of a session must carry its CSRF token (header or form field); audited refusal."""
        if caller.via != "session" or request.method not in UNSAFE:
            return
        given = request.headers.get(CSRF_HEADER) or form_value or ""
        if not given or not hmac.compare_digest(given, caller.csrf):
            self.audit_refusal(request, "missing or wrong CSRF token", actor=caller.actor)
            raise Refused(403, say("csrf_refused"))

    # -- dependencies ----------------------------------------------------------------------------------

    def caller(self, request: Request) -> Caller | None:
        """Bearer token first, then the session cookie; None when neither."""
        return self.token_caller(request) or self.session_caller(request)

    def needs(self, scope: Scope, *, anonymous_in_demo: bool = False,
              anonymous: bool = False) -> Callable[[Request], Awaitable[Caller]]:
        """A FastAPI dependency: the caller, who must hold ``scope`` (tokens) and, for a session's unsafe
        request, send its CSRF token in the ``X-CSRF-Token`` header. Anonymous callers pass only where
        allowed (the demo's web chat, open alert intake)."""

        async def dependency(request: Request) -> Caller:
            found = self.caller(request)
            if found is None:
                if anonymous or (anonymous_in_demo and self.config.demo):
                    return Caller(None, "anonymous")
                self.audit_refusal(request, f"not signed in ({scope.value} needed)")
                raise Refused(401, say("signin_needed"))
            if scope.value not in found.scopes:
                self.audit_refusal(request, f"token without the {scope.value} scope", actor=found.actor)
                raise Refused(403, say("scope_refused", scope=scope.value))
            self.check_csrf(request, found)
            return found

        return dependency

    def needs_permission(self, scope: Scope, permission: Permission, *, anonymous_in_demo: bool = False
                         ) -> Callable[[Request], Awaitable[Caller]]:
        """Like ``needs``, and the caller's person must hold ``permission`` (incidents.permissions)."""
        inner = self.needs(scope, anonymous_in_demo=anonymous_in_demo)

        async def dependency(request: Request) -> Caller:
            found = await inner(request)
            # anonymous (the demo) and service tokens hold scopes, not roles: the scope was checked above
            if found.actor is None or found.actor.person_id is None or found.may(permission):
                return found
            self.audit_refusal(request, f"missing permission {permission.value}", actor=found.actor)
            raise Refused(403, say("not_permitted_http", permission=permission.value))

        return dependency

    def set_session_cookie(self, response: Response, token: str) -> None:
        """The session cookie: HTTP-only, SameSite=Lax, Secure where configured, ends with the browser."""
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=self.config.secure_cookies,
                            path="/")

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self.config.secure_cookies)

    def lifetime(self) -> timedelta:
        return self.config.timeouts.absolute
