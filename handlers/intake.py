"""Readings, stock levels and external alerts in, incidents out: the rules engine's decisions applied to
the domain, with Alertmanager-style noise control in between (silences, inhibition, grouping).

The engine keeps its state in memory and decides cheaply; the database is written only when a
signal changes something (an incident opens or joins, a condition clears) or input is unusable.
A grouped alert waits in memory for its group (``group_wait``), as a ``for`` duration does in the
engine; life-safety (SEV1) alerts never wait and are never muted.

Before the rules, each reading is tied to its registry device (hardware identity first, then name:
``incidents.rules.identity``), converted from a unit the registry declares for it, and marked when
the probe is out of calibration. Readings of unregistered devices are listed, not dead-lettered.
One message's readings that make the handling raise are reported to the caller (which dead-letters
that message); the others proceed. A signal that cannot be written because the database is
unreachable waits in memory and is applied on the next batch or tick.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import exc as sa_exc
from sqlmodel import col, select

from handlers import messages
from handlers.alarm_desk import AlarmDesk
from handlers.i18n_values import Moment
from handlers.incident_flow import IncidentFlow
from handlers.intake_groups import apply_group
from handlers.ports import ChatEvent, Reply
from handlers.sampling import SampleKeeper
from handlers.text import local_time, say
from incidents import audit, service, silences
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.inventory.samples import record_samples
from incidents.readings import GatewayState, Reading, StockLevel
from incidents.rules.config import SystemRules
from incidents.rules.engine import RuleEngine
from incidents.rules.external import AlertAction, ExternalAlert, ExternalGroup
from incidents.rules.grouping import Grouper, GroupFlush
from incidents.rules.identity import DeviceIndex
from incidents.rules.inhibition import ActiveSource, Inhibitor
from incidents.rules.noise import GroupRoute, Inhibition
from incidents.rules.scans import ScanEvent, ScanWatch
from incidents.rules.system import DROPS_RULE, SystemWatch, out_of_calibration
from incidents.rules.unknown import UnknownDevices
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Alert, DeadLetter
from incidents.units import canonical
from playbooks.durations import duration_seconds

log = logging.getLogger(__name__)
_NAMES_SHOWN = 10  # alerts named in a grouped message; the rest are counted
MAX_WAITING = 100_000  # signals kept in memory while the database is unreachable


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
    gateway_muted: int = 0
    shelved: int = 0  # held by a shelving or a sensor out of service
    poison: int = 0  # messages whose decoding or handling raised: dead-lettered with the error
    dead_letter_failures: int = 0  # dead letters that could not be written (logged with a digest)
    sample_failures: int = 0
    signal_failures: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # valid messages with nothing for the rules, by why
    last_reading_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fed:
    """What ``Intake.feed`` did: the incidents touched, and the groups (messages) whose handling raised."""

    touched: list[int]
    failed: list[tuple[int, Exception]]


def storage_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (retry later), not that the input is bad."""
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError
                      | sa_exc.TimeoutError)


