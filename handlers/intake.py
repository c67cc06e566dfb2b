"""Readings, stock levels and external alerts in, incidents out: the rules engine's decisions applied to
the domain, with Alertmanager-style noise control in between (silences, inhibition, grouping).

The engine keeps its state in memory and decides cheaply; the database is written only when a
signal changes something (an incident opens or joins, a condition clears) or input is unusable.
A grouped alert waits in memory for its group (``group_wait``), as a ``for`` duration does in the
engine; life-safety (SEV1) alerts never wait and are never muted.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers import messages
from handlers.incident_flow import IncidentFlow
from handlers.ports import ChatEvent, Reply
from handlers.sampling import SampleKeeper
from handlers.text import local_time, say
from incidents import audit, service, silences
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.inventory.samples import record_samples
from incidents.readings import Reading, StockLevel
from incidents.rules.engine import RuleEngine
from incidents.rules.external import AlertAction, ExternalAlert
from incidents.rules.grouping import Grouper, GroupFlush
from incidents.rules.inhibition import ActiveSource, Inhibitor
from incidents.rules.noise import GroupRoute, Inhibition
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import DeadLetter
from playbooks.durations import duration_seconds

log = logging.getLogger(__name__)
_NAMES_SHOWN = 10  # alerts named in a grouped message; the rest are counted


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that could not be used, and why (kept as a dead letter)."""

    source: str
    topic: str
    payload: str
    reason: str


@dataclass
class IntakeStats:
    readings: int = 0
    stock_levels: int = 0
    signals: int = 0
    rejected: int = 0
    silenced: int = 0
    inhibited: int = 0
    grouped: int = 0
    unknown_devices: set[str] = field(default_factory=set)


