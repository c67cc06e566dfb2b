"""Builders of platform-neutral messages: pure functions of domain state."""

from dataclasses import dataclass

from handlers import callbacks
from handlers.i18n import BOTH, current_language
from handlers.i18n_values import moment_text
from handlers.ports import Button, ButtonStyle, OutboundMessage
from handlers.text import label, role_name
from incidents.lifecycle import Status
from incidents.tables import Incident

_SEVERITY_MARK = {"SEV1": "🔴", "SEV2": "🟠", "SEV3": "🟡", "SEV4": "🔵"}


def incident_title(incident: Incident) -> str:
    """``🟠 SEV2 #12 冷库… / Cold room…`` (``title_text``)."""
    mark = _SEVERITY_MARK.get(incident.severity, "⚪")
    return f"{mark} {incident.severity} #{incident.id} {title_text(incident)}"


def title_text(incident: Incident) -> str:
    """``冷库… / Cold room…``; a title given in one language only (a PagerDuty summary) once (``pick``)."""
    return pick(incident.title_zh, incident.title_en, " / ")


def pick(zh: str, en: str, joiner: str) -> str:
    """A text the source gives in Chinese and English (a playbook step, an alert's title) as the current
    reader reads it (``i18n.current_language``): one of them, English for a third language (or whichever is
    given), or both joined by ``joiner`` (once when they read the same)."""
    language = current_language()
    if language == "zh" or (language != BOTH and not en.strip()):
        return zh
    if language != BOTH or not zh.strip():
        return en
    return zh if zh.strip() == en.strip() else f"{zh}{joiner}{en}"


def incident_header(
    incident: Incident, *, timezone: str, acked_by_name: str | None, current_step: str | None,
    alarm_states: str | None = None,
    commander_name: str | None = None,
) -> OutboundMessage:
    """The thread's root message, edited in place on every state change; it names the incident commander."""
    assert incident.id is not None
    status = Status(incident.status)
    language = current_language()
    fields: list[tuple[str, str]] = [
        (label("status"), label(f"status_{status.value}")),
        (label("zone"), " / ".join(x for x in (incident.site, incident.zone) if x) or "-"),
        (label("opened"), moment_text(incident.opened_at, timezone, language)),
    ]
    if commander_name:
        fields.append((label("commander"), commander_name))
    if acked_by_name and incident.acknowledged_at:
        fields.append((label("acked_by"),
                       f"{acked_by_name} · {moment_text(incident.acknowledged_at, timezone, language)}"))
    if incident.cleared_at:
        fields.append((label("cleared"), moment_text(incident.cleared_at, timezone, language)))
    if alarm_states:
        fields.append((label("alarm_states"), alarm_states))
    if incident.playbook_id:
        fields.append((label("playbook"), f"{incident.playbook_id} v{incident.playbook_version}"))
    if current_step:
        fields.append((label("step"), current_step))
    buttons: list[Button] = []
    if status is Status.TRIGGERED:
        buttons.append(Button(label("btn_ack"), callbacks.encode("ack", incident.id), ButtonStyle.PRIMARY))
    if status in (Status.ACKNOWLEDGED, Status.MITIGATING):
        buttons.append(Button(label("btn_resolve"), callbacks.encode("resolve", incident.id)))
    tone = {"triggered": "alert", "resolved": "ok", "closed": "ok"}.get(incident.status, "warn")
    return OutboundMessage(title=incident_title(incident), fields=tuple(fields), buttons=tuple(buttons),
                           incident_id=incident.id, tone=tone)


@dataclass(frozen=True, slots=True)
class StepView:
    """What a responder needs to see of one step."""

    step_id: str
    number: int
    total: int
    title_zh: str
    title_en: str
    instructions_zh: str
    instructions_en: str
    role: str
    due: str | None
    safety: bool
    prompt: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    overdue: bool = False
    claimed_by: str | None = None
    assignees: str | None = None
    why: str | None = None
    sign_url: str | None = None  # set: done only by an electronic signature on this page
    tally: str | None = None  # a quorum step: who confirmed, and who is still missing
    photo: bool = False  # done only by a picture sent for it (handlers.evidence_flow): no Done button


def step_message(incident_id: int, view: StepView, *, outcome: str | None = None) -> OutboundMessage:
    """A step card with Done / Claim / Skip; once finished (``outcome``), the same card without buttons."""
    mark = "🚨 " if view.safety else ""
    title = f"{mark}{label('step')} {view.number}/{view.total} · {pick(view.title_zh, view.title_en, ' / ')}"
    body = pick(view.instructions_zh, view.instructions_en, "\n")
    role = role_name(view.role) + (f" · {view.assignees}" if view.assignees else "")
    fields: list[tuple[str, str]] = [(label("role"), role)]
    if outcome is not None:
        return OutboundMessage(title=title, body=body, fields=(*fields, ("✔", outcome)), incident_id=incident_id,
                               tone="ok")
    if view.due:
        fields.append((label("due"), view.due))
    if view.overdue:
        fields.append(("⏰", label("overdue")))
    if view.claimed_by:
        fields.append((label("claimed_by"), view.claimed_by))
    if view.tally:
        fields.append((label("quorum"), view.tally))
    if view.prompt:
        fields.append((label("input"), view.prompt))
    if view.sign_url:
        fields.append((label("btn_sign"), view.sign_url))
        buttons = [Button(label("btn_sign"), callbacks.encode("sign", incident_id, view.step_id), ButtonStyle.PRIMARY,
                          url=view.sign_url)]
    elif view.photo:  # the web app opens the camera on this button; chat says where to send the picture
        buttons = [Button(label("btn_photo"), callbacks.encode("photo", incident_id, view.step_id),
                          ButtonStyle.PRIMARY)]
    else:
        buttons = list(_choice_buttons(incident_id, view)) or [
            Button(label("btn_done"), callbacks.encode("done", incident_id, view.step_id), ButtonStyle.PRIMARY)]
    if view.why:
        fields.append((label("why"), view.why))
    if not view.claimed_by:
        buttons.append(Button(label("btn_claim"), callbacks.encode("claim", incident_id, view.step_id)))
    buttons.append(Button(label("btn_skip"), callbacks.encode("skip", incident_id, view.step_id)))
    return OutboundMessage(title=title, body=body, fields=tuple(fields), incident_id=incident_id,
                           buttons=tuple(buttons), tone="alert" if view.overdue else "warn")


def _choice_buttons(incident_id: int, view: StepView) -> tuple[Button, ...]:
    """One button per option when every token fits the platforms' limit; else answers are typed."""
    try:
        return tuple(Button(text, callbacks.encode("done", incident_id, f"{view.step_id}={value}"))
                     for value, text in view.choices)
    except ValueError:
        return ()


def notice(incident_id: int, text: str, *, tone: str = "info") -> OutboundMessage:
    """A plain line in the thread."""
    title, _, body = text.partition("\n")
    return OutboundMessage(title=title, body=body, incident_id=incident_id, tone=tone)
