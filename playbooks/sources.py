"""Where steps come from: which steps are life-safety, what they cite, and which cite nothing.

A step is **life-safety** when any of these holds (checked in this order, the first gives the reason):

1. it is ``safety: true``, or it is a part of a parallel group that is ``safety: true``;
2. it has an ``mqtt.publish`` action: the bot acts on equipment or locks stock, so a person must be
   able to check the step against the rule it comes from (the bot cannot tell a generator start from
   a WMS lock by its topic);
3. its playbook is a life-safety playbook: ``life_safety: true`` at the top, or a fire playbook
   (its id, alerts, metrics or commands name fire or smoke, the test that also makes a fire playbook
   start with a safety step).

A life-safety step must cite a source (``sources:``) or say it is the site's own choice
(``site_rule: true``). A part of a parallel group that says neither uses what its group says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from playbooks.checks import is_fire_playbook, steps_with_paths
from playbooks.graph import group_of
from playbooks.schema import MqttPublish, Playbook, Source, Step
from playbooks.yaml_lines import PathPart

StepPath = tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a step follows: the sources it cites and whether it is the site's own choice."""

    sources: tuple[Source, ...]
    site_rule: bool

    @property
    def traced(self) -> bool:
        """True when the step cites a source or is marked a site rule."""
        return bool(self.sources) or self.site_rule


@dataclass(frozen=True, slots=True)
class Untraced:
    """A life-safety step that cites no source and is not marked a site rule."""

    step_id: str
    path: StepPath
    reason: str

    def message(self) -> str:
        """The lint message, naming the step and why it counts as life-safety."""
        return (f'step "{self.step_id}" is life-safety ({self.reason}) but cites no source; '
                'add "sources:" (document, clause, url or edition) or mark it "site_rule: true"')


def provenance(playbook: Playbook, step_id: str) -> Provenance:
    """The sources and site-rule mark of a step; a group part that says neither uses its group's."""
    step = playbook.step(step_id)
    own = Provenance(tuple(step.sources), step.site_rule)
    group = _group_of(playbook, step_id)
    if own.traced or group is None:
        return own
    return Provenance(tuple(group.sources), group.site_rule)


def life_safety_reason(playbook: Playbook, step_id: str) -> str | None:
    """Why the step counts as life-safety (see the module docstring), or None when it does not."""
    step = playbook.step(step_id)
    group = _group_of(playbook, step_id)
    if step.safety or (group is not None and group.safety):
        return "a safety step"
    if any(isinstance(action, MqttPublish) for action in step.actions):
        return "it acts on equipment through mqtt.publish"
    if playbook.life_safety:
        return "a step of a life-safety playbook"
    if is_fire_playbook(playbook):
        return "a step of a fire playbook"
    return None


def untraced_steps(playbook: Playbook) -> Iterator[Untraced]:
    """Every life-safety step, in document order, that cites no source and is not a site rule."""
    for step, path in steps_with_paths(playbook):
        reason = life_safety_reason(playbook, step.id)
        if reason is not None and not provenance(playbook, step.id).traced:
            yield Untraced(step.id, path, reason)


def cited_sources(playbook: Playbook, step_ids: list[str]) -> list[tuple[str, Source]]:
    """(step id, source) for the named steps, in the order given, each source once per step."""
    found: list[tuple[str, Source]] = []
    for step_id in step_ids:
        for source in provenance(playbook, step_id).sources:
            if (step_id, source) not in found:
                found.append((step_id, source))
    return found


def _group_of(playbook: Playbook, step_id: str) -> Step | None:
    group_id = group_of(playbook).get(step_id)
    return next(s for s in playbook.steps if s.id == group_id) if group_id is not None else None
