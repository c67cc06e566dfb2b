"""What an SMS says, for every SMS provider: a free text (Twilio) or a provider-approved template's values.

Alibaba Cloud and Tencent Cloud send only templates approved in their consoles; WareRoom fills one template
with two values, the incident number and a short title, e.g. (Alibaba, named variables)
``【仓库】${title}，事件 ${incident}。回复“确认 ${incident} PIN”确认。`` or (Tencent, numbered) ``{1}`` and ``{2}``.
A variable's length is limited by the provider (Tencent: 6 characters for verification codes, longer for
notifications; Alibaba: 35 characters per variable), so the title is cut to ``title_max`` characters.
"""

from dataclasses import dataclass

from handlers.contact_ports import Notice
from integrations.outbound import Unit, fit_text

TWILIO_BODY_MAX = 1600  # Twilio: a message body is at most 1,600 characters
ACK_HINT = {"zh": "回复“确认 {incident} PIN”确认", "en": "Reply \"{incident} ACK PIN\" to acknowledge"}


@dataclass(frozen=True, slots=True)
class TemplateValues:
    """The two values a template is filled with."""

    incident: str
    title: str


def template_values(notice: Notice, *, title_max: int = 20) -> TemplateValues:
    """The incident number (``-`` when there is none) and the title cut to ``title_max`` characters."""
    incident = str(notice.message.incident_id) if notice.message.incident_id is not None else "-"
    return TemplateValues(incident, fit_text(notice.message.title, title_max, Unit.CHARS))


def free_text(notice: Notice) -> str:
    """Title, body and fields, then how to acknowledge by reply; at most TWILIO_BODY_MAX characters."""
    hint = ""
    if notice.message.incident_id is not None:
        hint = "\n" + ACK_HINT.get(notice.language, ACK_HINT["en"]).format(incident=notice.message.incident_id)
    room = TWILIO_BODY_MAX - len(hint)
    return fit_text(notice.message.plain_text(), room, Unit.CHARS) + hint
