"""Every platform's commands and button clicks, handled once: ChatEvent in, Reply out."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError

from handlers import alarm_view, callbacks, dedupe, drills, messages
from handlers.authz import authorize
from handlers.context import CoreContext
from handlers.evidence_flow import EvidenceFlow
from handlers.i18n import for_reader, reading, shared_language
from handlers.incident_command import IncidentCommandDesk
from handlers.incident_flow import IncidentFlow
from handlers.milestone_desk import MilestoneDesk
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, PhotoSent, Reply
from handlers.refusals import refusal_text
from handlers.review import FORMATS, review_url
from handlers.stock import StockDesk
from handlers.text import label, say
from handlers.timeline_notes import NoteDesk
from incidents import audit, directory, service
from incidents.actors import Actor
from incidents.identity import codes
from incidents.lifecycle import Transition
from incidents.permissions import Permission

log = logging.getLogger(__name__)

ALIASES: dict[str, str] = {
    "ack": "ack", "确认": "ack", "认领": "ack",
    "status": "status", "状态": "status",
    "done": "done", "完成": "done",
    "resolve": "resolve", "解决": "resolve",
    "mitigate": "mitigate", "处置": "mitigate",
    "close": "close", "关闭": "close",
    "reopen": "reopen", "重开": "reopen",
    "help": "help", "帮助": "help",
    "skip": "skip", "跳过": "skip",
    "claim": "claim",
    "incident": "incident", "事件": "incident", "发起": "incident",
    "stock": "stock", "查库存": "stock", "库存": "stock",
    "review": "review", "复盘": "review",
    "silence": "silence", "静默": "silence", "silences": "silences", "静默列表": "silences",
    "unsilence": "unsilence", "取消静默": "unsilence",
    "link": "link", "关联": "link", "绑定": "link",
    "unack": "unack", "取消确认": "unack",
    # incidents-b: alarm states (ISA-18.2)
    "alarms": "alarms", "告警": "alarms", "ackalarm": "ackalarm", "确认告警": "ackalarm", "reset": "reset",
    "复位": "reset", "shelve": "shelve", "搁置": "shelve", "unshelve": "unshelve", "取消搁置": "unshelve",
    "oos": "oos", "停用": "oos", "inservice": "inservice", "恢复使用": "inservice",
    "severity": "severity", "级别": "severity", "定级": "severity",
    "assign": "assign", "指派": "assign", "handover": "handover", "移交": "handover",
    "note": "note", "备注": "note", "记录": "note",
    "milestones": "milestones", "里程碑": "milestones", "milestone": "milestone", "修改里程碑": "milestone",
    "absent": "absent", "缺勤": "absent", "checkin": "checkin", "签到": "checkin", "cover": "cover", "顶岗": "cover",
    "decline": "decline", "不能顶岗": "decline",
}
P = Permission
COMMAND_PERMISSIONS: dict[str, Permission | None] = {
    "ack": P.ACKNOWLEDGE, "mitigate": P.MITIGATE, "resolve": P.RESOLVE, "close": P.CLOSE, "reopen": P.REOPEN,
    "done": P.STEP, "claim": P.STEP, "skip": P.SKIP_STEP, "incident": P.DECLARE,
    "status": P.READ, "stock": P.READ, "review": P.EXPORT_REVIEW, "help": None,
    "silence": P.SILENCE, "silences": P.READ, "unsilence": P.SILENCE,
    "unack": P.ACKNOWLEDGE,
    "alarms": P.READ, "ackalarm": P.ACKNOWLEDGE, "reset": P.ACKNOWLEDGE, "shelve": P.SILENCE,
    "unshelve": P.SILENCE, "oos": P.SILENCE, "inservice": P.SILENCE,
    "severity": P.CHANGE_SEVERITY, "assign": P.ASSIGN_COMMANDER, "handover": P.ACKNOWLEDGE,  # the commander's own
    "note": P.STEP,
    "milestones": P.READ, "milestone": P.EDIT_MILESTONES,
    "absent": P.DECLARE, "checkin": None, "cover": P.STEP, "decline": P.STEP,
}
"""Every chat and API command and the permission it needs (None: any person in the directory).
A command that is not listed here cannot be registered."""
BUTTON_PERMISSIONS: dict[str, Permission] = {
    "ack": P.ACKNOWLEDGE, "resolve": P.RESOLVE, "claim": P.STEP, "skip": P.SKIP_STEP, "done": P.STEP,
    "act": P.CONFIRM_ACTUATION, "sign": P.STEP, "retry": P.CONFIRM_ACTUATION, "photo": P.STEP,
}
"""Every button verb (``handlers.callbacks``) and the permission it needs."""
OVERRIDE_WORDS = ("override", "强制", "越过")
_WIDE = str.maketrans({"／": "/", "\u3000": " ", "＠": "@"})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...]


def parse_command(text: str) -> ParsedCommand | None:
    """``/ack 12``, ``／状态``, ``/status@wareroom_bot``, ``完成``: tolerant of full-width slashes and spaces."""
    cleaned = _SPACES.sub(" ", text.translate(_WIDE)).strip()
    if not cleaned:
        return None
    head, *rest = cleaned.split(" ")
    had_slash = head.startswith("/")
    word = head.lstrip("/").split("@", 1)[0].lower()
    if word in ALIASES:
        return ParsedCommand(ALIASES[word], tuple(rest))
    return ParsedCommand(word, tuple(rest)) if had_slash else None


class ChatRouter:
    """Resolves who acted, then runs the use case the event asks for."""

    def __init__(self, ctx: CoreContext, flow: IncidentFlow, playbooks: PlaybookFlow, public_url: str = "",
                 evidence: EvidenceFlow | None = None) -> None:
        self.ctx = ctx
        self.evidence = evidence
        self.flow = flow
        self.playbooks = playbooks
        self._commands: dict[str, Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]] = {}
        self.stock = StockDesk(ctx.db, timezone=ctx.timezone, now=ctx.now)
        self.drills = drills.DrillDesk(ctx, flow, playbooks)
        for name, command in IncidentCommandDesk(ctx, flow).commands().items():
            self.register(name, command)
        self.register("note", NoteDesk(ctx).note)
        self.public_url = public_url
        self.milestones = MilestoneDesk(ctx, flow)
        for name, command in {
            "milestones": self.milestones.list_command, "milestone": self.milestones.edit_command,
            "ack": self._ack, "resolve": self._resolve, "mitigate": self._mitigate,
            "status": self._status, "done": self._done,
            "help": lambda *_: Reply(say("help")),
            "skip": self._skip, "claim": self._claim, "incident": self._declare,
            "close": self._close, "reopen": self._reopen, "stock": self._stock, "review": self._review,
            "unack": lambda actor, event, args: self._change(actor, event, args, Transition.UNACKNOWLEDGE),
        }.items():
            self.register(name, command)

    def register(self, name: str, command: Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]) -> None:
        """Serve command ``name`` (its aliases are in ALIASES) from another part of the core, e.g. the intake.

        The command must be listed in COMMAND_PERMISSIONS: ``handle`` checks that permission first.
        """
        if name not in COMMAND_PERMISSIONS:
            raise KeyError(f"command {name!r} has no entry in handlers.commands.COMMAND_PERMISSIONS")
        self._commands[name] = command

    def handle(self, event: ChatEvent) -> Reply:
        """The single entry point for every adapter: the request's identity is recorded before it acts."""
        if not event.dedupe_key:
            return self._handle(event)
        if not dedupe.claim(self.ctx.db, event.dedupe_key, platform=event.platform):
            log.info("ignored a repeated %s request %s", event.platform, event.dedupe_key)
            return Reply(for_reader(say("duplicate"), self._language_of(event)))
        try:
            return self._handle(replace(event, dedupe_key=""))  # recorded here: the use cases need not
        except Exception:
            dedupe.release(self.ctx.db, event.dedupe_key)
            raise

    def _handle(self, event: ChatEvent) -> Reply:
        """Who is it, may they, then the use case."""
        if isinstance(event, CommandInvoked) and ALIASES.get(event.name, event.name) == "link":
            return self._link(event)
        actor = self._identify(event)
        if actor is None:
            return Reply(say("unknown_account"), ok=False)
        reply = self._act(actor, event)
        return Reply(for_reader(reply.text, actor.language), ok=reply.ok)  # an answer to them alone: their language

    def _act(self, actor: Actor, event: ChatEvent) -> Reply:
        """May they, then the use case."""
        try:
            if isinstance(event, ButtonClicked):
                action = callbacks.decode(event.token)
                permission = BUTTON_PERMISSIONS.get(action.verb)
                if permission is None:
                    raise callbacks.BadToken(event.token)
                refusal = authorize(self.ctx, actor, permission, incident_id=action.incident_id)
                return refusal or self._button(actor, event)
            if isinstance(event, PhotoSent):  # a picture for a step: the same permission as /done
                refusal = authorize(self.ctx, actor, P.STEP, incident_id=event.incident_id)
                if refusal is not None:
                    return refusal
                return self.evidence.receive(actor, event) if self.evidence else Reply(say("photo_off"), ok=False)
            if isinstance(event, CommandInvoked):
                name = ALIASES.get(event.name, event.name)
                command = self._commands.get(name)
                if command is None:
                    return Reply(say("unknown_command", name=event.name), ok=False)
                needed = COMMAND_PERMISSIONS[name]
                refusal = authorize(self.ctx, actor, needed, incident_id=event.incident_id) if needed else None
                return refusal or command(actor, event, event.args)
        except callbacks.BadToken as exc:
            return Reply(str(exc), ok=False)
        except IntegrityError:
            return Reply(say("duplicate"))
        return Reply(say("help"))

    def _language_of(self, event: ChatEvent) -> str:
        """What the person behind ``event`` reads (the shared language when unknown); nothing is audited."""
        with self.ctx.db.reader() as session:
            actor = directory.actor_by_id(session, event.actor.person_id, platform=event.platform) \
                if event.actor.person_id is not None else \
                directory.resolve(session, platform=event.platform, platform_user_id=event.actor.user_id)
        return actor.language if actor is not None else shared_language()

    def _identify(self, event: ChatEvent) -> Actor | None:
        """The person behind the event: verified by the edge (web session, API token) or by the directory's
        link of the platform user id; None (refusal audited) otherwise."""
        with self.ctx.db.unit_of_work() as session:
            if event.actor.person_id is not None:
                actor = directory.actor_by_id(session, event.actor.person_id, platform=event.platform,
                                              platform_user_id=event.actor.user_id)
            else:
                actor = directory.resolve(session, platform=event.platform, platform_user_id=event.actor.user_id)
            if actor is None:
                log.warning("refused %s user %s: not in the directory", event.platform, event.actor.user_id)
                audit.record(session, action="access.refused", incident_id=event.incident_id,
                             actor=Actor(person_id=None, name=event.actor.display_name or "unknown",
                                         platform=event.platform, platform_user_id=event.actor.user_id),
                             reason="platform user is not linked to an active person in the directory")
        return actor

    def _link(self, event: CommandInvoked) -> Reply:
        """``/link CODE``: bind the sending platform account to the person the code was made for."""
        if event.actor.person_id is not None:
            return Reply(say("link_not_here"), ok=False)
        if not event.args:
            return Reply(say("link_usage"), ok=False)
        with self.ctx.db.unit_of_work() as session:
            outcome = codes.redeem_link(session, code=event.args[0], platform=event.platform,
                                        platform_user_id=event.actor.user_id,
                                        display_name=event.actor.display_name, now=self.ctx.now())
        if outcome.person is None:
            return Reply(say(outcome.problem, who=outcome.detail), ok=False)
        return Reply(for_reader(say("link_done", platform=event.platform,
                                    who=f"{outcome.person.name_zh} {outcome.person.name_en}"), outcome.person.language))

    def _button(self, actor: Actor, event: ButtonClicked) -> Reply:
        action = callbacks.decode(event.token)
        if action.verb == "ack":
            return self.flow.change(incident_id=action.incident_id, change=Transition.ACKNOWLEDGE, actor=actor,
                                    dedupe_key=event.dedupe_key)
        if action.verb == "resolve":
            return self.flow.change(incident_id=action.incident_id, change=Transition.RESOLVE, actor=actor,
                                    dedupe_key=event.dedupe_key)
        if action.verb == "claim":
            return self.playbooks.claim(incident_id=action.incident_id, step_id=action.arg or None, actor=actor,
                                        dedupe_key=event.dedupe_key)
        if action.verb == "skip":
            return Reply(say("skip_needs_reason", step=action.arg), ok=False)
        if action.verb == "act" and action.arg.isdigit():
            return self.playbooks.actions.confirm(run_id=int(action.arg), actor=actor, dedupe_key=event.dedupe_key)
        if action.verb == "retry" and action.arg.isdigit():
            return self.playbooks.actions.retry(run_id=int(action.arg), actor=actor, dedupe_key=event.dedupe_key)
        if action.verb == "photo":  # chat cannot open a camera: say where the picture goes
            return Reply(say("photo_how"))
        if action.verb == "sign":
            return self.playbooks.signature_link(incident_id=action.incident_id, step_id=action.arg)
        if action.verb == "done":
            step_id, _, answer = action.arg.partition("=")
            return self.playbooks.complete(incident_id=action.incident_id, step_id=step_id or None, actor=actor,
                                           dedupe_key=event.dedupe_key, answer=answer or None)
        raise callbacks.BadToken(event.token)

    def _target(self, event: ChatEvent, args: tuple[str, ...]) -> int | None:
        if args and args[0].lstrip("#").isdigit():
            return int(args[0].lstrip("#"))
        return event.incident_id

    def _ack(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/ack [id] [comment]``: the comment is kept in the audit row and the review."""
        incident_id = self._target(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        comment = " ".join(args[1:] if args and args[0].lstrip("#").isdigit() else args).strip()
        return self.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=actor,
                                reason=comment or None, dedupe_key=event.dedupe_key)

    def _resolve(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/resolve [id] [override reason]``: unfinished steps block it unless overridden with a reason."""
        return self._closing(actor, event, args, Transition.RESOLVE)

    def _close(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        return self._closing(actor, event, args, Transition.CLOSE)

    def _closing(self, actor: Actor, event: ChatEvent, args: tuple[str, ...], change: Transition) -> Reply:
        incident_id = self._target(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        rest = list(args[1:] if args and args[0].lstrip("#").isdigit() else args)
        override = bool(rest) and rest[0].lower() in OVERRIDE_WORDS
        reason = " ".join(rest[1:] if override else rest).strip()
        return self.flow.change(incident_id=incident_id, change=change, actor=actor, reason=reason or None,
                                dedupe_key=event.dedupe_key, override=override)

    def _reopen(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/reopen [id] reason``: the reason is part of the record."""
        incident_id = self._target(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        reason = " ".join(args[1:] if args and args[0].lstrip("#").isdigit() else args)
        return self.flow.change(incident_id=incident_id, change=Transition.REOPEN, actor=actor, reason=reason,
                                dedupe_key=event.dedupe_key)

    def _mitigate(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        return self._change(actor, event, args, Transition.MITIGATE)

    def _change(self, actor: Actor, event: ChatEvent, args: tuple[str, ...], change: Transition) -> Reply:
        incident_id = self._target(event, args)
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        return self.flow.change(incident_id=incident_id, change=change, actor=actor, dedupe_key=event.dedupe_key)

    def _done(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/done``, ``/done 7.9``, ``/done verify 7.9``: an optional step id, then the answer."""
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        step_id, answer = self._step_and_rest(event, args)
        return self.playbooks.complete(incident_id=event.incident_id, step_id=step_id, actor=actor,
                                       dedupe_key=event.dedupe_key, answer=answer or None)

    def _step_and_rest(self, event: ChatEvent, args: tuple[str, ...]) -> tuple[str | None, str]:
        """``[step-id] rest…``: the first word is a step id only when it names a current step."""
        assert event.incident_id is not None
        if args and self.playbooks.is_current(event.incident_id, args[0]):
            return args[0], " ".join(args[1:])
        return None, " ".join(args)

    def _skip(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/skip [step] reason``: the reason is required."""
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        step_id, reason = self._step_and_rest(event, args)
        if not reason.strip():
            return Reply(say("skip_needs_reason", step=step_id or "<step>"), ok=False)
        return self.playbooks.skip(incident_id=event.incident_id, step_id=step_id, actor=actor,
                                   dedupe_key=event.dedupe_key, reason=reason.strip())

    def _claim(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        step_id, _ = self._step_and_rest(event, args)
        return self.playbooks.claim(incident_id=event.incident_id, step_id=step_id, actor=actor,
                                    dedupe_key=event.dedupe_key)

    def _declare(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/incident fire D1 [details…]``: start a playbook by hand for a zone; ``--drill`` (演练) anywhere
        makes it a drill, ``--at 14:30`` (or an ISO time) schedules that drill (``handlers.drills``)."""
        drill, at, args = drills.parse_drill(args)
        if at is not None:  # only a drill is planned ahead; a real incident is declared when it happens
            return self.drills.schedule_text(args, at=at, actor=actor) if drill else Reply(say("drill_usage"), ok=False)
        if not args:
            return Reply(say("help"), ok=False)
        playbook_id = self.playbooks.for_command(args[0])
        if playbook_id is None:
            known = ", ".join(sorted(a for p in self.playbooks.library.values() for a in p.playbook.triggers.commands))
            return Reply(say("no_playbook_alias", name=args[0], known=known), ok=False)
        zone = args[1] if len(args) > 1 else None
        return self.flow.declare(playbook_id=playbook_id, zone=zone, note=" ".join(args[2:]), actor=actor,
                                 dedupe_key=event.dedupe_key, drill=drill)

    def _status(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        incident_id = self._target(event, args)
        with self.ctx.db.reader() as session:
            if incident_id is None:
                rows = service.list_incidents(session, open_only=True, limit=10)
                unacked = alarm_view.returned_unacknowledged(session)  # in view until acknowledged, even if resolved
                rows += [service.get_incident(session, incident_id=i) for i in unacked if i not in {r.id for r in rows}]
                if not rows:
                    return Reply(say("no_open_incidents"))
                with reading(actor.language):  # an answer to them alone
                    return Reply("\n".join(f"#{i.id} {i.severity} {label(f'status_{i.status}')} · "
                                           f"{messages.title_text(i)}"
                                           + (" " + say("alarms_need_ack", count=unacked[i.id],
                                                        id=i.id).replace("\n", " ") if i.id in unacked else "")
                                           for i in rows))
            try:
                incident = service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                return Reply(refusal_text(exc), ok=False)
            with reading(actor.language):  # an answer to them alone, posting nothing to the thread
                return Reply(self.flow.header(session, incident).plain_text())

    def _stock(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/stock SKU``, ``查库存 胰岛素``, ``库存 6901234567892``: one item's stock."""
        with reading(actor.language):
            return self.stock.reply(" ".join(args))

    def _review(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/review [id]``: links to the incident's post-incident review in every format (HTML first)."""
        incident_id = self._target(event, args)
        if incident_id is None:
            return Reply(say("review_usage"), ok=False)
        with self.ctx.db.reader() as session:
            try:
                service.get_incident(session, incident_id=incident_id)
            except service.IncidentNotFound as exc:
                return Reply(refusal_text(exc), ok=False)
        links = [f"{fmt.upper()}: {review_url(self.public_url, incident_id, fmt)}" for fmt in FORMATS]
        with reading(actor.language):
            return Reply("\n".join([say("review_links", incident_id=incident_id), *links]))