class Intake:
    def __init__(self, db: Database, engine: RuleEngine, flow: IncidentFlow, *,
                 grouping: Sequence[GroupRoute] = (), inhibit: Sequence[Inhibition] = (),
                 system: SystemRules | None = None) -> None:
        self.db = db
        self.engine = engine
        self.flow = flow
        self.ctx = flow.ctx
        self.stats = IntakeStats()
        self.samples = SampleKeeper()
        self.grouper = Grouper(list(grouping))
        self.inhibitor = Inhibitor(list(inhibit))
        registry = engine.registry
        self.index = DeviceIndex(registry.devices)
        self.unknown = UnknownDevices()
        self.system = SystemWatch(system or SystemRules(), registry)
        self._declared = {d: dict(device.units) for d, device in registry.devices.items() if device.units}
        self._calibrated = {d: device for d, device in registry.devices.items() if device.calibration_due}
        self._members: dict[str, set[str]] = {}  # gateway → registry devices seen behind it
        self._muted: dict[str, AlertSignal] = {}  # fingerprint → the firing signal nobody was told of
        self._announced: set[tuple[str, int]] = set()  # (inhibition id, source incident) said once
        self._silences: list[silences.ActiveSilence] | None = None  # loaded on first use
        self._undelivered: list[AlertSignal] = []  # signals the database could not take yet
        self._started = self.ctx.now()
        self._connection_known = False
        self._disconnected_since: datetime | None = None
        self._drops_checked = False
        self.alarm_desk = AlarmDesk(flow, engine, release=self._release)
        self.scans = ScanWatch(engine.scan_rules)

    def readings(self, readings: Iterable[Reading]) -> list[int]:
        """Feed readings to the rules; returns the incidents they opened or touched. Raises what handling raised."""
        fed = self.feed([list(readings)])
        if fed.failed:
            raise fed.failed[0][1]
        return fed.touched

    def feed(self, groups: Sequence[Sequence[Reading]]) -> Fed:
        """Feed readings grouped by message: a group whose handling raises is reported in ``Fed.failed``
        with the error, and the other groups proceed."""
        touched: list[int] = []
        failed: list[tuple[int, Exception]] = []
        known: list[Reading] = []
        if self._undelivered:
            touched += self._redeliver()
        for number, group in enumerate(groups):
            try:
                for reading in group:
                    taken = self._take(reading)
                    if taken is None:
                        continue
                    known.append(taken)
                    for signal in self.engine.observe(taken):
                        marked = replace(signal, labels={**signal.labels, "out_of_calibration": "true"}) \
                            if taken.out_of_calibration else signal
                        touched += self._apply(marked, in_message=True)
            except Exception as exc:
                log.warning("handling message %d of a batch raised %r", number, exc)
                failed.append((number, exc))
        if known:
            self.stats.last_reading_at = known[-1].ts
        self._keep_samples(known)
        return Fed(touched, failed)

    def gateway(self, state: GatewayState) -> list[int]:
        """A bridge or gateway came online or went offline: one incident for the devices behind it."""
        own = self.index.resolve(state.name, None)
        touched: list[int] = []
        if own is not None:  # the gateway is itself a registered device: its last will is its own state
            touched += self.feed([[Reading(sensor=own, metric="online", value=state.online, ts=state.ts,
                                           source=state.source)]]).touched
        members = {d for name, hw in state.members if (d := self.index.resolve(name, hw)) is not None}
        members |= self._members.get(state.gateway, set())
        members.discard(own or "")
        for signal in self.system.gateway(state, members):
            touched += self._apply(signal, in_message=False)
        return touched

    def broker_dropped(self, count: int) -> list[int]:
        """The broker's cumulative dropped-message count (``$SYS``); a system incident when it grows beyond what
        was already reported (before a restart too: the latest such alert keeps the count it reported)."""
        if not self._drops_checked:
            self._drops_checked = True
            with self.db.reader() as session:
                labels = session.exec(select(Alert.labels).where(Alert.rule_id == DROPS_RULE)
                                      .order_by(col(Alert.id).desc()).limit(1)).first()
            reported = (labels or {}).get("dropped_total", "")
            if reported.isdigit() and count >= int(reported):  # a smaller count: the broker restarted
                self.system.dropped_reported(int(reported))
        return [i for s in self.system.broker_dropped(count, self.ctx.now()) for i in self._apply(s, in_message=False)]

    def connection(self, connected: bool | None) -> None:
        """The broker connection's state, from the MQTT client (any thread); arms the intake's dead-man.
        None: this process reads no longer (another process holds the intake): the dead-man is disarmed."""
        self._connection_known = connected is not None
        if connected or connected is None:
            self._disconnected_since = None
        elif self._disconnected_since is None:
            self._disconnected_since = self.ctx.now()

    @property
    def connected(self) -> bool | None:
        """Whether the broker connection is up (None before the MQTT client has said anything)."""
        return self._disconnected_since is None if self._connection_known else None

    def ignored(self, why: str) -> None:
        """Count a valid message that carries nothing for the rules (an empty retained payload…)."""
        self.stats.ignored[why] += 1

    def warnings(self) -> list[str]:
        """What ``/healthz`` warns about: broker drops, gateways offline, signals waiting for the database."""
        found = []
        if self.system.dropped:
            found.append(f"the MQTT broker reports {self.system.dropped} dropped messages")
        found += [f"gateway {name} is offline" for name in self.system.offline_gateways()]
        if self._undelivered:
            found.append(f"{len(self._undelivered)} alert signals wait for the database")
        return found

    def _take(self, reading: Reading) -> Reading | None:
        """The reading tied to its registry device, in canonical units and marked when out of calibration;
        None (and listed) for a device the registry does not know."""
        device = self.index.resolve(reading.sensor, reading.hardware_id)
        if device is None:
            self.unknown.note(reading)
            return None
        self.stats.readings += 1
        if device != reading.sensor:
            reading = replace(reading, sensor=device)
        if reading.gateway is not None:
            members = self._members.get(reading.gateway)
            if members is None:
                members = self._members[reading.gateway] = set()
            members.add(device)
        if device in self._declared and reading.unit is None and reading.value.__class__ is not bool:
            unit = self._declared[device].get(reading.metric)
            if unit is not None:
                value, unit, raw_value, raw_unit = canonical(reading.metric, float(reading.value), unit)
                reading = replace(reading, value=value, unit=unit, raw_value=raw_value, raw_unit=raw_unit)
        if device in self._calibrated and out_of_calibration(self._calibrated[device], reading.ts):
            reading = replace(reading, out_of_calibration=True)
        return reading

    def _keep_samples(self, known: list[Reading]) -> None:
        kept = self.samples.keep(known)
        if not kept:
            return
        try:
            with self.db.unit_of_work() as session:
                record_samples(session, kept, live=self.samples.watched)
        except Exception:
            # Samples feed review charts; the alarms above are already applied. Say so and go on.
            self.stats.sample_failures += len(kept)
            log.exception("storing %d samples failed", len(kept))

    def _apply(self, signal: AlertSignal, *, in_message: bool) -> list[int]:
        """Apply a signal; one the database cannot take now waits for the next batch or tick. Other errors
        raise when the signal comes from a message (which is then dead-lettered), else are logged."""
        try:
            return self.signal(signal)
        except Exception as exc:
            if storage_unavailable(exc):
                log.warning("database unreachable: %s %s waits for the next try", signal.kind, signal.fingerprint)
                if len(self._undelivered) >= MAX_WAITING:
                    lost = self._undelivered.pop(0)
                    log.error("more than %d signals wait for the database; dropped %s %s", MAX_WAITING, lost.kind,
                              lost.fingerprint)
                self._undelivered.append(signal)
                return []
            if in_message:
                raise
            self.stats.signal_failures += 1
            log.exception("applying %s %s failed", signal.kind, signal.fingerprint)
            return []

    def _redeliver(self) -> list[int]:
        waiting, self._undelivered = self._undelivered, []
        touched: list[int] = []
        for index, signal in enumerate(waiting):
            touched += self._apply(signal, in_message=False)
            if self._undelivered:  # still unreachable: keep the rest, in order
                self._undelivered += waiting[index + 1:]
                break
        return touched

    def scan(self, events: Iterable[ScanEvent]) -> list[int]:
        """Feed pick and pack scans to the scan rules; the incidents their alerts opened or touched."""
        return [i for event in events for signal in self.scans.observe(event)
                for i in self._apply(signal, in_message=True)]

    def stock(self, level: StockLevel) -> list[int]:
        """Feed one stock level (from the inventory side) to the stock rules."""
        self.stats.stock_levels += 1
        return [i for signal in self.engine.observe_stock(level) for i in self._apply(signal, in_message=True)]

    def tick(self) -> list[int]:
        """Let time pass: ``for`` durations and offline sensors, expired silences, groups that are due, the
        intake's dead-man and calibration dates; signals waiting for the database are tried again."""
        now = self.ctx.now()
        touched = self._redeliver() if self._undelivered else []
        signals = self.engine.tick(now) + self.system.calibration(now) + self.scans.tick(now)
        if self._connection_known:
            signals += self.system.intake(now, last_reading=self.stats.last_reading_at,
                                          disconnected_since=self._disconnected_since, started=self._started)
        touched += [i for signal in signals for i in self._apply(signal, in_message=False)]
        self._load_silences(now)
        self.alarm_desk.refresh(now)
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
            return self.deliver(signal)
        if self._mute(signal, self.ctx.now()):
            return []
        return self._group_or_deliver(signal)

    def external(self, alert: ExternalAlert) -> int | None:
        """An alert raised by another system: trigger opens or joins, resolve clears, acknowledge acks."""
        if alert.action is AlertAction.ACKNOWLEDGE:
            fingerprint = storable(f"{alert.source}:{alert.dedup_key}")
            return self.flow.acknowledge_external(dedup_key=fingerprint, source=alert.source)
        touched = self.signal(self._external_signal(alert, None))
        return touched[0] if touched else None

    def external_group(self, group: ExternalGroup, *, per: str = "group") -> list[int]:
        """A group notification (Alertmanager, Grafana): with ``per="group"`` one incident for the group, its
        alerts listed and resolved one by one in one message each time; with ``per="alert"`` one each."""
        if per == "alert":
            return sorted({i for i in (self.external(alert) for alert in group.alerts) if i is not None})
        key = f"{group.source}:{group.receiver or '-'}:{group.key}"
        now = self.ctx.now()
        firing: list[AlertSignal] = []
        resolved: list[AlertSignal] = []
        for alert in group.alerts:
            signal = self._external_signal(alert, key)
            self.stats.signals += 1
            if signal.kind is SignalKind.RESOLVED:
                if self._muted.pop(signal.fingerprint, None) is None:
                    resolved.append(signal)
            elif not self._mute(signal, now):
                firing.append(signal)
        return apply_group(self, key, firing, resolved, truncated=group.truncated)

    def _external_signal(self, alert: ExternalAlert, group: str | None) -> AlertSignal:
        """The signal of an external alert, its text made storable (a NUL from a sender is escaped)."""
        labels = {storable(k): storable(v) for k, v in alert.labels.items()}
        rule = labels.get("alertname") or labels.get("rule") or alert.source
        title_zh, title_en = storable(alert.title_zh), storable(alert.title_en)
        return AlertSignal(
            kind=SignalKind.RESOLVED if alert.action is AlertAction.RESOLVE else SignalKind.FIRING,
            rule_id=rule, fingerprint=storable(f"{alert.source}:{alert.dedup_key}"),
            severity=alert.severity or Severity.SEV3,
            title_zh=title_zh or title_en or rule, title_en=title_en or title_zh or rule,
            at=alert.at, site=labels.get("site"), zone=labels.get("zone"), sensor=labels.get("instance"),
            metric=labels.get("metric"), playbook=labels.get("playbook") or self.flow.playbooks.for_alert(rule),
            source=alert.source, group=group, labels=labels,
        )

    def reject(self, rejected: Iterable[Rejected]) -> None:
        """Keep unusable input with its reason (made storable: NUL and invalid UTF-8 escaped); the next
        message is processed normally. Raises what the database raises."""
        rows = [DeadLetter(source=storable(r.source), topic=storable(r.topic), payload=storable(r.payload)[:65_536],
                           reason=storable(r.reason)[:4_096]) for r in rejected]
        if not rows:
            return
        for row in rows:
            log.warning("rejected %s message on %s: %s", row.source, row.topic, row.reason)
        with self.db.unit_of_work() as session:
            session.add_all(rows)
        self.stats.rejected += len(rows)

    # -- chat commands: /silence D1 30m reason, /silences, /unsilence 3 -------------------------------

    def commands(self) -> dict[str, Callable[[Actor, ChatEvent, tuple[str, ...]], Reply]]:
        """The chat commands the intake serves, by name, for ``ChatRouter.register``."""
        return {"silence": self.silence_command, "silences": self.silences_command,
                "unsilence": self.unsilence_command, **self.alarm_desk.commands()}

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
                         until=Moment(made.ends_at, self.ctx.timezone)))

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
        elif self.system.mutes(signal, now):
            self.stats.gateway_muted += 1
        elif self.alarm_desk.hides(signal, now):
            self.stats.shelved += 1
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
            if (not self._silenced(signal, now) and self.inhibitor.muted_by(signal) is None
                    and not self.system.mutes(signal, now) and not self.alarm_desk.hides(signal, now)):
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
        return self.deliver(signal)

    def deliver(self, signal: AlertSignal) -> list[int]:
        """Hand a signal to the incident flow (no noise control): opens, joins or clears; the incident touched."""
        log.info("%s %s %s at %s", signal.kind, signal.rule_id, signal.sensor or signal.fingerprint, signal.at)
        incident_id = self.flow.on_signal(signal)
        self.inhibitor.observe(signal, incident_id)
        if incident_id is None:
            return []
        self.alarm_desk.observe(signal)
        if signal.flapping:
            self._post(incident_id, say("flapping_msg", title_zh=signal.title_zh, title_en=signal.title_en),
                       action="alert.flapping", after={"rule": signal.rule_id, "sensor": signal.sensor})
        return [incident_id]

    def _flush(self, flush: GroupFlush) -> list[int]:
        """Apply a due group: the most urgent alert through the usual flow, the rest joined in one
        transaction with one message that names them."""
        ordered = sorted(flush.signals, key=lambda s: (s.severity.rank, s.at))
        touched = self.deliver(ordered[0])
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


def storable(text: str) -> str:
    """Text any database column takes (PostgreSQL refuses NUL in text): NUL as ``\\x00``, lone surrogates
    as ``\\udcNN``. Decode payloads with ``bytes.decode("utf-8", "backslashreplace")`` first."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
