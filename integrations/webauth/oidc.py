"""Single sign-on with an OpenID Connect provider (Keycloak, Azure AD, Google Workspace…) through
Authlib: authorization code flow with PKCE (RFC 7636), state and nonce, ID token checked against the
provider's keys (OpenID Connect Core 1.0 §3.1.3.7). The provider proves who it is; the directory
decides whether that person may act: a bound subject (``issuer|sub``), or a verified email that an
admin put on exactly one person, which binds the subject on first use (audited)."""

import logging
import secrets
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select
from starlette.middleware.sessions import SessionMiddleware

from handlers.text import say
from incidents import audit
from incidents.actors import Actor
from incidents.directory import actor_for, person_json
from incidents.identity import sessions
from incidents.tables import Person
from integrations.webauth.caller import WebAuth, client_of
from integrations.webauth.pages import plain, render, safe_next
from integrations.webauth.routes import WebPages

log = logging.getLogger(__name__)
STATE_COOKIE = "wareroom_sso"  # holds state, nonce and the PKCE verifier for ten minutes, signed


def state_secret(path: Path) -> str:
    """The key that signs the short-lived SSO state cookie; made once and kept in ``path`` (mode 0600)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return secret


class SingleSignOn:
    def __init__(self, auth: WebAuth, pages: WebPages, *, issuer: str, client_id: str, client_secret: str) -> None:
        self.auth = auth
        self.pages = pages
        self.issuer = issuer.rstrip("/")
        self.oauth = OAuth()
        self.oauth.register("sso", client_id=client_id, client_secret=client_secret,
                            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
                            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"})

    def install(self, app: Any, *, secret: str) -> None:
        """The signed cookie Authlib keeps the flow's state in, and the routes."""
        app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=STATE_COOKIE, max_age=600,
                           same_site="lax", https_only=self.auth.config.secure_cookies)
        app.include_router(self.router())

    def router(self) -> APIRouter:
        api = APIRouter(include_in_schema=False)
        api.add_api_route("/signin/sso", self.start, methods=["GET"])
        api.add_api_route("/signin/sso/callback", self.callback, methods=["GET"])
        return api

    async def start(self, request: Request) -> Response:
        """Off to the provider; we come back to ``/signin/sso/callback``."""
        request.session["next"] = safe_next(request.query_params.get("next"))
        client = self.oauth.create_client("sso")
        assert client is not None
        back = f"{self.auth.config.base_url}/signin/sso/callback"
        response: Response = await client.authorize_redirect(request, back)
        return response

    async def callback(self, request: Request) -> Response:
        """The provider sent the person back: check the tokens, find the person, start a session."""
        client = self.oauth.create_client("sso")
        assert client is not None
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as exc:
            self.auth.audit_refusal(request, f"single sign-on failed: {exc.error}")
            return render("message.html.j2", status=400, title=plain("web_signin"), error=say("sso_failed"),
                          **self.pages.base(None))
        claims: dict[str, Any] = dict(token.get("userinfo") or {})  # the ID token's claims, checked
        if "email" not in claims:  # many providers put scope claims in the UserInfo response only (Core §5.4)
            try:
                extra = dict(await client.userinfo(token=token))
            except (OAuthError, ValueError, httpx.HTTPError) as exc:
                log.warning("single sign-on: the UserInfo request failed: %s", exc)
                extra = {}
            if extra.get("sub") == claims.get("sub"):  # Core §5.3.2: the sub must match the ID token's
                claims = {**extra, **claims}
        now = self.auth.config.now()
        with self.auth.db.unit_of_work() as session:
            person = self._person(session, claims, request)
            started = sessions.start(session, person=person, method="sso", timeouts=self.auth.config.timeouts,
                                     now=now, client=client_of(request)) if person is not None else None
        if started is None:
            return render("message.html.j2", status=403, title=plain("web_signin"), error=say("sso_refused"),
                          **self.pages.base(None))
        return self.pages.signed_in(started[0], str(request.session.pop("next", "/")))

    def _person(self, session: Any, claims: dict[str, Any], request: Request) -> Person | None:
        subject = f"{claims.get('iss', self.issuer)}|{claims.get('sub', '')}"
        person: Person | None = session.exec(select(Person).where(Person.oidc_subject == subject)).first()
        email = str(claims.get("email") or "").strip().lower()
        if person is None and email and claims.get("email_verified") is True:
            matches = session.exec(select(Person).where(Person.email == email)).all()
            if len(matches) == 1 and matches[0].oidc_subject is None:
                person = matches[0]
                before = person_json(session, person)
                person.oidc_subject = subject
                session.add(person)
                audit.record(session, action="directory.sso_bound", actor=actor_for(person, platform="web"),
                             object_type="person", object_id=str(person.id), before=before,
                             after={**before, "oidc_subject": subject})
        if person is None or not person.active:
            audit.record(session, action="auth.signin_failed", object_type="person",
                         actor=Actor(person_id=None, name=str(claims.get("name") or email or "unknown"),
                                     platform="web", platform_user_id=subject[:120]),
                         after={"email": email or None, "client": client_of(request)[:200]},
                         reason="single sign-on identity not in the directory (or not verified, or deactivated)")
            return None
        return person
