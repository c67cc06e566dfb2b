"""Playbook actions: done at once in the step's transaction, or recorded as runs for the executor.

Notify-role and set-severity happen inside the transaction that decided them. MQTT publishes,
webhooks and linked playbooks become ``ActionRun`` rows: a publish waits for a person with the
named role to confirm, and every run changes status once, so a double click or a retried event
cannot send a command twice.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from handlers import callbacks, messages, quorum
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.ports import Button, ButtonStyle, OutboundMessage, Reply
from handlers.signing import Signing, SigningView, reauthenticate, signing_method
from handlers.text import label, role_name, say
from incidents import audit, four_eyes, service, signatures
from incidents.actors import SYSTEM, Actor
from incidents.directory import RoleHolders
from incidents.severity import Severity
from incidents.tables import ActionRun, Incident
from playbooks.run_state import ActionRequest
from playbooks.schema import MqttPublish, NotifyRole, SetSeverity

AWAITING = "awaiting_confirmation"
PENDING = "pending"  # ready for the executor
RUNNING = "running"
DONE = "done"
FAILED = "failed"
SIMULATED = "simulated"  # a drill's actuation: shown, never published


class ActionFlow:
    def __init__(self, ctx: CoreContext) -> None:
        self.ctx = ctx

    def apply(self, session: Session, incident: Incident, requests: Sequence[ActionRequest], *, now: datetime,
              requested_by: Actor = SYSTEM, holders: RoleHolders | None = None) -> None:
        """Carry out or record what the walker asked for, in the caller's transaction; ``requested_by`` is the
        person whose step caused the request (they may not confirm it themselves); ``holders``: the transaction's
        role look-ups, when it keeps them."""
        assert incident.id is not None
        for request in requests:
            action = request.action
            if isinstance(action, NotifyRole):
                people = quorum.to_page(session, incident, request.step_id, action.role, at=now,
                                         holders=holders)
                who = "、".join(f"{p.name_zh} {p.name_en}" for p in people) or say("nobody").replace("\n", " ")
                text = f"📣 {role_name(action.role)}: {who}\n{action.message.zh}\n{action.message.en}"
                self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, text, tone="warn"))
            elif isinstance(action, SetSeverity):
                severity = Severity(action.severity)
                service.set_severity(session, incident=incident, severity=severity, actor=SYSTEM,
                                     reason=f"{action.reason.zh} / {action.reason.en}", now=now,
                                     policy=self.ctx.escalation.for_severity(severity))
            else:
                self._record(session, incident.id, request, now=now, requested_by=requested_by.person_id)

    def _record(self, session: Session, incident_id: int, request: ActionRequest, *, now: datetime,
                requested_by: int | None) -> None:
        action = request.action
        if session.exec(select(ActionRun).where(ActionRun.incident_id == incident_id,
                                                ActionRun.key == request.key)).first() is not None:
            return
        confirm_by = action.confirm_by if isinstance(action, MqttPublish) else None
        run = ActionRun(incident_id=incident_id, key=request.key, step_id=request.step_id, kind=action.action,
                        spec=action.model_dump(mode="json"), status=AWAITING if confirm_by else PENDING,
                        confirm_by=confirm_by, created_at=now, requested_by=requested_by)
        session.add(run)
        session.flush()
        assert run.id is not None
        audit.record(session, action="action.requested", actor=SYSTEM, incident_id=incident_id,
                     object_type="action", object_id=str(run.id),
                     after={"kind": run.kind, "spec": run.spec, "status": run.status, "key": request.key,
                            "requested_by": requested_by}, at=now)
        if confirm_by is not None:
            self.ctx.notifier.post(session, incident_id, confirm_card(incident_id, run),
                                   suffix=f"action:{run.id}")

    def sign_url(self, run_id: int) -> str:
        """The signing page of an action that needs a signature to be confirmed."""
        return f"{self.ctx.public_url.rstrip('/')}/sign/action/{run_id}"

    def signing_view(self, *, run_id: int) -> SigningView | None:
        """What the signing page of an action awaiting a signed confirmation shows, or None."""
        with self.ctx.db.reader() as session:
            run = session.get(ActionRun, run_id)
            incident = session.get(Incident, run.incident_id) if run is not None else None
        if run is None or incident is None or run.status != AWAITING or not run.spec.get("signature"):
            return None
        meaning = run.spec["signature"]["meaning"]
        return SigningView(record=f"#{incident.id} {incident.title_zh} / {incident.title_en} · {describe(run)} "
                                  f"{run.spec.get('payload')}", meaning=f"{meaning['zh']} / {meaning['en']}")

    def confirm(self, *, run_id: int, actor: Actor, dedupe_key: str | None, signing: Signing | None = None
                ) -> Reply:
        """Confirm an actuation: the named role, never the person whose step asked for it (four eyes), and
        with an electronic signature where the playbook asks for one. Refusals are audited."""
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                remember(session, dedupe_key, actor)
                run = session.exec(select(ActionRun).where(ActionRun.id == run_id).with_for_update()).first()
                if run is None:
                    return Reply(say("action_unknown", id=run_id), ok=False)
                if run.status != AWAITING:
                    return Reply(say("action_already", status=run.status), ok=False)
                problem = self._confirm_problem(session, run, actor, signing, now=now)
                if problem is not None:
                    audit.record(session, action="signature.refused" if signing else "access.refused", actor=actor,
                                 incident_id=run.incident_id, object_type="action", object_id=str(run.id),
                                 reason=problem.replace("\n", " / "), at=now)
                    return Reply(problem, ok=False)
                run.status, run.confirmed_by = PENDING, actor.person_id
                session.add(run)
                audit.record(session, action="action.confirmed", actor=actor, incident_id=run.incident_id,
                             object_type="action", object_id=str(run.id), before={"status": AWAITING},
                             after={"status": PENDING}, at=now)
                spec = run.spec.get("signature")
                if spec and signing is not None:
                    meaning = (spec["meaning"]["zh"], spec["meaning"]["en"])
                    signatures.record(session, incident_id=run.incident_id, object_type="action",
                                      object_id=str(run.id), actor=actor, meaning=meaning, reason=signing.reason,
                                      record_content={"kind": run.kind, "spec": run.spec, "key": run.key},
                                      method=signing_method(session, actor), now=now)
                    self.ctx.notifier.post(session, run.incident_id, messages.notice(run.incident_id, say(
                        "signed_msg", who=actor.name, meaning_zh=meaning[0], meaning_en=meaning[1],
                        reason=signing.reason.strip())))
                self.ctx.notifier.edit(session, run.incident_id, confirm_card(run.incident_id, run, by=actor.name),
                                       suffix=f"action:{run.id}")
        except DuplicateEvent:
            return Reply(say("duplicate"))
        self.ctx.wake_actions()
        return Reply(say("action_confirmed", who=actor.name))

    def _confirm_problem(self, session: Session, run: ActionRun, actor: Actor, signing: Signing | None, *,
                         now: datetime) -> str | None:
        if run.confirm_by and not actor.has_any_role([run.confirm_by]):
            return say("action_role", role=role_name(run.confirm_by))
        if actor.person_id is None or actor.person_id in four_eyes.askers(session, run):
            return say("action_own_request", role=role_name(run.confirm_by or ""))
        spec = run.spec.get("signature")
        if not spec:
            return None
        assert run.id is not None
        if signing is None:
            return say("action_signature_needed", meaning_zh=spec["meaning"]["zh"],
                       meaning_en=spec["meaning"]["en"], url=self.sign_url(run.id))
        if not signing.reason.strip():
            return say("signature_needs_reason")
        return reauthenticate(session, actor, signing, now=now)

    def claim_due(self, *, limit: int = 20) -> list[ActionRun]:
        """Move runs that are ready to ``running`` and return them; each is handed out once."""
        with self.ctx.db.unit_of_work() as session:
            runs = list(session.exec(select(ActionRun).where(ActionRun.status == PENDING)
                                     .order_by(col(ActionRun.id)).limit(limit).with_for_update()))
            for run in runs:
                run.status = RUNNING
                session.add(run)
        return runs

    def is_drill(self, incident_id: int) -> bool:
        """True for a drill's incident: its actuations are simulated (shown, never published)."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
        return incident is not None and incident.drill

    def finish(self, *, run_id: int, error: str | None, detail: str = "", simulated: bool = False) -> None:
        """Record the outcome of a run and say it in the thread: done only when it happened (``error`` None),
        a failure with its reason and a Retry button otherwise, or simulated (a drill). Audited each way."""
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            run = session.get(ActionRun, run_id)
            assert run is not None and run.id is not None
            run.status, run.done_at, run.error = (FAILED if error else SIMULATED if simulated else DONE), now, error
            session.add(run)
            action = "action.failed" if error else "action.simulated" if simulated else "action.executed"
            audit.record(session, action=action, actor=SYSTEM,
                         incident_id=run.incident_id, object_type="action", object_id=str(run.id),
                         after={"status": run.status, "detail": detail, "error": error, "spec": run.spec}, at=now)
            if error:
                button = Button(label("btn_retry"), callbacks.encode("retry", run.incident_id, str(run.id)),
                                ButtonStyle.DANGER)
                message = OutboundMessage(title=say("action_failed", what=describe(run), error=error)
                                          .replace("\n", " / "), buttons=(button,), incident_id=run.incident_id,
                                          tone="alert")
            elif simulated:
                message = messages.notice(run.incident_id, say("action_simulated", what=describe(run),
                                                               payload=run.spec.get("payload", "")))
            else:
                message = messages.notice(run.incident_id, say("action_done", what=describe(run), detail=detail),
                                          tone="ok")
            self.ctx.notifier.post(session, run.incident_id, message)
        self.ctx.wake_outbox()

    def retry(self, *, run_id: int, actor: Actor, dedupe_key: str | None) -> Reply:
        """A person with the action's confirming role runs a failed action again (never the one who asked)."""
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                remember(session, dedupe_key, actor)
                run = session.exec(select(ActionRun).where(ActionRun.id == run_id).with_for_update()).first()
                if run is None:
                    return Reply(f"没有编号为 {run_id} 的操作 / There is no action {run_id}", ok=False)
                if run.status != FAILED:
                    return Reply(say("action_already", status=run.status), ok=False)
                problem = self._confirm_problem(session, run, actor, None, now=now) if run.confirm_by else None
                if problem is not None:
                    audit.record(session, action="access.refused", actor=actor, incident_id=run.incident_id,
                                 object_type="action", object_id=str(run.id), reason=problem.replace("\n", " / "),
                                 at=now)
                    return Reply(problem, ok=False)
                run.status, run.error, run.done_at = PENDING, None, None
                session.add(run)
                audit.record(session, action="action.retried", actor=actor, incident_id=run.incident_id,
                             object_type="action", object_id=str(run.id), before={"status": FAILED},
                             after={"status": PENDING}, at=now)
                self.ctx.notifier.post(session, run.incident_id, messages.notice(
                    run.incident_id, say("action_retry_msg", who=actor.name, what=describe(run))))
        except DuplicateEvent:
            return Reply(say("duplicate"))
        self.ctx.wake_actions()
        self.ctx.wake_outbox()
        return Reply(say("action_retry_msg", who=actor.name, what=describe(run)))


