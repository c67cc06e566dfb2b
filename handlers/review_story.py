"""The review in plain words: one sentence per audit event, and the summary paragraph from the facts.

Every sentence comes from ``handlers.text.CATALOGUE`` in both languages, with units on every value
(``incidents.units``); the raw before/after values stay in the JSON and CSV exports.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from handlers.actions import describe_action
from handlers.intake_groups import listing
from handlers.review_exposure import device_name
from handlers.review_model import Bi, Exposure, StepLine, Threshold
from handlers.text import CATALOGUE, duration_text
from incidents import alert_audit
from incidents.rules.config import DeviceRegistry
from incidents.signals import SignalKind
from incidents.tables import Alert, AuditEvent
from incidents.units import unit_for
from playbooks.schema import ROLES, ChoiceInput, NumberInput, PhotoInput, Playbook, YesNoInput
from playbooks.schema import Input as StepInput

CAUSE_INPUTS = ("cause", "root_cause")  # a playbook input with one of these ids records the cause
DISPOSITION_INPUTS = ("disposition",)  # ... and with this id the product disposition


def value_text(value: Any, metric: str | None) -> str:
    """``8.4 °C``, ``45 %RH``, ``1`` for a unitless metric; numbers with at most two decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    unit = unit_for(metric or "")
    number = f"{round(float(value), 2):g}"
    return f"{number} {unit}" if unit else number


def local_minute(moment: datetime, timezone: str) -> str:
    """``11-25 10:52`` in the site's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")


def words(key: str) -> Bi:
    """A catalogue entry as it is, or the key itself when the catalogue has no such entry."""
    zh, en = CATALOGUE.get(key, (key, key))
    return Bi(zh, en)


def answer_words(step_input: StepInput | None, answer: Any) -> Bi | None:
    """An answer as a person reads it: the option's label, yes/no, a number with its unit, photo count."""
    if answer is None:
        return None
    if isinstance(step_input, ChoiceInput):
        option = next((o for o in step_input.options if o.value == answer), None)
        return Bi(option.label.zh, option.label.en) if option else Bi.same(str(answer))
    if isinstance(step_input, YesNoInput) or isinstance(answer, bool):
        return words("yes" if answer else "no")
    if isinstance(step_input, NumberInput) and isinstance(answer, int | float):
        number = f"{answer:g}"
        return Bi.same(f"{number} {step_input.unit}" if step_input.unit else number)
    if isinstance(step_input, PhotoInput) or isinstance(answer, list):
        return Bi.of("photos", count=len(answer) if isinstance(answer, list) else 1)
    return Bi.same(str(answer))


