"""Noise control in the rules file (Alertmanager semantics): grouping routes and inhibitions, with lint."""

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field

from incidents.rules.fields import ConfigModel, Seconds, StrList
from incidents.rules.yaml_source import PathProblem
from incidents.severity import Severity
from incidents.signals import AlertSignal

_SLUG = r"^[a-z0-9][a-z0-9-]*$"


def label_value(signal: AlertSignal, name: str) -> str | None:
    """A signal's value for a ``group_by`` / ``equal`` name: a field (site, zone, …) or one of its labels."""
    fields = {"site": signal.site, "zone": signal.zone, "metric": signal.metric, "rule": signal.rule_id,
              "sensor": signal.sensor, "severity": signal.severity.value}
    return fields[name] if name in fields else signal.labels.get(name)


class AlertMatch(ConfigModel):
    """Which alerts a route or inhibition concerns: every criterion given must hold, any item of a list will do."""

    rules: StrList | None = None
    types: StrList | None = None
    metrics: StrList | None = None
    zones: StrList | None = None

    def matches(self, signal: AlertSignal) -> bool:
        """Whether ``signal`` is one of these alerts."""
        return (
            (self.rules is None or signal.rule_id in self.rules)
            and (self.types is None or signal.labels.get("rule_type") in self.types)
            and (self.metrics is None or signal.metric in self.metrics)
            and (self.zones is None or signal.zone in self.zones)
        )

    def may_match(self, rule: "RuleFacts") -> bool:
        """Whether alerts of ``rule`` can match (zones are not known from the rule alone)."""
        return (
            (self.rules is None or rule.id in self.rules)
            and (self.types is None or rule.type in self.types)
            and (self.metrics is None or rule.metric is None or rule.metric in self.metrics)
        )


class GroupRoute(ConfigModel):
    """Alerts with equal ``group_by`` values join one incident; its first chat message waits ``group_wait``
    to collect the burst, later additions are announced together every ``group_interval``."""

    id: str = Field(pattern=_SLUG)
    match: AlertMatch
    group_by: StrList = Field(default_factory=lambda: ["site"], min_length=1)
    group_wait: Seconds = 30.0
    group_interval: Seconds = 300.0


class Inhibition(ConfigModel):
    """While a ``source`` alert fires, ``target`` alerts with the same ``equal`` values are muted."""

    id: str = Field(pattern=_SLUG)
    source: AlertMatch
    target: AlertMatch
    equal: StrList = Field(default_factory=lambda: ["site"], min_length=1)


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What lint needs to know of a rule."""

    id: str
    type: str
    severity: Severity
    metric: str | None


def noise_problems(
    groups: list[GroupRoute], inhibitions: list[Inhibition], rules: Mapping[str, RuleFacts]
) -> list[PathProblem]:
    """Unknown rule ids, duplicate ids, self-inhibition, and life-safety (SEV1) alerts that would wait or be muted."""
    problems: list[PathProblem] = []
    life_safety = [rule for rule in rules.values() if rule.severity is Severity.SEV1]
    seen: set[str] = set()
    for index, route in enumerate(groups):
        where = ("grouping", index)
        problems += _duplicate(where, route.id, seen) + _unknown_rules((*where, "match"), route.match, rules)
        if route.group_wait > 0:
            problems += [
                PathProblem((*where, "group_wait"), f'life-safety rule "{rule.id}" ({rule.severity}) would wait; '
                            "life-safety alerts never wait: leave it out of match or set group_wait: 0s")
                for rule in life_safety if route.match.may_match(rule)
            ]
    seen.clear()
    for index, inhibition in enumerate(inhibitions):
        where = ("inhibit", index)
        problems += _duplicate(where, inhibition.id, seen)
        problems += _unknown_rules((*where, "source"), inhibition.source, rules)
        problems += _unknown_rules((*where, "target"), inhibition.target, rules)
        problems += [
            PathProblem((*where, "target"), f'life-safety rule "{rule.id}" ({rule.severity}) is never muted; '
                        "leave it out of target")
            for rule in life_safety if inhibition.target.may_match(rule)
        ]
        problems += [
            PathProblem((*where, "target"), f'rule "{rule.id}" would mute itself: it is in source and target')
            for rule in rules.values() if inhibition.source.may_match(rule) and inhibition.target.may_match(rule)
        ]
    return problems


def _duplicate(where: tuple[str, int], item_id: str, seen: set[str]) -> list[PathProblem]:
    found = [PathProblem((*where, "id"), f'duplicate id "{item_id}"')] if item_id in seen else []
    seen.add(item_id)
    return found


def _unknown_rules(
    where: tuple[str | int, ...], match: AlertMatch, rules: Mapping[str, RuleFacts]
) -> list[PathProblem]:
    return [PathProblem((*where, "rules"), f'unknown rule "{rule_id}"') for rule_id in match.rules or ()
            if rule_id not in rules]