def describe(run: ActionRun) -> str:
    """A short, readable name of what the run does."""
    return describe_action(run.kind, run.spec)


def describe_action(kind: str, spec: dict[str, Any]) -> str:
    """A short, readable name of a playbook action: ``MQTT <topic>``, ``webhook <url>``, ``playbook <id>``."""
    if kind == "mqtt.publish":
        return f"MQTT {spec.get('topic')}"
    if kind == "webhook":
        return f"webhook {spec.get('url')}"
    if kind == "start_playbook":
        return f"playbook {spec.get('playbook')}"
    return kind


def confirm_card(incident_id: int, run: ActionRun, *, by: str | None = None) -> OutboundMessage:
    """The card that asks the named role to confirm an action; after confirmation, without the button."""
    assert run.id is not None
    payload = run.spec.get("payload")
    fields = ((label("role"), role_name(run.confirm_by or "")), ("payload", str(payload)))
    title = say("action_confirm_title", what=describe(run)).replace("\n", " / ")
    if by is not None:
        return OutboundMessage(title=title, fields=(*fields, ("✅", by)), incident_id=incident_id, tone="ok")
    button = Button(label("btn_confirm"), callbacks.encode("act", incident_id, str(run.id)), ButtonStyle.DANGER)
    return OutboundMessage(title=title, fields=fields, buttons=(button,), incident_id=incident_id, tone="warn")
