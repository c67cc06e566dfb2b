"""Staff shortage from attendance: an absence of a person on shift for a key role (marked in chat, sent by
the API or MQTT ``wareroom/attendance/#``, or a check-in missing by the deadline) opens a staff-shortage
incident and pages qualified substitutes one at a time, in order (on shift elsewhere, then off shift),
until one accepts with ``/cover`` (顶岗); ``/decline`` (不能顶岗) pages the next one.
"""

import json
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select

from handlers import messages
from handlers.incident_flow import IncidentFlow
from handlers.intake import storable
from handlers.ports import ChatEvent, Reply
from handlers.text import role_name, say
from incidents import audit, directory, staffing
from incidents.actors import SYSTEM, Actor
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.staffing import StaffingPolicy, SubstituteOffer
from incidents.tables import Person, Shift
from playbooks.schema import ROLES

RULE = "attendance-below-plan"  # the alert the staff-shortage playbook is started by
PLAYBOOK = "staff-shortage"


class AttendanceRefused(ValueError):
    """An attendance event that cannot be used (unknown person or kind, bad JSON); ``reason`` is bilingual."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StaffDesk:
    def __init__(self, flow: IncidentFlow, policy: StaffingPolicy) -> None:
        self.flow = flow
        self.ctx = flow.ctx
        self.policy = policy

    def commands(self) -> dict[str, Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]]:
        """The chat commands, by name, for ``ChatRouter.register``."""
        return {"absent": self.absent_command, "checkin": self.check_in_command, "cover": self.cover_command,
                "decline": self.decline_command}

    # -- attendance in ---------------------------------------------------------------------------------

    def receive(self, payload: bytes, *, source: str) -> list[int]:
        """An attendance event as JSON ``{"person": login or id, "event": "check_in"|"check_out"|"absent",
        "at"?: ISO 8601, "reason"?: text}`` (MQTT and the API); the incidents it opened. AttendanceRefused
        for anything unusable."""
        try:
            body = json.loads(payload.decode("utf-8"))
            person, kind = storable(str(body["person"])), storable(str(body["event"]))
            at = datetime.fromisoformat(body["at"]) if body.get("at") else self.ctx.now()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AttendanceRefused(f"考勤消息无法解析 / The attendance event could not be read: {exc!r}") from exc
        if at.tzinfo is None:
            raise AttendanceRefused("考勤时间需要时区 / The attendance time needs a timezone offset")
        reason = body.get("reason")
        return self.attendance(person, kind, at=at, source=source, reason=storable(str(reason)) if reason else None)

    def attendance(self, who: str, kind: str, *, at: datetime, source: str, actor: Actor = SYSTEM,
                   reason: str | None = None) -> list[int]:
        """Record one attendance event of the person with login (or id) ``who``; an absence of someone on shift
        for a key role opens a staff-shortage incident. Returns the incidents opened."""
        with self.ctx.db.unit_of_work() as session:
            person = _find(session, who)
            if person is None or person.id is None:
                raise AttendanceRefused(f"人员目录中没有「{who}」 / \"{who}\" is not in the directory")
            try:
                staffing.record(session, person_id=person.id, kind=kind, at=at, source=source, actor=actor,
                                reason=reason)
            except ValueError as exc:
                raise AttendanceRefused(str(exc)) from exc
            shift = staffing.current_shift(session, person.id, at=at)
        if kind != "absent" or shift is None:
            return []
        return self._shortage(person, shift, at=at, reason=reason)

    def tick(self) -> list[int]:
        """Check-ins missing by the policy's deadline count as absences: the incidents opened."""
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            missed = staffing.missed_check_ins(session, self.policy, now=now)
            for person, _shift in missed:
                staffing.record(session, person_id=person.id or 0, kind="absent", at=now, source="check-in deadline",
                                reason="no check-in by the deadline")
        return [i for person, shift in missed for i in self._shortage(person, shift, at=now,
                                                                     reason="no check-in by the deadline")]

    # -- the incident and its substitutes --------------------------------------------------------------

    def _shortage(self, person: Person, shift: Shift, *, at: datetime, reason: str | None) -> list[int]:
        opened = []
        for role in [r for r in person.roles if r in self.policy.key_roles]:
            zh, en = ROLES.get(role, (role, role))
            signal = AlertSignal(
                kind=SignalKind.FIRING, rule_id=RULE, fingerprint=f"staff-shortage:{role}:{person.id}:{shift.id}",
                severity=Severity.SEV3, title_zh=f"关键岗位缺员：{zh} {person.name_zh}",
                title_en=f"Key role uncovered: {en} {person.name_en} absent", at=at, playbook=PLAYBOOK,
                source="staffing", labels={"role": role, "person": str(person.id), "reason": reason or ""})
            incident_id = self.flow.on_signal(signal)
            if incident_id is None:
                continue
            opened.append(incident_id)
            with self.ctx.db.unit_of_work() as session:
                if staffing.offers(session, incident_id=incident_id):
                    continue  # the same absence reported again: the offers stand
                candidates = staffing.substitutes(session, self.policy, role=role, absent=person, at=at)
                for rank, candidate in enumerate(candidates, start=1):
                    session.add(SubstituteOffer(incident_id=incident_id, role=role, absent_person_id=person.id or 0,
                                                person_id=candidate.person.id or 0, rank=rank,
                                                on_shift=candidate.on_shift, status="waiting"))
                session.flush()
                self._page_next(session, incident_id, at=at)
            self.ctx.wake_outbox()
        return opened

    def _page_next(self, session: Session, incident_id: int, *, at: datetime) -> SubstituteOffer | None:
        """Page the first substitute still waiting (audited); say so when nobody is left."""
        waiting = [o for o in staffing.offers(session, incident_id=incident_id) if o.status == "waiting"]
        if not waiting:
            self.ctx.notifier.post(session, incident_id, messages.notice(
                incident_id, say("staff_no_substitute"), tone="alert"))
            return None
        offer = waiting[0]
        offer.status = "paged"
        session.add(offer)
        person = session.get(Person, offer.person_id)
        absent = session.get(Person, offer.absent_person_id)
        assert person is not None and absent is not None
        audit.record(session, action="staffing.substitute_paged", actor=SYSTEM, incident_id=incident_id,
                     object_type="person", object_id=str(person.id),
                     after={"role": offer.role, "rank": offer.rank, "on_shift": offer.on_shift}, at=at)
        where_zh, where_en = ("当班", "on shift") if offer.on_shift else ("休班", "off shift")
        self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, say(
            "staff_page_msg", who=f"{person.name_zh} {person.name_en}", role=role_name(offer.role),
            absent=f"{absent.name_zh} {absent.name_en}", where_zh=where_zh, where_en=where_en, id=incident_id),
            tone="warn"))
        return offer

    # -- commands --------------------------------------------------------------------------------------

    def absent_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/absent <login> [reason]``: mark a person absent (a key role on shift opens a shortage incident)."""
        if not args:
            return Reply(say("absent_usage"), ok=False)
        reason = " ".join(args[1:]).strip() or None
        try:
            opened = self.attendance(args[0].lstrip("@"), "absent", at=self.ctx.now(), source="chat", actor=actor,
                                     reason=reason)
        except AttendanceRefused as exc:
            return Reply(exc.reason, ok=False)
        return Reply(say("absent_msg", who=args[0], incidents=", ".join(f"#{i}" for i in opened) or "-"))

    def check_in_command(self, actor: Actor, _event: ChatEvent, _args: tuple[str, ...]) -> Reply:
        """``/checkin``: the person checks in for their shift."""
        with self.ctx.db.unit_of_work() as session:
            staffing.record(session, person_id=actor.person_id or 0, kind="check_in", at=self.ctx.now(),
                            source="chat", actor=actor)
        return Reply(say("checked_in_msg", who=actor.name))

    def cover_command(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/cover [id]``: the paged (or any proposed) substitute accepts; the others are withdrawn and the
        substitute is put on the roster until the absent person's shift ends."""
        return self._decide(actor, event, args, accept=True)

    def decline_command(self, actor: Actor, event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/decline [id] [reason]``: the substitute cannot come; the next one is paged."""
        return self._decide(actor, event, args, accept=False)

    def _decide(self, actor: Actor, event: ChatEvent, args: tuple[str, ...], *, accept: bool) -> Reply:
        incident_id = int(args[0].lstrip("#")) if args and args[0].lstrip("#").isdigit() else event.incident_id
        if incident_id is None:
            return Reply(say("no_incident"), ok=False)
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            listed = staffing.offers(session, incident_id=incident_id)
            mine = next((o for o in listed if o.person_id == actor.person_id and o.status in ("waiting", "paged")),
                        None)
            if mine is None or any(o.status == "accepted" for o in listed):
                return Reply(say("staff_no_offer", id=incident_id), ok=False)
            mine.status, mine.decided_at = ("accepted" if accept else "declined"), now
            session.add(mine)
            audit.record(session, action=f"staffing.substitute_{mine.status}", actor=actor, incident_id=incident_id,
                         object_type="person", object_id=str(actor.person_id), after={"role": mine.role}, at=now)
            if accept:
                for other in listed:
                    if other is not mine and other.status in ("waiting", "paged"):
                        other.status = "withdrawn"
                        session.add(other)
                self._roster(session, mine, actor, now=now)
                text = say("staff_cover_msg", who=actor.name, role=role_name(mine.role))
                self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="ok"))
            else:
                text = say("staff_decline_msg", who=actor.name)
                self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
                if mine.status == "declined" and not any(o.status == "paged" for o in listed):
                    self._page_next(session, incident_id, at=now)
        self.ctx.wake_outbox()
        return Reply(text)

    def _roster(self, session: Session, offer: SubstituteOffer, actor: Actor, *, now: datetime) -> None:
        """Put the substitute on shift until the absent person's shift ends (if not on shift already)."""
        absent_shift = staffing.current_shift(session, offer.absent_person_id, at=now)
        if absent_shift is None or staffing.current_shift(session, offer.person_id, at=now) is not None:
            return
        directory.add_shift(session, person_id=offer.person_id, starts_at=now, ends_at=absent_shift.ends_at, by=actor)


def _find(session: Session, who: str) -> Person | None:
    if who.isdigit():
        return session.get(Person, int(who))
    return session.exec(select(Person).where(Person.login == who.lower())).first()

