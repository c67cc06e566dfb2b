"""Two-person rule for actuations (issue 11, item 3; EU GMP Annex 11 §12.4, 21 CFR 11.10(g)):
the person who confirms a command must not be one who asked for it."""

from sqlmodel import Session, col, select

from incidents.tables import ActionRun, AuditEvent, StepRun


def askers(session: Session, run: ActionRun) -> set[int]:
    """Everyone who asked for ``run``: the person whose step change requested it, whoever completed its step,
    and, for a run requested by the system (e.g. at the start of a declared incident), whoever declared it."""
    people: set[int] = set()
    if run.requested_by is not None:
        people.add(run.requested_by)
    completer = session.exec(select(StepRun.actor_person_id).where(
        StepRun.incident_id == run.incident_id, StepRun.step_id == run.step_id)).first()
    if completer is not None:
        people.add(completer)
    if run.requested_by is None:
        declarer = session.exec(select(AuditEvent.actor_person_id).where(
            AuditEvent.incident_id == run.incident_id, AuditEvent.action == "incident.declared")
            .order_by(col(AuditEvent.id))).first()
        if declarer is not None:
            people.add(declarer)
    return people
