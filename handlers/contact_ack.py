"""Acknowledging from where the message arrived: an SMS reply or a call's keys, with the personal PIN.

The edge (a provider webhook) has already verified the provider's signature; here the sender's number must
be a verified phone of an active person, and the PIN theirs. Refusals change nothing but the audit trail
(``contact.ack_refused`` with the channel, the sender and why; PIN failures count towards the lockout).
An acknowledgement goes through ``IncidentFlow.change`` like a chat button, so every thread says who
acknowledged and by which channel.
"""

import re
from dataclasses import dataclass

from handlers.context import CoreContext
from handlers.incident_flow import IncidentFlow
from handlers.paging import latest_paged
from handlers.text import say
from incidents import audit
from incidents.actors import SYSTEM
from incidents.contacts import points
from incidents.contacts.pins import PinCheck, check_pin
from incidents.contacts.tables import ContactProfile
from incidents.directory import actor_for
from incidents.lifecycle import Transition
from incidents.tables import Person, ProcessedEvent

ACK_WORDS = frozenset({"ack", "确认", "认领"})
_TOKENS = re.compile(r"\d+|[A-Za-z]+|确认|认领")
CHANNEL_NAMES = {"sms": ("短信", "SMS"), "voice": ("电话", "phone call"), "email": ("邮件链接", "email link")}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened: ``result`` is ``acked``, ``wrong``, ``locked``, ``unknown``, ``not_understood``,
    ``no_incident`` or ``refused`` (the incident cannot be acknowledged now); ``text`` is the bilingual answer."""

    result: str
    text: str
    incident_id: int | None = None


def parse_reply(body: str) -> tuple[int | None, str] | None:
    """``"确认 42 1234"``, ``"42 ACK 1234"``: (incident, PIN); ``"ACK 1234"``: (None, PIN); otherwise None."""
    tokens = _TOKENS.findall(body)
    if not any(t.lower() in ACK_WORDS for t in tokens):
        return None
    numbers = [t for t in tokens if t.isdigit()]
    if len(numbers) == 2:
        return int(numbers[0]), numbers[1]
    if len(numbers) == 1:
        return None, numbers[0]
    return None


class ContactAck:
    """Turns verified inbound SMS replies and call key presses into acknowledgements."""

    def __init__(self, ctx: CoreContext, flow: IncidentFlow) -> None:
        self.ctx = ctx
        self.flow = flow

    def link_used(self, nonce: str) -> bool:
        """Whether the email link with ``nonce`` has acknowledged already (links are single-use)."""
        with self.ctx.db.reader() as session:
            return session.get(ProcessedEvent, f"email:{nonce}") is not None

    def email_of(self, person_id: int) -> str:
        """The person's verified email address (for the audit), or ``-``."""
        with self.ctx.db.reader() as session:
            return points.verified_address(session, person_id=person_id, kind=points.EMAIL) or "-"

    def language(self, person_id: int) -> str:
        """The person's language for what a call says (``zh`` or ``en``)."""
        with self.ctx.db.reader() as session:
            known = session.get(ContactProfile, person_id)
            return known.language if known else "zh"

    def _refuse(self, result: str, *, channel: str, sender: str, incident_id: int | None, detail: str) -> Outcome:
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="contact.ack_refused", actor=SYSTEM, incident_id=incident_id,
                         object_type="contact", object_id=sender, after={"channel": channel, "sender": sender,
                                                                         "why": detail})
        text = {"unknown": "contact_ack_unknown", "not_understood": "contact_ack_not_understood",
                "no_incident": "contact_ack_no_incident"}[result]
        return Outcome(result, say(text), incident_id)

    def sms_reply(self, *, sender: str, body: str, event_id: str, channel: str = "sms") -> Outcome:
        """An SMS reply from ``sender`` (E.164); ``event_id`` is the provider's message id (a retry is a no-op)."""
        with self.ctx.db.reader() as session:
            person = points.person_by_phone(session, sender)
            person_id = person.id if person else None
        if person_id is None:
            return self._refuse("unknown", channel=channel, sender=sender, incident_id=None, detail="unknown sender")
        parsed = parse_reply(body)
        if parsed is None:
            return self._refuse("not_understood", channel=channel, sender=sender, incident_id=None,
                                detail="no ACK and PIN in the reply")
        incident_id, pin = parsed
        if incident_id is None:
            with self.ctx.db.reader() as session:
                incident_id = latest_paged(session, person_id=person_id, channel=channel)
            if incident_id is None:
                return self._refuse("no_incident", channel=channel, sender=sender, incident_id=None,
                                    detail="no incident named and none waiting")
        return self.with_pin(person_id=person_id, incident_id=incident_id, pin=pin, channel=channel, sender=sender,
                             event_id=event_id)

    def with_pin(self, *, person_id: int, incident_id: int, pin: str, channel: str, sender: str,
                 event_id: str) -> Outcome:
        """Acknowledge ``incident_id`` as the person when ``pin`` is theirs (calls come here after "1")."""
        with self.ctx.db.unit_of_work() as session:
            checked = check_pin(session, person_id=person_id, pin=pin, channel=channel, sender=sender,
                                now=self.ctx.now(), incident_id=incident_id)
            person = session.get(Person, person_id)
            actor = actor_for(person, platform=channel, platform_user_id=sender) if person else None
        if checked is PinCheck.LOCKED:
            return Outcome("locked", say("contact_ack_locked"), incident_id)
        if checked is not PinCheck.OK or actor is None:
            return Outcome("wrong", say("contact_ack_wrong_pin"), incident_id)
        zh, en = CHANNEL_NAMES.get(channel, (channel, channel))
        reason = say("contact_ack_reason", channel_zh=zh, channel_en=en, sender=sender).replace("\n", " / ")
        reply = self.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=actor, reason=reason,
                                 dedupe_key=f"{channel}:{event_id}")
        if not reply.ok:
            return Outcome("refused", reply.text, incident_id)
        return Outcome("acked", say("contact_ack_done", incident=incident_id), incident_id)
