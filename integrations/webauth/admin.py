"""Admin pages (people with the ``manage_people`` permission only): people, roles and permissions,
chat links, shifts, API tokens and sessions. Every change goes through ``incidents.directory`` and
friends, so it is audited with before and after; people are deactivated, never deleted."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from handlers import i18n
from handlers.text import local_time, say
from incidents import directory
from incidents.contacts import points
from incidents.identity import codes, passwords, sessions, tokens
from incidents.identity.tables import WebSession
from incidents.identity.tokens import Scope, TokenRefused
from incidents.permissions import Permission, table
from incidents.tables import AuditEvent, Person, Shift
from integrations.webauth.caller import CSRF_FIELD, Caller, WebAuth
from integrations.webauth.pages import plain, render, to_signin
from integrations.webauth.routes import form_of
from playbooks.schema import ROLES

TABS = (("people", "web_people"), ("roles", "web_roles"), ("links", "web_links"), ("shifts", "web_shifts"),
        ("tokens", "web_tokens"), ("sessions", "web_sessions"))


def _listed(form: dict[str, Any], key: str) -> list[str]:
    raw = form.get(key, [])
    return [str(v) for v in (raw if isinstance(raw, list) else [raw]) if str(v).strip()]



TEST_CHANNELS = (("sms", points.PHONE), ("voice", points.PHONE), ("email", points.EMAIL))
"""The channels a test notification can go by and the kind of address each needs
(``POST /api/v1/people/{id}/test-notification``, integrations.contact_routes)."""


def verified_contacts(session: Session, person_id: int) -> list[tuple[str, str]]:
    """``(channel, address)`` for each channel the person has a verified address for: the admin page's
    "send a test notification" buttons."""
    found = []
    for channel, kind in TEST_CHANNELS:
        address = points.verified_address(session, person_id=person_id, kind=kind)
        if address is not None:
            found.append((channel, address))
    return found

class AdminPages:
    def __init__(self, auth: WebAuth, *, timezone: str) -> None:
        self.auth = auth
        self.db = auth.db
        self.timezone = timezone

    def _admin(self, request: Request) -> Caller | Response:
        """The signed-in admin, or the page that says why not (sign in; refused and audited)."""
        caller = self.auth.session_caller(request)
        if caller is None:
            return to_signin(request.url.path)
        if not caller.may(Permission.MANAGE_PEOPLE):
            self.auth.audit_refusal(request, "missing permission manage_people", actor=caller.actor)
            return render("message.html.j2", status=403, title=plain("web_admin"), error=say("web_admin_only"),
                          me={"name": caller.actor.name if caller.actor else "", "admin": False}, csrf=caller.csrf,
                          demo=self.auth.config.demo)
        return caller

    def page(self, caller: Caller, view: str, **extra: Any) -> Response:
        with self.db.reader() as session:
            context = self._context(session, view, extra.pop("person_id", None))
        return render("admin.html.j2", title=plain("web_admin"), view=view, tabs=TABS, role_codes=list(ROLES),
                      platforms=directory.PLATFORMS,
                      me={"name": caller.actor.name if caller.actor else "", "admin": True}, csrf=caller.csrf,
                      demo=self.auth.config.demo, revoke_base="/admin/tokens",
                      reader=caller.actor.language if caller.actor else None,
                      languages=[(code, i18n.language_name(code)) for code in i18n.reader_languages()],
                      **context, **extra)

    def _context(self, session: Session, view: str, person_id: int | None) -> dict[str, Any]:
        people = list(session.exec(select(Person).order_by(col(Person.id))))
        names = {p.id: f"{p.name_zh} {p.name_en}" for p in people}
        if view == "people":
            counts: dict[int, int] = {}
            for link in directory.links_of(session):
                counts[link.person_id] = counts.get(link.person_id, 0) + 1
            return {"people": people, "link_counts": counts, "person": None}
        if view == "person" and person_id is not None:
            person = session.get(Person, person_id)
            history = session.exec(select(AuditEvent).where(AuditEvent.object_type == "person",
                                                            AuditEvent.object_id == str(person_id))
                                   .order_by(col(AuditEvent.id).desc()).limit(50)).all()
            return {"person": person, "links": directory.links_of(session, person_id), "history": history,
                    "shifts": self._shifts(session, person_id), "has_password": passwords.has_password(session,
                                                                                                       person_id),
                    "has_totp": passwords.has_totp(session, person_id),
                    "contacts": verified_contacts(session, person_id)}
        if view == "roles":
            rows = [(p.value, plain(f"perm_{p.value}"), roles, by_admin) for p, roles, by_admin in table()]
            return {"table": rows}
        if view == "links":
            return {"links": directory.links_of(session), "names": names}
        if view == "shifts":
            return {"shifts": self._shifts(session, None, names)}
        if view == "tokens":
            return {"tokens": tokens.listing(session), "names": names}
        if view == "sessions":
            return {"sessions": sessions.open_sessions(session, now=self.auth.config.now()), "names": names}
        return {}

    def _shifts(self, session: Session, person_id: int | None, names: dict[int | None, str] | None = None
                ) -> list[str]:
        query = select(Shift).where(Shift.ends_at >= self.auth.config.now() - timedelta(days=1)) \
            .order_by(col(Shift.starts_at)).limit(200)
        if person_id is not None:
            query = query.where(Shift.person_id == person_id)
        return [f"{local_time(s.starts_at, self.timezone)} – {local_time(s.ends_at, self.timezone)}"
                + (f" · {names.get(s.person_id, s.person_id)}" if names else "") for s in session.exec(query)]

    # -- views -----------------------------------------------------------------------------------------

    async def view(self, request: Request, view: str = "people", person_id: int | None = None) -> Response:
        caller = self._admin(request)
        if not isinstance(caller, Caller):
            return caller
        return self.page(caller, view, person_id=person_id)

    async def change(self, request: Request, what: str, item: int | None = None) -> Response:
        """Every admin POST: check the admin and the CSRF token, make the change, show the page again."""
        caller = self._admin(request)
        if not isinstance(caller, Caller):
            return caller
        form = await form_of(request)
        self.auth.check_csrf(request, caller, str(form.get(CSRF_FIELD, "")))
        assert caller.actor is not None
        now = self.auth.config.now()
        view: str = "people"
        extra: dict[str, Any] = {}
        try:
            with self.db.unit_of_work() as session:
                view, extra = self._apply(session, caller, what, item, form, now=now)
        except (directory.DirectoryRefused, TokenRefused, LookupError, ValueError) as exc:
            extra = {"error": str(exc).replace(" / ", "\n")}
            view = "person" if item is not None and what.startswith("person") else \
                {"token": "tokens", "revoke": "tokens", "session": "sessions"}.get(what, "people")
            if view == "person":
                extra["person_id"] = item
        if view == "redirect":
            return RedirectResponse(str(extra["to"]), status_code=303)
        return self.page(caller, view, **extra)

    def _apply(self, session: Session, caller: Caller, what: str, item: int | None, form: dict[str, Any], *,
               now: datetime) -> tuple[str, dict[str, Any]]:
        by = caller.actor
        assert by is not None
        person_fields = {"name_zh": str(form.get("name_zh", "")), "name_en": str(form.get("name_en", "")),
                         "roles": _listed(form, "roles"), "admin": form.get("admin") == "1",
                         "login": str(form.get("login", "")), "email": str(form.get("email", "")),
                         "qualifications": [q for q in str(form.get("qualifications", "")).split(",")]}
        language = str(form.get("language", ""))
        if what == "add":
            person = directory.add_person(session, by=by, **person_fields)  # type: ignore[arg-type]
            if language and person.id is not None:
                directory.set_language(session, person_id=person.id, language=i18n.check_language(language), by=by)
            return "redirect", {"to": f"/admin/people/{person.id}"}
        assert item is not None or what in ("token",)
        if what == "person":
            directory.edit_person(session, person_id=item or 0, by=by, **person_fields)  # type: ignore[arg-type]
            if language:
                directory.set_language(session, person_id=item or 0, language=i18n.check_language(language), by=by)
            return "person", {"person_id": item, "notice": say("web_saved")}
        if what == "person-active":
            active = form.get("active") == "1"
            directory.set_active(session, person_id=item or 0, active=active, by=by,
                                 reason=str(form.get("reason", "")))
            if not active:
                sessions.end_all(session, person_id=item or 0, reason="person deactivated", by=by, now=now)
                tokens.revoke_all(session, person_id=item or 0, by=by, now=now, reason="person deactivated")
            return "person", {"person_id": item, "notice": say("web_saved")}
        if what == "person-link-code":
            code = codes.issue(session, purpose=codes.LINK, person_id=item or 0, by=by, now=now)
            return "person", {"person_id": item, "secret": f"/link {code}",
                              "notice": say("web_link_how", code=code, minutes=int(codes.LINK_TTL.total_seconds()
                                                                                     // 60))}
        if what == "person-signin-link":
            code = codes.issue(session, purpose=codes.SIGNIN, person_id=item or 0, by=by, now=now)
            return "person", {"person_id": item, "notice": say("web_signin_link_made"),
                              "secret": f"{self.auth.config.base_url}/signin/link/{code}"}
        if what == "person-links":
            directory.link(session, person_id=item or 0, platform=str(form.get("platform", "")),
                           user_id=str(form.get("user_id", "")).strip(), by=by)
            return "person", {"person_id": item, "notice": say("web_saved")}
        if what == "person-totp-off":
            passwords.disable_totp(session, person_id=item or 0, by=by, now=now)
            return "person", {"person_id": item, "notice": say("web_saved")}
        if what == "person-shifts":
            zone = ZoneInfo(self.timezone)
            starts, ends = (datetime.fromisoformat(str(form.get(k, ""))).replace(tzinfo=zone) for k in ("start", "end"))
            directory.add_shift(session, person_id=item or 0, starts_at=starts, ends_at=ends, by=by)
            return "person", {"person_id": item, "notice": say("web_saved")}
        if what == "link-remove":
            removed = codes.remove_link(session, identity_id=item or 0, by=by, now=now)
            return "person", {"person_id": removed.person_id, "notice": say("web_saved")}
        if what == "token":
            days = str(form.get("days", "")).strip()
            secret, _ = tokens.create(session, name=str(form.get("name", "")),
                                      scopes=[Scope(s) for s in _listed(form, "scopes")], person=None,
                                      expires_at=now + timedelta(days=int(days)) if days else None, by=by, now=now)
            return "tokens", {"secret": secret, "notice": say("web_token_once")}
        if what == "revoke":
            tokens.revoke(session, token_id=item or 0, by=by, now=now)
            return "tokens", {}
        if what == "session":
            row = session.get(WebSession, item)
            if row is None:
                raise LookupError(f"#{item}")
            sessions.end(session, row, reason="ended by an admin", by=by, now=now)
            return "sessions", {}
        raise LookupError(what)

    def router(self) -> APIRouter:
        api = APIRouter(include_in_schema=False)

        def show(view: str) -> Any:
            async def handler(request: Request) -> Response:
                return await self.view(request, view)
            return handler

        def post(what: str) -> Any:
            async def handler(request: Request, item: int | None = None) -> Response:
                return await self.change(request, what, item)
            return handler

        async def person(request: Request, item: int) -> Response:
            return await self.view(request, "person", item)

        api.add_api_route("/admin", show("people"), methods=["GET"])
        for view, _ in TABS[1:]:
            api.add_api_route(f"/admin/{view}", show(view), methods=["GET"])
        api.add_api_route("/admin/people/{item}", person, methods=["GET"])
        api.add_api_route("/admin/people", post("add"), methods=["POST"])
        api.add_api_route("/admin/people/{item}", post("person"), methods=["POST"])
        for suffix in ("active", "link-code", "signin-link", "links", "totp-off", "shifts"):
            api.add_api_route(f"/admin/people/{{item}}/{suffix}", post(f"person-{suffix}"), methods=["POST"])
        api.add_api_route("/admin/links/{item}/remove", post("link-remove"), methods=["POST"])
        api.add_api_route("/admin/tokens", post("token"), methods=["POST"])
        api.add_api_route("/admin/tokens/{item}/revoke", post("revoke"), methods=["POST"])
        api.add_api_route("/admin/sessions/{item}/end", post("session"), methods=["POST"])
        return api
