"""Which steps wait on which: explicit needs, the previous step by default, and decision branches."""

from __future__ import annotations

from playbooks.schema import Playbook


def branch_gates(playbook: Playbook) -> dict[str, tuple[str, ...]]:
    """For each branch target, the decision steps that can choose it."""
    gates: dict[str, list[str]] = {}
    for step in playbook.steps:
        for branch in step.branches or []:
            deciders = gates.setdefault(branch.goto, [])
            if step.id not in deciders:
                deciders.append(step.id)
    return {target: tuple(deciders) for target, deciders in gates.items()}


def dependencies(playbook: Playbook) -> dict[str, tuple[str, ...]]:
    """The steps each step waits on: `needs` (default: the non-safety step before it), deciders, or group."""
    gates = branch_gates(playbook)
    deps: dict[str, tuple[str, ...]] = {}
    previous: str | None = None
    for step in playbook.steps:
        default = (previous,) if previous is not None else ()
        own = tuple(step.needs) if step.needs is not None else default
        deps[step.id] = own + tuple(d for d in gates.get(step.id, ()) if d not in own)
        for part in step.parallel or []:
            deps[part.id] = (step.id,)
        if not step.safety:  # safety steps run alongside the flow and never hold it up by default
            previous = step.id
    return deps


def group_of(playbook: Playbook) -> dict[str, str]:
    """For each part of a parallel group, the id of its group."""
    return {part.id: step.id for step in playbook.steps for part in step.parallel or []}
