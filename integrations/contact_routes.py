"""HTTP for the channels beyond chat: the email acknowledgement page, and the admin API that keeps people's
addresses (proved by a code), PINs and notification rules, and sends test notifications.

``GET|POST /ack/{token}``: the signed, expiring, single-use link of a notification email; the page asks for
the person's PIN. Admin (token scope ``admin``): ``POST /api/v1/people/{id}/contacts``,
``POST /api/v1/contacts/{id}/verify``, ``PUT /api/v1/people/{id}/pin``,
``PUT /api/v1/people/{id}/notification-rules/{severity}``, ``PUT /api/v1/people/{id}/quiet-hours``,
``POST /api/v1/people/{id}/test-notification``.
"""

import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from handlers.contact_ack import ContactAck
from handlers.contact_ports import EMAIL, SMS, ContactPort, Notice
from handlers.ports import ChatUnavailable, MessageRefused, OutboundMessage
from handlers.text import CATALOGUE, say
from incidents import audit
from incidents.contacts import pins, points, rules
from incidents.database import Database
from incidents.tables import Person
from integrations.api_types import ID_MAX
from integrations.contact_links import AckLinks
from integrations.outbox_routes import SERVICE_ADMIN
from integrations.webauth.caller import Caller

PersonId = Annotated[int, PathParam(ge=1, le=ID_MAX)]
CHANNEL_OF_KIND = {points.PHONE: SMS, points.EMAIL: EMAIL}
_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>WareRoom</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>WareRoom</h1><p>{text}</p>{form}</body></html>"""
_FORM = """<form method="post"><label>PIN <input name="pin" inputmode="numeric" pattern="[0-9]{{4,8}}"
 autocomplete="off" required></label> <button>确认 Acknowledge</button></form>"""


class ContactIn(BaseModel):
    kind: str = Field(pattern="^(phone|email)$")
    address: str = Field(min_length=3, max_length=200)


class CodeIn(BaseModel):
    code: str = Field(min_length=6, max_length=6)


class PinIn(BaseModel):
    pin: str = Field(min_length=4, max_length=8)


class RulesIn(BaseModel):
    steps: list[tuple[str, int]] = Field(max_length=10, description="[[channel, after_seconds], …]")


class QuietIn(BaseModel):
    start: time | None = Field(default=None, description="site time, e.g. 22:00; both null: no quiet hours")
    end: time | None = None


class TestIn(BaseModel):
    channel: str = Field(pattern="^(sms|voice|email)$")


def _page(text: str, *, form: bool = False, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(text=html.escape(text).replace("\n", "<br>"), form=_FORM if form else ""),
                        status_code=status)


async def _send(port: ContactPort | None, notice: Notice, key: str) -> str:
    if port is None:
        raise HTTPException(409, "此渠道未启用 / This channel is not set up")
    try:
        return await port.deliver(notice, key=key)
    except (ChatUnavailable, MessageRefused) as exc:
        raise HTTPException(502, f"发送失败 / Sending failed: {exc}") from exc


def build_router(db: Database, ack: ContactAck, links: AckLinks, ports: Mapping[str, ContactPort],
                 admin: Callable[[Request], Awaitable[Caller]]) -> APIRouter:
    """The acknowledgement page and the admin API."""
    router = ack_router(ack, links)
    router.include_router(admin_router(db, ack, ports, admin))
    router.include_router(preferences_router(db, admin))
    return router


def ack_router(ack: ContactAck, links: AckLinks) -> APIRouter:
    router = APIRouter()

    @router.get("/ack/{token}", include_in_schema=False)
    async def ack_page(token: str) -> HTMLResponse:
        target = links.read_email(token)
        if target is None or ack.link_used(target.nonce):
            return _page(say("contact_link_invalid"), status=410)
        return _page(f"事件 / Incident #{target.incident_id}", form=True)

    @router.post("/ack/{token}", include_in_schema=False)
    async def ack_with_pin(token: str, pin: Annotated[str, Form(max_length=16)]) -> HTMLResponse:
        target = links.read_email(token)
        if target is None or ack.link_used(target.nonce):
            return _page(say("contact_link_invalid"), status=410)
        outcome = ack.with_pin(person_id=target.person_id, incident_id=target.incident_id, pin=pin, channel=EMAIL,
                               sender=ack.email_of(target.person_id), event_id=target.nonce)
        return _page(outcome.text, form=outcome.result == "wrong", status=200 if outcome.result == "acked" else 403)

    return router


def admin_router(db: Database, ack: ContactAck, ports: Mapping[str, ContactPort],
                 admin: Callable[[Request], Awaitable[Caller]]) -> APIRouter:
    router = APIRouter(tags=["people"])
    Admin = Annotated[Caller, Depends(admin)]  # noqa: N806

    @router.post("/api/v1/people/{person_id}/contacts", status_code=201)
    async def add_contact(person_id: PersonId, body: ContactIn, caller: Admin) -> dict[str, Any]:
        """Add a phone number or email address and send it a 6-digit code (verify with the code)."""
        with db.unit_of_work() as session:
            if session.get(Person, person_id) is None:
                raise HTTPException(404, f"没有人员 #{person_id} / No person #{person_id}")
            try:
                point, code = points.add(session, person_id=person_id, kind=body.kind, address=body.address,
                                         now=ack.ctx.now(), by=caller.actor or SERVICE_ADMIN)
            except points.ContactRefused as exc:
                raise HTTPException(422, str(exc)) from exc
            point_id, address = point.id, point.address
        zh, en = CATALOGUE["contact_code_msg"]
        message = OutboundMessage(title=f"{zh.format(code=code)} / {en.format(code=code)}")
        await _send(ports.get(CHANNEL_OF_KIND[body.kind]), Notice(address, message), f"code:{point_id}:{code}")
        return {"id": point_id, "address": address, "verified": False}

    @router.post("/api/v1/contacts/{point_id}/verify")
    async def verify(point_id: PersonId, body: CodeIn, _caller: Admin) -> dict[str, Any]:
        """Prove an address with the code sent to it (10 minutes, 5 tries)."""
        with db.unit_of_work() as session:
            ok = points.verify(session, point_id=point_id, code=body.code, now=ack.ctx.now())
        if not ok:
            raise HTTPException(422, "验证码不正确或已过期 / The code is wrong or has expired")
        return {"id": point_id, "verified": True}

    @router.post("/api/v1/people/{person_id}/test-notification")
    async def test_notification(person_id: PersonId, body: TestIn, caller: Admin) -> dict[str, Any]:
        """Send a test notice now to the person's verified address on ``channel``; audited."""
        kind = points.EMAIL if body.channel == EMAIL else points.PHONE
        with db.reader() as session:
            address = points.verified_address(session, person_id=person_id, kind=kind)
        if address is None:
            raise HTTPException(409, "没有已验证的地址 / No verified address for this channel")
        zh, en = CATALOGUE["contact_test_title"]
        provider_id = await _send(ports.get(body.channel), Notice(address, OutboundMessage(title=f"{zh} / {en}"),
                                                                  ack_token="test"), f"test:{person_id}")
        with db.unit_of_work() as session:
            audit.record(session, action="contact.test_sent", actor=caller.actor or SERVICE_ADMIN,
                         object_type="person", object_id=str(person_id),
                         after={"channel": body.channel, "address": address, "provider_id": provider_id})
        return {"channel": body.channel, "address": address, "provider_id": provider_id}

    return router


