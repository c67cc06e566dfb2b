"""Which steps of a run are still unfinished, and which of those nobody may override (pure)."""

from dataclasses import dataclass

from playbooks.run_state import RunState
from playbooks.schema import GroupPart, Playbook, Step


@dataclass(frozen=True, slots=True)
class OpenStep:
    """A step that is not done, not skipped and not passed over by a branch or condition."""

    step_id: str
    title_zh: str
    title_en: str
    required_for_closure: bool


def unfinished(playbook: Playbook, state: RunState) -> list[OpenStep]:
    """Steps pending, active or overdue, in document order; a repeating step done once counts as done.

    Groups are represented by their parts; a part inherits ``required_for_closure`` from its group.
    """
    found: list[OpenStep] = []
    for step in playbook.steps:
        items: list[Step | GroupPart] = list(step.parallel) if step.parallel else [step]
        for item in items:
            current = state.steps.get(item.id)
            if current is None or current.status in ("done", "skipped") or current.times_done > 0:
                continue
            found.append(OpenStep(item.id, item.title.zh, item.title.en,
                                  item.required_for_closure or step.required_for_closure))
    return found


def describe(steps: list[OpenStep], language: int) -> str:
    """``核实温度读数、纠正原因`` (0) or ``Verify the reading, Correct the cause`` (1)."""
    names = [s.title_zh if language == 0 else s.title_en for s in steps]
    return ("、" if language == 0 else ", ").join(names)