@dataclass(frozen=True)
class Narrator:
    """What sentences need to name things: the registry, the incident's playbook and alerts."""

    registry: DeviceRegistry | None
    playbook: Playbook | None
    alerts: Sequence[Alert]
    timezone: str

    def _metric(self, sensor: str | None, rule: str | None) -> str | None:
        found = next((a.metric for a in self.alerts if a.sensor == sensor and a.metric), None)
        return found or next((a.metric for a in self.alerts if a.rule_id == rule and a.metric), None)

    def _reading(self, after: Mapping[str, Any]) -> dict[str, str] | None:
        sensor, value = after.get("sensor"), after.get("value")
        if sensor is None or value is None:
            return None
        name = device_name(self.registry, sensor)
        return {"sensor_zh": name.zh, "sensor_en": name.en,
                "value": value_text(value, self._metric(sensor, after.get("rule")))}

    def _step(self, step_id: str | None) -> tuple[Bi, StepInput | None]:
        step = None
        if self.playbook is not None and step_id is not None:
            step = next((s for s in self.playbook.all_steps() if s.id == step_id), None)
        if step is None:
            return Bi.same(step_id or "-"), None
        return Bi(step.title.zh, step.title.en), step.input

    def sentence(self, event: AuditEvent) -> Bi:
        """The event in plain words; actions without a sentence of their own read as their name."""
        after, before = event.after or {}, event.before or {}
        action = event.action
        if action == "incident.opened":
            return self._opened(after)
        if action == "alert.joined":
            reading = self._reading(after)
            if reading is None:
                return Bi.of("tl_joined_plain")
            return Bi.of("tl_warning" if after.get("kind") == "warning" else "tl_joined", **reading)
        if action == "alert.cleared":
            reading = self._reading(after)
            return Bi.of("tl_cleared", **reading) if reading else Bi.of("tl_cleared_plain")
        if action == alert_audit.ACTION:
            return self._group(after.get("alerts") or [])
        if action == "incident.escalated":
            role = str(after.get("role") or "-")
            zh, en = ROLES.get(role, (role, role))
            return Bi.of("tl_escalated", level=after.get("level") or "-", role_zh=f"{zh} ({role})",
                         role_en=f"{en} ({role})")
        if action == "incident.severity_changed":
            return Bi.of("tl_severity", before=before.get("severity", "-"), after=after.get("severity", "-"))
        if action == "incident.declared":
            return Bi.of("tl_declared", playbook=after.get("playbook") or "-", zone=after.get("zone") or "-")
        if action.startswith("incident.") and "status" in after:
            was, now = words(f"status_{before.get('status')}"), words(f"status_{after.get('status')}")
            return Bi.of("tl_status", before_zh=was.zh, after_zh=now.zh, before_en=was.en, after_en=now.en)
        if action == "playbook.started":
            title = Bi(self.playbook.title.zh, self.playbook.title.en) if self.playbook else Bi.same(
                str(after.get("playbook")))
            return Bi.of("tl_playbook", title_zh=title.zh, title_en=title.en, version=after.get("version", "-"))
        if action.startswith("step."):
            return self._step_sentence(event)
        return self._other(action, after)

    def _group(self, listed: Sequence[Mapping[str, str]]) -> Bi:
        """A notification's alerts (``incidents.alert_audit``): those that joined, then those that cleared, named
        by the sensor or alert name of their Alert row."""
        names = {a.fingerprint: a.sensor or a.labels.get("alertname") or a.fingerprint for a in self.alerts}
        parts = []
        for status, key in ((SignalKind.FIRING.value, "group_joined_msg"), (SignalKind.RESOLVED.value,
                                                                             "group_resolved_msg")):
            shown = [names.get(item["fingerprint"], item["fingerprint"]) for item in listed if item["status"] == status]
            if shown:
                parts.append(Bi.of(key, count=len(shown), names=listing(shown)))
        if not parts:
            return Bi.of("tl_joined_plain")
        return Bi(" ".join(p.zh for p in parts), " ".join(p.en for p in parts))

    def _opened(self, after: Mapping[str, Any]) -> Bi:
        reading = self._reading(after)
        alert = next((a for a in self.alerts if a.rule_id == after.get("rule") and a.sensor == after.get("sensor")
                      and a.threshold is not None), None)
        if reading is None or alert is None or alert.threshold is None:
            title = next((a for a in self.alerts if a.rule_id == after.get("rule")), None)
            return Bi.of("tl_opened", title_zh=title.title_zh if title else after.get("title_en", "-"),
                         title_en=title.title_en if title else after.get("title_en", "-"),
                         severity=after.get("severity", "-"))
        above = float(after["value"]) >= alert.threshold
        limit = value_text(alert.threshold, alert.metric)
        return Bi.of("tl_opened_above" if above else "tl_opened_below", limit=limit, **reading)

    def _step_sentence(self, event: AuditEvent) -> Bi:
        title, step_input = self._step(event.object_id)
        after = event.after or {}
        names = {"step_zh": title.zh, "step_en": title.en}
        if event.action.startswith("step.timer."):
            kind = words(f"timer_{event.action.removeprefix('step.timer.')}")
            return Bi.of("tl_step_timer", kind_zh=kind.zh, kind_en=kind.en, **names)
        status = event.action.removeprefix("step.")
        answer = answer_words(step_input, after.get("answer"))
        if status == "done" and answer is not None and step_input is not None:
            return Bi.of("tl_step_answered", label_zh=step_input.label.zh, label_en=step_input.label.en,
                         answer_zh=answer.zh, answer_en=answer.en, **names)
        if status in ("active", "claimed", "done", "skipped"):
            return Bi.of(f"tl_step_{status}", **names)
        state = words(f"step_{status}")
        return Bi.of("tl_step_status", status_zh=state.zh, status_en=state.en, **names)

    def _other(self, action: str, after: Mapping[str, Any]) -> Bi:
        if action == "action.requested":
            return Bi.of("tl_action_requested", what=describe_action(str(after.get("kind")), after.get("spec") or {}))
        if action == "action.failed":
            return Bi.of("tl_action_failed", error=after.get("error") or "-")
        if action == "incident.note":
            text = str(after.get("text") or "")
            return Bi(f"备注：{text}", f"Note: {text}")
        if action == "alerts.inhibited":
            return Bi.of("tl_inhibited", scope=after.get("scope") or "-")
        simple = {"action.confirmed": "tl_action_confirmed", "action.executed": "tl_action_executed",
                  "access.refused": "tl_access_refused", "alert.flapping": "tl_flapping"}
        if action in simple:
            return Bi.of(simple[action])
        return words(f"action_{action}")


@dataclass(frozen=True)
class Facts:
    """What the summary paragraph is written from."""

    title: Bi
    severity: str
    zone_name: Bi
    opened_at: datetime
    exposure: Exposure | None
    thresholds: Sequence[Threshold]
    cause: Bi | None
    disposition: Bi | None
    steps: Sequence[StepLine]
    acknowledged: tuple[str, datetime] | None
    resolved: tuple[str, datetime] | None
    signed_by: Sequence[str]


