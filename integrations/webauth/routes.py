"""Sign-in and sign-out, one-time sign-in links, the person's own account page, and the signing pages."""

import secrets
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import select

from handlers.actions import ActionFlow
from handlers.playbook_flow import PlaybookFlow
from handlers.signing import Signing, SigningView
from handlers.text import say
from incidents import audit, directory
from incidents.identity import codes, passwords, sessions, tokens
from incidents.identity.tables import ApiToken, WebSession
from incidents.identity.tokens import Scope, TokenRefused
from incidents.permissions import permissions_of
from incidents.tables import Person
from integrations.webauth.caller import CSRF_FIELD, Caller, Refused, WebAuth, client_of
from integrations.webauth.pages import STATIC, plain, render, safe_next, to_signin

PRE_CSRF_COOKIE = "wareroom_signin"  # double-submit token of the sign-in form (login CSRF)


async def form_of(request: Request) -> dict[str, Any]:
    """The submitted form as a dict; repeated fields (checkboxes) become lists."""
    form = await request.form()
    found: dict[str, Any] = {}
    for key, value in form.multi_items():
        text = value if isinstance(value, str) else ""
        found[key] = [*found[key], text] if isinstance(found.get(key), list) else \
            ([found[key], text] if key in found else text)
    return found


class WebPages:
    """The routes; ``sso_label`` is set when single sign-on is configured."""

    def __init__(self, auth: WebAuth, playbooks: PlaybookFlow, *, sso_label: str = "",
                 demo_password: str = "") -> None:
        self.auth = auth
        self.db = auth.db
        self.playbooks = playbooks
        self.actions: ActionFlow = playbooks.actions
        self.sso_label = sso_label
        self.demo_password = demo_password

    def base(self, caller: Caller | None) -> dict[str, Any]:
        """What every page's frame needs: who is signed in, their CSRF token, whether this is the demo."""
        me = None
        if caller is not None and caller.actor is not None:
            me = {"name": caller.actor.name, "admin": caller.actor.admin}
        return {"me": me, "csrf": caller.csrf if caller else "", "demo": self.auth.config.demo,
                "reader": caller.actor.language if caller is not None and caller.actor is not None else None}

    # -- sign-in ---------------------------------------------------------------------------------------

    def signin_page(self, request: Request, *, error: str = "", notice: str = "", login: str = "",
                    status: int = 200) -> Response:
        token = secrets.token_urlsafe(24)
        response = render("signin.html.j2", status=status, title=plain("web_signin"), main_class="narrow",
                          form_csrf=token, next=safe_next(request.query_params.get("next")
                                                          or request.headers.get("x-next")),
                          error=error, notice=notice, login=login, sso_label=self.sso_label,
                          demo_password=self.demo_password, **self.base(None))
        response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=self.auth.config.secure_cookies, max_age=3600)
        return response

    async def signin(self, request: Request) -> Response:
        form = await form_of(request)
        client = client_of(request)
        login = str(form.get("login", ""))[:64]
        if not self.auth.throttle.allow(client.split(" ")[0]):
            self.auth.audit_refusal(request, f"sign-in throttled for login {login!r}")
            return self.signin_page(request, error=say("signin_throttled"), login=login, status=429)
        expected = request.cookies.get(PRE_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, str(form.get(CSRF_FIELD, ""))):
            self.auth.audit_refusal(request, "sign-in form without its CSRF token")
            return self.signin_page(request, error=say("csrf_refused"), login=login, status=403)
        now = self.auth.config.now()
        with self.db.unit_of_work() as session:
            check = passwords.sign_in(session, login=login, password=str(form.get("password", "")),
                                      totp_code=str(form.get("totp", "")) or None, now=now, client=client)
            if check.person is None:
                outcome = None
            else:
                method = "password+totp" if passwords.has_totp(session, check.person.id or 0) else "password"
                outcome = sessions.start(session, person=check.person, method=method,
                                         timeouts=self.auth.config.timeouts, now=now, client=client)
        if outcome is None:
            return self.signin_page(request, error=say("signin_failed"), login=login, status=401)
        return self.signed_in(outcome[0], str(form.get("next", "/")))

    def signed_in(self, token: str, target: str) -> Response:
        response = RedirectResponse(safe_next(target), status_code=303)
        self.auth.set_session_cookie(response, token)
        response.delete_cookie(PRE_CSRF_COOKIE)
        return response

    async def signout(self, request: Request) -> Response:
        caller = self.auth.session_caller(request)
        if caller is not None:
            form = await form_of(request)
            self.auth.check_csrf(request, caller, str(form.get(CSRF_FIELD, "")))
            with self.db.unit_of_work() as session:
                row = session.get(WebSession, caller.session_id)
                if row is not None:
                    sessions.end(session, row, reason="signed out", by=caller.actor, now=self.auth.config.now())
        response = RedirectResponse("/signin", status_code=303)
        self.auth.clear_session_cookie(response)
        return response

    def link_page(self, request: Request, code: str) -> Response:
        """A one-time sign-in link asks for a click first, so that link scanners do not use it up."""
        token = secrets.token_urlsafe(24)
        response = render("message.html.j2", title=plain("web_signin"), form_action=f"/signin/link/{code}",
                          form_csrf=token, notice="WareRoom", **self.base(None))
        response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=self.auth.config.secure_cookies, max_age=3600)
        return response

    async def link_signin(self, request: Request, code: str) -> Response:
        form = await form_of(request)
        expected = request.cookies.get(PRE_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, str(form.get(CSRF_FIELD, ""))):
            self.auth.audit_refusal(request, "sign-in link without its CSRF token")
            return render("message.html.j2", status=403, title=plain("web_signin"), error=say("csrf_refused"),
                          **self.base(None))
        now = self.auth.config.now()
        with self.db.unit_of_work() as session:
            person = codes.redeem_signin(session, code=code, now=now)
            started = sessions.start(session, person=person, method="link", timeouts=self.auth.config.timeouts,
                                     now=now, client=client_of(request)) if person is not None else None
        if started is None:
            return render("message.html.j2", status=400, title=plain("web_signin"), error=say("signin_link_bad"),
                          **self.base(None))
        return self.signed_in(started[0], "/account")

    # -- the person's own account ----------------------------------------------------------------------

    def account_page(self, request: Request, caller: Caller, **extra: Any) -> Response:
        assert caller.person_id is not None
        with self.db.reader() as session:
            person = session.get(Person, caller.person_id)
            assert person is not None
            own = tokens.listing(session, person_id=caller.person_id)
            has_pw = passwords.has_password(session, caller.person_id)
            has_totp = passwords.has_totp(session, caller.person_id)
            links = directory.links_of(session, caller.person_id)
        scopes = [Scope.READ.value, Scope.ACT.value] + ([Scope.ADMIN.value] if person.admin else [])
        return render("account.html.j2", title=plain("web_account"), person=person, tokens=own, names={},
                      revoke_base="/account/tokens", token_scopes=scopes, has_password=has_pw, has_totp=has_totp,
                      links=links, permissions=sorted(permissions_of(person.roles, admin=person.admin)),
                      link_minutes=int(codes.LINK_TTL.total_seconds() // 60), **extra, **self.base(caller))

    async def account_post(self, request: Request, what: str, item: int | None = None) -> Response:
        caller = self.auth.session_caller(request)
        if caller is None:
            return to_signin("/account")
        form = await form_of(request)
        self.auth.check_csrf(request, caller, str(form.get(CSRF_FIELD, "")))
        assert caller.person_id is not None and caller.actor is not None
        now = self.auth.config.now()
        extra: dict[str, Any] = {}
        with self.db.unit_of_work() as session:
            if what == "password":
                extra = self._change_password(session, caller, form)
            elif what == "totp-start":
                secret = passwords.new_totp_secret()
                person = session.get(Person, caller.person_id)
                extra = {"totp_secret": secret,
                         "totp_uri": passwords.totp_uri(secret, account=(person.login if person else None) or
                                                        caller.actor.name)}
            elif what == "totp":
                ok = passwords.enable_totp(session, person_id=caller.person_id, secret=str(form.get("secret", "")),
                                           code=str(form.get("code", "")), by=caller.actor, now=now)
                extra = {"notice": say("web_totp_enabled")} if ok else {"error": say("web_totp_wrong")}
            elif what == "link-code":
                extra = {"link_code": codes.issue(session, purpose=codes.LINK, person_id=caller.person_id,
                                                  by=caller.actor, now=now)}
            elif what == "token":
                extra = self._make_token(session, caller, form, now=now)
            elif what == "revoke" and item is not None:
                own = session.get(ApiToken, item)
                if own is None or own.person_id != caller.person_id:
                    raise Refused(404, "no such token")
                tokens.revoke(session, token_id=item, by=caller.actor, now=now)
        return self.account_page(request, caller, **extra)

    def _change_password(self, session: Any, caller: Caller, form: dict[str, Any]) -> dict[str, Any]:
        assert caller.person_id is not None and caller.actor is not None
        now = self.auth.config.now()
        person = session.get(Person, caller.person_id)
        if passwords.has_password(session, caller.person_id):
            check = passwords.check_person(session, person, password=str(form.get("current", "")),
                                           totp_code=None, now=now)
            if not check.ok and not check.needs_totp:
                self.auth_failed(session, caller, "wrong current password when changing it")
                return {"error": say("web_password_wrong")}
        try:
            passwords.set_password(session, person_id=caller.person_id, password=str(form.get("new", "")),
                                   by=caller.actor, now=now)
        except passwords.PasswordRefused as exc:
            return {"error": str(exc).replace(" / ", "\n")}
        return {"notice": say("web_password_saved")}

    def auth_failed(self, session: Any, caller: Caller, reason: str) -> None:
        assert caller.actor is not None
        audit.record(session, action="auth.reauth_failed", actor=caller.actor, object_type="person",
                     object_id=str(caller.person_id), reason=reason, at=self.auth.config.now())

    def _make_token(self, session: Any, caller: Caller, form: dict[str, Any], *, now: Any) -> dict[str, Any]:
        assert caller.actor is not None
        raw = form.get("scopes", [])
        wanted = raw if isinstance(raw, list) else [raw]
        days = str(form.get("days", "")).strip()
        try:
            scopes = [Scope(s) for s in wanted]
            if Scope.INGEST in scopes:
                raise TokenRefused("接入令牌请由管理员创建为服务令牌 / Ingest tokens are service tokens an admin makes")
            expires = now + timedelta(days=int(days)) if days else None
            secret, _ = tokens.create(session, name=str(form.get("name", "")), scopes=scopes,
                                      person=session.get(Person, caller.person_id), expires_at=expires,
                                      by=caller.actor, now=now)
        except (TokenRefused, ValueError) as exc:
            return {"error": str(exc).replace(" / ", "\n")}
        return {"new_token": secret}

    # -- electronic signatures -------------------------------------------------------------------------

    def sign_page(self, request: Request, caller: Caller, view: SigningView | None, action: str, **extra: Any
                  ) -> Response:
        if view is None:
            return render("message.html.j2", status=404, title=plain("web_sign_title"), error=say("web_sign_gone"),
                          **self.base(caller))
        assert caller.person_id is not None
        with self.db.reader() as session:
            has_pw = passwords.has_password(session, caller.person_id)
            has_totp = passwords.has_totp(session, caller.person_id)
        if not has_pw and not has_totp:
            extra.setdefault("error", say("signature_no_credential"))
        return render("sign.html.j2", title=plain("web_sign_title"), record=view.record, meaning=view.meaning,
                      input_label=view.input_label, options=view.options, action=action, has_password=has_pw,
                      has_totp=has_totp, event_id=uuid.uuid4().hex, **extra, **self.base(caller))

    async def sign(self, request: Request, kind: str, first: int, second: str = "") -> Response:
        """GET shows the signing page; POST re-authenticates and signs (the step is done / the action
        confirmed in the same transaction)."""
        path = request.url.path
        caller = self.auth.session_caller(request)
        if caller is None or caller.actor is None:
            return to_signin(path)
        view = self.playbooks.signing_view(incident_id=first, step_id=second) if kind == "step" else \
            self.actions.signing_view(run_id=first)
        if request.method != "POST":
            return self.sign_page(request, caller, view, path)
        form = await form_of(request)
        self.auth.check_csrf(request, caller, str(form.get(CSRF_FIELD, "")))
        signing = Signing(password=str(form.get("password", "")), totp_code=str(form.get("totp", "")),
                          reason=str(form.get("reason", ""))[:1000])
        key = f"web:sign:{str(form.get('event_id', ''))[:64] or uuid.uuid4().hex}"
        if kind == "step":
            reply = self.playbooks.complete(incident_id=first, step_id=second, actor=caller.actor, dedupe_key=key,
                                            answer=str(form.get("answer", "")) or None, signing=signing)
        else:
            reply = self.actions.confirm(run_id=first, actor=caller.actor, dedupe_key=key, signing=signing)
        if not reply.ok:
            return self.sign_page(request, caller, view, path, error=reply.text, reason=signing.reason)
        return render("sign.html.j2", title=plain("web_sign_title"), record=view.record if view else "",
                      meaning=view.meaning if view else "", notice=reply.text, done=True, **self.base(caller))

    # -- routes ----------------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        api = APIRouter(include_in_schema=False)
        api.add_api_route("/signin", self._signin_get, methods=["GET"])
        api.add_api_route("/signin", self.signin, methods=["POST"])
        api.add_api_route("/signout", self.signout, methods=["POST"])
        api.add_api_route("/signin/link/{code}", self.link_page, methods=["GET"])
        api.add_api_route("/signin/link/{code}", self.link_signin, methods=["POST"])
        api.add_api_route("/account", self._account_get, methods=["GET"])
        api.add_api_route("/account/password", self._post("password"), methods=["POST"])
        api.add_api_route("/account/totp/start", self._post("totp-start"), methods=["POST"])
        api.add_api_route("/account/totp", self._post("totp"), methods=["POST"])
        api.add_api_route("/account/link-code", self._post("link-code"), methods=["POST"])
        api.add_api_route("/account/tokens", self._post("token"), methods=["POST"])
        api.add_api_route("/account/tokens/{token_id}/revoke", self._revoke, methods=["POST"])
        api.add_api_route("/sign/step/{incident_id}/{step_id}", self._sign_step, methods=["GET", "POST"])
        api.add_api_route("/sign/action/{run_id}", self._sign_action, methods=["GET", "POST"])
        api.add_api_route("/auth/me", self._me, methods=["GET"])
        return api

    def mount_static(self, app: Any) -> None:
        app.mount("/auth/static", StaticFiles(directory=STATIC), name="auth-static")

    async def _signin_get(self, request: Request) -> Response:
        notice = say("session_expired") if request.query_params.get("expired") else ""
        return self.signin_page(request, notice=notice)

    async def _account_get(self, request: Request) -> Response:
        caller = self.auth.session_caller(request)
        return to_signin("/account") if caller is None else self.account_page(request, caller)

    def _post(self, what: str) -> Any:
        async def handler(request: Request) -> Response:
            return await self.account_post(request, what)
        return handler

    async def _revoke(self, request: Request, token_id: int) -> Response:
        return await self.account_post(request, "revoke", token_id)

    async def _sign_step(self, request: Request, incident_id: int, step_id: str) -> Response:
        return await self.sign(request, "step", incident_id, step_id)

    async def _sign_action(self, request: Request, run_id: int) -> Response:
        return await self.sign(request, "action", run_id)

    async def _me(self, request: Request) -> dict[str, Any]:
        """Who the page acts as: the signed-in person and their CSRF token, or the demo's people."""
        caller = self.auth.caller(request)
        if caller is None or caller.actor is None:
            if self.auth.config.demo:
                return {"mode": "demo"}
            raise Refused(401, say("signin_needed"))
        with self.db.reader() as session:
            person = session.exec(select(Person).where(Person.id == caller.person_id)).one()
        return {"mode": "demo" if self.auth.config.demo else "signin", "person_id": person.id,
                "name": caller.actor.name, "roles": person.roles, "admin": person.admin, "csrf": caller.csrf,
                "permissions": sorted(permissions_of(person.roles, admin=person.admin))}
