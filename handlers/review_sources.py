"""The review's "sources of the steps taken": what each step done in the incident follows.

One line per (step, source) in the order the steps were done, and one line per done step that is the
site's own choice (``site_rule``), so an auditor can check each action against its rule.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from playbooks.loader import LoadedPlaybook
from playbooks.sources import provenance


@dataclass(frozen=True, slots=True)
class StepSource:
    """A done step and one document it follows, or (``site_rule`` and no document) the site's own rule."""

    step_id: str
    title_zh: str
    title_en: str
    document: str | None
    clause: str | None
    url: str | None
    edition: str | None
    site_rule: bool


def sources_of_steps(loaded: LoadedPlaybook | None, done_step_ids: Sequence[str]) -> tuple[StepSource, ...]:
    """The sources and site rules of the done steps (steps no longer in the pinned playbook are left out)."""
    if loaded is None:
        return ()
    known = {step.id: step for step in loaded.playbook.all_steps()}
    lines: list[StepSource] = []
    for step_id in dict.fromkeys(done_step_ids):
        step = known.get(step_id)
        if step is None:
            continue
        origin = provenance(loaded.playbook, step_id)
        lines += [StepSource(step_id, step.title.zh, step.title.en, source.document, source.clause, source.url,
                             source.edition, False) for source in origin.sources]
        if origin.site_rule:
            lines.append(StepSource(step_id, step.title.zh, step.title.en, None, None, None, None, True))
    return tuple(lines)