def summary(facts: Facts, timezone: str) -> Bi:
    """One paragraph in each language, one sentence per known fact, in the order an inspector reads them."""
    at = partial(local_minute, timezone=timezone)
    parts = [Bi.of("sum_opened", opened=at(facts.opened_at), zone_zh=facts.zone_name.zh, zone_en=facts.zone_name.en,
                   severity=facts.severity, title_zh=facts.title.zh, title_en=facts.title.en)]
    if facts.exposure is not None:
        parts.append(_exposure_sentence(facts.exposure, facts.thresholds, at))
    parts.append(Bi.of("sum_cause", cause_zh=facts.cause.zh, cause_en=facts.cause.en) if facts.cause
                 else Bi.of("sum_no_cause"))
    done = [s for s in facts.steps if s.status == "done"]
    skipped = [s for s in facts.steps if s.status == "skipped"]
    parts.append(Bi.of("sum_actions", steps_zh="、".join(_step_words(s).zh for s in done),
                       steps_en="; ".join(_step_words(s).en for s in done)) if done else Bi.of("sum_no_actions"))
    if skipped:
        parts.append(Bi.of("sum_skipped", steps_zh="、".join(f"{s.title.zh}（{s.reason}）" for s in skipped),
                           steps_en="; ".join(f"{s.title.en} ({s.reason})" for s in skipped)))
    parts.append(Bi.of("sum_disposition", disposition_zh=facts.disposition.zh, disposition_en=facts.disposition.en)
                 if facts.disposition else Bi.of("sum_no_disposition"))
    acked = Bi.of("sum_acked", who=facts.acknowledged[0], at=at(facts.acknowledged[1])) if facts.acknowledged \
        else Bi.of("sum_not_acked")
    resolved = Bi.of("sum_resolved", who=facts.resolved[0], at=at(facts.resolved[1])) if facts.resolved \
        else Bi.of("sum_not_resolved")
    signed = Bi.of("sum_signed", who="、".join(facts.signed_by)) if facts.signed_by else Bi.of("sum_not_signed")
    parts.append(Bi(CATALOGUE["sum_people"][0].format(acked=acked.zh, resolved=resolved.zh, signed=signed.zh),
                    CATALOGUE["sum_people"][1].format(acked=acked.en, resolved=resolved.en, signed=signed.en)))
    return Bi("".join(p.zh for p in parts), " ".join(p.en for p in parts))


def _step_words(step: StepLine) -> Bi:
    if step.answer is None:
        return step.title
    return Bi(f"{step.title.zh}（{step.answer.zh}）", f"{step.title.en} ({step.answer.en})")


def _exposure_sentence(exposure: Exposure, thresholds: Sequence[Threshold],
                       at: Callable[[datetime], str]) -> Bi:
    """The worst excursion: the probe and limit with the most degree-minutes beyond it."""
    worst = None
    for probe in exposure.probes:
        for threshold, beyond in zip(thresholds, probe.beyond, strict=True):
            if beyond.seconds > 0 and (worst is None or beyond.degree_minutes > worst[2].degree_minutes):
                worst = (probe, threshold, beyond)
    highest = max((p for p in exposure.probes if p.high), key=lambda p: p.high[1] if p.high else 0.0)
    if worst is None:
        assert highest.high is not None
        return Bi.of("sum_in_range", peak=value_text(highest.high[1], exposure.metric))
    probe, threshold, beyond = worst
    limit = value_text(threshold.value, exposure.metric)
    assert beyond.first_at is not None and probe.high is not None and probe.low is not None
    if threshold.above:
        return Bi.of("sum_excursion", probe_zh=probe.name.zh, probe_en=probe.name.en, start=at(beyond.first_at),
                     limit=limit, peak=value_text(probe.high[1], exposure.metric), peak_at=at(probe.high[0]),
                     duration=duration_text(beyond.seconds),
                     degree_minutes=f"{beyond.degree_minutes:.1f} {exposure.unit}·min")
    return Bi.of("sum_excursion_below", probe_zh=probe.name.zh, probe_en=probe.name.en, start=at(beyond.first_at),
                 limit=limit, low=value_text(probe.low[1], exposure.metric), low_at=at(probe.low[0]),
                 duration=duration_text(beyond.seconds))


def answer_of(playbook: Playbook | None, answers: Mapping[str, Any], ids: Sequence[str]) -> Bi | None:
    """The answer given to the first of ``ids`` that the playbook asks, in words; None if none was given."""
    if playbook is None:
        return None
    for step in playbook.all_steps():
        if step.input is not None and step.input.id in ids and answers.get(step.input.id) is not None:
            return answer_words(step.input, answers[step.input.id])
    return None
