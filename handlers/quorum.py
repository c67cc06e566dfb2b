"""Quorum steps: who must still confirm a step that needs all (or N) holders of its role.

The holders are the directory's people with the step's role (those on shift when the roster has shifts
for the role: ``incidents.directory.with_role``); a confirmation is counted by the confirmer's name as the
walker records it in ``done_by``.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from handlers.text import say
from incidents import directory
from incidents.directory import RoleHolders
from incidents.tables import Incident, Person
from playbooks.run_state import RunState
from playbooks.schema import GroupPart, Step


def _name(person: Person) -> str:
    return f"{person.name_zh} {person.name_en}"


def _holding(session: Session, role: str, *, at: datetime, holders: RoleHolders | None) -> list[Person]:
    if holders is not None:
        return holders.with_role(session, role=role, at=at, qualification=None)
    return directory.with_role(session, role=role, at=at)


def size(session: Session, step: Step | GroupPart, *, at: datetime, holders: RoleHolders | None = None) -> int:
    """How many confirmations complete ``step`` now: its ``need``, or every holder of its role (at least 1).
    ``holders``: the transaction's role look-ups, when it keeps them."""
    assert step.quorum is not None and step.role is not None
    if isinstance(step.quorum.need, int):
        return step.quorum.need
    return max(1, len(_holding(session, step.role, at=at, holders=holders)))


def missing(session: Session, role: str, done_by: Sequence[str], *, at: datetime,
            holders: RoleHolders | None = None) -> list[Person]:
    """Holders of ``role`` who have not confirmed yet."""
    return [p for p in _holding(session, role, at=at, holders=holders) if _name(p) not in done_by]


def tally(session: Session, step: Step | GroupPart, done_by: Sequence[str], *, at: datetime,
          holders: RoleHolders | None = None) -> str:
    """``1/3 · 还差 Missing: 赵六 Zhao Liu、…`` for a step card."""
    assert step.role is not None
    names = "、".join(_name(p) for p in missing(session, step.role, done_by, at=at, holders=holders))
    return say("quorum_tally", done=len(done_by), need=size(session, step, at=at, holders=holders),
               names=names or "-").replace("\n", " · ")


def to_page(session: Session, incident: Incident, step_id: str, role: str, *, at: datetime,
            holders: RoleHolders | None = None) -> list[Person]:
    """Whom a notice for ``role`` about ``step_id`` goes to: the holders who have not confirmed that step yet."""
    done_by: tuple[str, ...] = ()
    if incident.playbook_state:
        step_state = RunState.from_json(incident.playbook_state).steps.get(step_id)
        done_by = step_state.done_by if step_state is not None and step_state.status != "done" else ()
    return missing(session, role, done_by, at=at, holders=holders)