class Intake:
    def __init__(self, db: Database, engine: RuleEngine, flow: IncidentFlow, *,
                 grouping: Sequence[GroupRoute] = (), inhibit: Sequence[Inhibition] = ()) -> None:
        self.db = db
        self.engine = engine
        self.flow = flow
        self.ctx = flow.ctx
        self.stats = IntakeStats()
        self.samples = SampleKeeper()
        self.grouper = Grouper(list(grouping))
        self.inhibitor = Inhibitor(list(inhibit))
        self._muted: dict[str, AlertSignal] = {}  # fingerprint → the firing signal nobody was told of
        self._announced: set[tuple[str, int]] = set()  # (inhibition id, source incident) said once
        self._silences: list[silences.ActiveSilence] | None = None  # loaded on first use

    def readings(self, readings: Iterable[Reading]) -> list[int]:
        """Feed readings to the rules; returns the incidents they opened or touched."""
        touched: list[int] = []
        known: list[Reading] = []
        for reading in readings:
            self.stats.readings += 1
            for signal in self.engine.observe(reading):
                touched.extend(self.signal(signal))
            if self.engine.has_device(reading.sensor):
                known.append(reading)
        self._note_unknown()
        kept = self.samples.keep(known)
        if kept:
            with self.db.unit_of_work() as session:
                record_samples(session, kept, live=self.samples.watched)
        return touched

    def stock(self, level: StockLevel) -> list[int]:
        """Feed one stock level (from the inventory side) to the stock rules."""
        self.stats.stock_levels += 1
        return [i for signal in self.engine.observe_stock(level) for i in self.signal(signal)]

    def tick(self) -> list[int]:
        """Let time pass: ``for`` durations and offline sensors, expired silences, groups that are due."""
        now = self.ctx.now()
        touched = [i for signal in self.engine.tick(now) for i in self.signal(signal)]
        self._load_silences(now)
        touched += self._release(now)
        for flush in self.grouper.due(now.timestamp()):
            touched += self._flush(flush)
        return touched

    def signal(self, signal: AlertSignal) -> list[int]:
        """Apply one signal (from the rules or an external system) through silences, inhibition and grouping."""
        self.stats.signals += 1
        self.samples.watch(signal)
        signal = self.grouper.route(signal)
        if signal.kind is SignalKind.RESOLVED:
            if self._muted.pop(signal.fingerprint, None) is not None or self.grouper.discard(signal):
                return []  # nobody was told it fired
            return self._deliver(signal)
        if self._mute(signal, self.ctx.now()):
            return []
        return self._group_or_deliver(signal)

    def external(self, alert: ExternalAlert) -> int | None:
        """An alert raised by another system: trigger opens or joins, resolve clears, acknowledge acks."""
        fingerprint = f"{alert.source}:{alert.dedup_key}"
        if alert.action is AlertAction.ACKNOWLEDGE:
            return self.flow.acknowledge_external(dedup_key=fingerprint, source=alert.source)
        labels = dict(alert.labels)
        rule = labels.get("alertname") or labels.get("rule") or alert.source
        signal = AlertSignal(
            kind=SignalKind.RESOLVED if alert.action is AlertAction.RESOLVE else SignalKind.FIRING,
            rule_id=rule, fingerprint=fingerprint, severity=alert.severity or Severity.SEV3,
            title_zh=alert.title_zh or alert.title_en or rule, title_en=alert.title_en or alert.title_zh or rule,
            at=alert.at, site=labels.get("site"), zone=labels.get("zone"), sensor=labels.get("instance"),
            metric=labels.get("metric"), playbook=labels.get("playbook") or self.flow.playbooks.for_alert(rule),
            source=alert.source, labels=labels,
        )
        touched = self.signal(signal)
        return touched[0] if touched else None

    def reject(self, rejected: Iterable[Rejected]) -> None:
        """Keep unusable input with its reason; the next message is processed normally."""
        rows = [DeadLetter(source=r.source, topic=r.topic, payload=r.payload[:65_536], reason=r.reason)
                for r in rejected]
        if not rows:
            return
        self.stats.rejected += len(rows)
        for row in rows:
            log.warning("rejected %s message on %s: %s", row.source, row.topic, row.reason)
        with self.db.unit_of_work() as session:
            session.add_all(rows)

    # -- chat commands: /silence D1 30m reason, /silences, /unsilence 3 -------------------------------

    def commands(self) -> dict[str, Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]]:
        """The chat commands the intake serves, by name, for ``ChatRouter.register``."""
        return {"silence": self.silence_command, "silences": self.silences_command,
                "unsilence": self.unsilence_command}

    def silence_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/silence <site|zone|device|rule> <duration> <reason>``: mute those alerts for a while."""
        if len(args) < 3:
            return Reply(say("silence_usage"), ok=False)
        target, length, reason = args[0], args[1], " ".join(args[2:])
        if not self.engine.knows(target):
            log.warning("refused silence of unknown target %r by %s", target, actor.name)
            return Reply(say("silence_unknown_target", target=target), ok=False)
        now = self.ctx.now()
        try:
            duration = timedelta(seconds=duration_seconds(length))
            with self.db.unit_of_work() as session:
                made = silences.add_silence(session, target=target, duration=duration, comment=reason, actor=actor,
                                            now=now)
        except ValueError:
            log.warning("refused silence of %s for %r by %s", target, length, actor.name)
            return Reply(say("silence_bad_duration", value=length), ok=False)
        self._load_silences(now)
        return Reply(say("silenced_msg", who=actor.name, target=target, id=made.id, reason=made.comment,
                         until=local_time(made.ends_at, self.ctx.timezone)))

    def silences_command(self, _actor: Actor, _event: ChatEvent, _args: tuple[str, ...]) -> Reply:
        """``/silences``: the silences in force."""
        with self.db.reader() as session:
            rows = silences.active_silences(session, now=self.ctx.now())
        if not rows:
            return Reply(say("silences_none"))
        lines = [f"#{s.id} {s.target} → {local_time(s.ends_at, self.ctx.timezone)} · {s.author_name}: {s.comment}"
                 for s in rows]
        return Reply("\n".join([say("silences_title"), *lines]))

    def unsilence_command(self, actor: Actor, _event: ChatEvent, args: tuple[str, ...]) -> Reply:
        """``/unsilence <id>``: end a silence early; alerts it held that still fire are raised now."""
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            return Reply(say("unsilence_usage"), ok=False)
        silence_id, now = int(args[0].lstrip("#")), self.ctx.now()
        try:
            with self.db.unit_of_work() as session:
                ended = silences.end_silence(session, silence_id=silence_id, actor=actor, now=now)
        except silences.SilenceNotFound:
            return Reply(say("silence_not_found", id=silence_id), ok=False)
        self._load_silences(now)
        self._release(now)
        return Reply(say("unsilenced_msg", who=actor.name, id=silence_id, target=ended.target))

    # -- noise control ------------------------------------------------------------------------------

    def _mute(self, signal: AlertSignal, now: datetime) -> bool:
        """Hold a firing signal that a silence or an inhibiting alert mutes; True if held. A flapping
        signal is about an alert people were already told of, so it is never held."""
        if signal.severity is Severity.SEV1 or signal.flapping:
            return False
        if self._silenced(signal, now):
            self.stats.silenced += 1
        else:
            source = self.inhibitor.muted_by(signal)
            if source is None:
                return False
            self.stats.inhibited += 1
            self._announce_inhibition(source, now)
        self._muted[signal.fingerprint] = signal
        return True

    def _release(self, now: datetime) -> list[int]:
        """Raise the held signals whose silence ended or whose inhibiting alert cleared."""
        touched: list[int] = []
        for fingerprint, signal in list(self._muted.items()):
            if not self._silenced(signal, now) and self.inhibitor.muted_by(signal) is None:
                del self._muted[fingerprint]
                touched += self._group_or_deliver(signal)
        return touched

    def _silenced(self, signal: AlertSignal, now: datetime) -> bool:
        if self._silences is None:
            self._load_silences(now)
        return any(s.mutes(signal) and s.ends_at > now for s in self._silences or ())

    def _group_or_deliver(self, signal: AlertSignal) -> list[int]:
        if self.grouper.hold(signal, self.ctx.now().timestamp()):
            self.stats.grouped += 1
            return []
        return self._deliver(signal)

    def _deliver(self, signal: AlertSignal) -> list[int]:
        log.info("%s %s %s at %s", signal.kind, signal.rule_id, signal.sensor or signal.fingerprint, signal.at)
        incident_id = self.flow.on_signal(signal)
        self.inhibitor.observe(signal, incident_id)
        if incident_id is None:
            return []
        if signal.flapping:
            self._post(incident_id, say("flapping_msg", title_zh=signal.title_zh, title_en=signal.title_en),
                       action="alert.flapping", after={"rule": signal.rule_id, "sensor": signal.sensor})
        return [incident_id]

    def _flush(self, flush: GroupFlush) -> list[int]:
        """Apply a due group: the most urgent alert through the usual flow, the rest joined in one
        transaction with one message that names them."""
        ordered = sorted(flush.signals, key=lambda s: (s.severity.rank, s.at))
        touched = self._deliver(ordered[0])
        if not touched or len(ordered) == 1:
            return touched
        incident_id, now = touched[0], self.ctx.now()
        names = [s.sensor or s.fingerprint for s in ordered]
        more = len(names) - _NAMES_SHOWN
        shown = ", ".join(names[:_NAMES_SHOWN]) + (f" … +{more}" if more > 0 else "")
        with self.db.unit_of_work() as session:
            for signal in ordered[1:]:
                policy = self.ctx.escalation.for_severity(signal.severity)
                service.open_or_join(session, signal=signal, policy=policy, playbook=None, now=now)
            self.ctx.notifier.post(session, incident_id, messages.notice(
                incident_id, say("grouped_msg", count=len(ordered), names=shown), tone="alert"))
            incident = service.get_incident(session, incident_id=incident_id)
            self.ctx.notifier.update_header(session, incident_id, self.flow.header(session, incident))
        for signal in ordered[1:]:
            self.inhibitor.observe(signal, incident_id)
        self.ctx.wake_outbox()
        return touched

    def _announce_inhibition(self, source: ActiveSource, now: datetime) -> None:
        """Say once in the source incident's thread that it mutes the alerts it causes."""
        key = (source.inhibition.id, source.incident_id)
        if key in self._announced:
            return
        self._announced.add(key)
        target = source.inhibition.target
        targets = ", ".join(target.types or target.rules or target.metrics or ["*"])
        scope = " / ".join(value or "-" for value in source.scope)
        self._post(source.incident_id, say("inhibiting_msg", scope=scope, targets=targets), action="alerts.inhibited",
                   after={"inhibition": source.inhibition.id, "scope": scope}, now=now)

    def _post(self, incident_id: int, text: str, *, action: str, after: dict[str, object],
              now: datetime | None = None) -> None:
        """One notice in an incident's thread, audited in the same transaction."""
        with self.db.unit_of_work() as session:
            audit.record(session, action=action, actor=SYSTEM, incident_id=incident_id, after=after,
                         at=now or self.ctx.now())
            self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="warn"))
        self.ctx.wake_outbox()

    def _load_silences(self, now: datetime) -> None:
        """Close expired silences (audited) and cache the ones in force for the hot path."""
        with self.db.unit_of_work() as session:
            silences.expire_silences(session, now=now)
            self._silences = [silences.ActiveSilence(s.id or 0, s.target, s.ends_at)
                              for s in silences.active_silences(session, now=now)]

    def _note_unknown(self) -> None:
        unknown = set(self.engine.unknown_devices)
        new = unknown - self.stats.unknown_devices
        if new:
            self.stats.unknown_devices |= new
            self.reject(Rejected("mqtt", device, "", f"device {device!r} is not in the device registry")
                        for device in sorted(new))