def preferences_router(db: Database, admin: Callable[[Request], Awaitable[Caller]]) -> APIRouter:
    """A person's PIN, notification rules and quiet hours (admin)."""
    router = APIRouter(tags=["people"])
    Admin = Annotated[Caller, Depends(admin)]  # noqa: N806

    @router.put("/api/v1/people/{person_id}/pin", status_code=204)
    async def set_pin(person_id: PersonId, body: PinIn, caller: Admin) -> None:
        """Set (and unlock) the person's acknowledgement PIN, 4 to 8 digits."""
        try:
            with db.unit_of_work() as session:
                pins.set_pin(session, person_id=person_id, pin=body.pin, by=caller.actor or SERVICE_ADMIN)
        except pins.PinRefused as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.put("/api/v1/people/{person_id}/notification-rules/{severity}")
    async def set_rules(person_id: PersonId, severity: str, body: RulesIn, caller: Admin) -> dict[str, Any]:
        """Replace the person's steps for a severity: ``[["chat", 0], ["sms", 120], ["voice", 300]]``."""
        try:
            with db.unit_of_work() as session:
                steps = rules.set_rules(session, person_id=person_id, severity=severity, steps=body.steps,
                                        by=caller.actor or SERVICE_ADMIN)
        except rules.RuleRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"severity": severity, "steps": [[s.channel, s.after_seconds] for s in steps]}

    @router.put("/api/v1/people/{person_id}/quiet-hours", status_code=204)
    async def set_quiet_hours(person_id: PersonId, body: QuietIn, caller: Admin) -> None:
        """Quiet hours in site time (SEV1 ignores them); both null clears them."""
        if (body.start is None) != (body.end is None):
            raise HTTPException(422, "需要同时给出开始和结束时间 / Give both start and end, or neither")
        with db.unit_of_work() as session:
            if session.get(Person, person_id) is None:
                raise HTTPException(404, f"没有人员 #{person_id} / No person #{person_id}")
            rules.set_quiet_hours(session, person_id=person_id, start=body.start, end=body.end,
                                  by=caller.actor or SERVICE_ADMIN)

    return router
