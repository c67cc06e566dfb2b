"""The incident state machine, pure."""

import pytest

from incidents.lifecycle import InvalidTransition, Status, Transition, next_status


@pytest.mark.parametrize(
    ("current", "change", "expected"),
    [
        (Status.TRIGGERED, Transition.ACKNOWLEDGE, Status.ACKNOWLEDGED),
        (Status.TRIGGERED, Transition.MITIGATE, Status.MITIGATING),
        (Status.ACKNOWLEDGED, Transition.MITIGATE, Status.MITIGATING),
        (Status.MITIGATING, Transition.RESOLVE, Status.RESOLVED),
        (Status.TRIGGERED, Transition.RESOLVE, Status.RESOLVED),
        (Status.RESOLVED, Transition.CLOSE, Status.CLOSED),
        (Status.RESOLVED, Transition.REOPEN, Status.TRIGGERED),
        (Status.CLOSED, Transition.REOPEN, Status.TRIGGERED),
    ],
)
def test_allowed_transitions(current: Status, change: Transition, expected: Status) -> None:
    assert next_status(current, change) is expected


@pytest.mark.parametrize(
    ("current", "change"),
    [
        (Status.ACKNOWLEDGED, Transition.ACKNOWLEDGE),
        (Status.RESOLVED, Transition.ACKNOWLEDGE),
        (Status.TRIGGERED, Transition.CLOSE),
        (Status.CLOSED, Transition.RESOLVE),
        (Status.TRIGGERED, Transition.REOPEN),
    ],
)
def test_refused_transitions_say_why_in_both_languages(current: Status, change: Transition) -> None:
    with pytest.raises(InvalidTransition) as caught:
        next_status(current, change)
    assert f"cannot {change.value}" in str(caught.value)
    assert "不能执行该操作" in str(caught.value)
