"""The incident state machine: triggered → acknowledged → mitigating → resolved → closed, with reopen."""

from enum import StrEnum


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Transition(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    MITIGATE = "mitigate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    UNACKNOWLEDGE = "unacknowledge"  # the acknowledgement is withdrawn: triggered again, escalation restarts


OPEN_STATUSES = frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MITIGATING})

_ALLOWED: dict[Transition, tuple[frozenset[Status], Status]] = {
    Transition.ACKNOWLEDGE: (frozenset({Status.TRIGGERED}), Status.ACKNOWLEDGED),
    Transition.MITIGATE: (frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED}), Status.MITIGATING),
    Transition.RESOLVE: (OPEN_STATUSES, Status.RESOLVED),
    Transition.CLOSE: (frozenset({Status.RESOLVED}), Status.CLOSED),
    Transition.REOPEN: (frozenset({Status.RESOLVED, Status.CLOSED}), Status.TRIGGERED),
    Transition.UNACKNOWLEDGE: (frozenset({Status.ACKNOWLEDGED}), Status.TRIGGERED),
}

STATUS_TEXT: dict[Status, tuple[str, str]] = {
    Status.TRIGGERED: ("待确认", "Triggered"),
    Status.ACKNOWLEDGED: ("已确认", "Acknowledged"),
    Status.MITIGATING: ("处置中", "Mitigating"),
    Status.RESOLVED: ("已解决", "Resolved"),
    Status.CLOSED: ("已关闭", "Closed"),
}


class InvalidTransition(Exception):
    """A transition that the incident's current status does not allow; the message is bilingual."""

    def __init__(self, current: Status, transition: Transition) -> None:
        zh, en = STATUS_TEXT[current]
        super().__init__(
            f"事件当前为「{zh}」，不能执行该操作 / The incident is {en.lower()}: cannot {transition.value}"
        )
        self.current = current
        self.transition = transition


def next_status(current: Status, transition: Transition) -> Status:
    """The status after ``transition`` or InvalidTransition."""
    sources, target = _ALLOWED[transition]
    if current not in sources:
        raise InvalidTransition(current, transition)
    return target
