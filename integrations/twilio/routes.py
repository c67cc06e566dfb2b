"""Twilio's webhooks: inbound SMS replies and a call's key presses, each checked against ``X-Twilio-Signature``.

Twilio signs the full URL it called (as configured, i.e. WareRoom's public address) followed by the POST
parameters sorted by name (Twilio "Webhooks security"); a request without a valid signature is refused with
403 and changes nothing. Answers are TwiML (``text/xml``).
"""

import logging

from fastapi import APIRouter, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from handlers.contact_ack import ContactAck
from handlers.contact_ports import SMS, VOICE
from integrations.contact_links import AckLinks
from integrations.twilio import render

log = logging.getLogger(__name__)
ACK_RESULTS = {"acked": "acked", "wrong": "refused", "locked": "locked", "refused": "not_now"}


def _twiml(body: str) -> Response:
    return Response(body, media_type="text/xml")


def build_router(ack: ContactAck, links: AckLinks, *, auth_token: str, public_url: str) -> APIRouter:
    """``POST /twilio/sms``, ``POST /twilio/voice/{token}/key`` and ``/pin``."""
    router = APIRouter()
    validator = RequestValidator(auth_token)
    base = public_url.rstrip("/")

    async def verified(request: Request) -> dict[str, str] | None:
        form = {key: str(value) for key, value in (await request.form()).items()}
        url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            log.warning("refused a Twilio webhook with a bad signature: %s", request.url.path)
            return None
        return form

    @router.post("/twilio/sms", include_in_schema=False)
    async def sms(request: Request) -> Response:
        form = await verified(request)
        if form is None:
            return Response(status_code=403)
        outcome = ack.sms_reply(sender=form.get("From", ""), body=form.get("Body", ""),
                                event_id=form.get("MessageSid", ""), channel=SMS)
        reply = MessagingResponse()
        reply.message(outcome.text)
        return _twiml(str(reply))

    @router.post("/twilio/voice/{token}/{step}", include_in_schema=False)
    async def voice(token: str, step: str, request: Request) -> Response:
        form = await verified(request)
        if form is None:
            return Response(status_code=403)
        target = links.read_call(token)
        language = ack.language(target.person_id) if target else "zh"
        if target is None or step not in ("key", "pin"):
            return _twiml(render.spoken_result("unknown", language=language))
        digits = form.get("Digits", "")
        if step == "key":
            if digits != "1":
                return _twiml(render.spoken_result("no_input", language=language))
            return _twiml(render.ask_pin(language=language, pin_url=f"{base}/twilio/voice/{token}/pin"))
        outcome = ack.with_pin(person_id=target.person_id, incident_id=target.incident_id, pin=digits,
                               channel=VOICE, sender=form.get("To", ""), event_id=form.get("CallSid", "") + ":pin")
        return _twiml(render.spoken_result(ACK_RESULTS.get(outcome.result, "refused"), language=language))

    return router
