"""Quorum steps in the pure walker: N of the role's holders, each once; the schema refuses a quorum without a role."""

from datetime import UTC, datetime

import pytest
import yaml
from pydantic import ValidationError

from playbooks.run_state import StepCompleted, StepRejected
from playbooks.schema import Playbook
from playbooks.walker import apply, start

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def playbook(quorum: str, role: str = "SL") -> Playbook:
    return Playbook.model_validate(yaml.safe_load(f"""
apiVersion: playbook.warehouse/v1
id: quorum-test
version: 1
title: {{zh: 测试, en: Test}}
severity: SEV2
triggers: {{commands: [q]}}
roles: [SL, WM]
steps:
  - id: agree
    title: {{zh: 班长确认, en: Shift leads agree}}
    role: {role}
    quorum: {quorum}
  - id: after
    title: {{zh: 之后, en: After}}
    role: WM
"""))


def test_two_of_three_shift_leads_complete_the_step() -> None:
    book = playbook("{need: 2}")
    state = start(book, now=T0).state
    one = apply(book, state, StepCompleted("agree", "Wang", ("SL",), quorum_size=2), now=T0)
    assert one.state.steps["agree"].status == "active" and one.state.steps["agree"].done_by == ("Wang",)
    assert [m.en for m in one.messages] == ["Wang confirmed: 1 of 2"]
    with pytest.raises(StepRejected, match="already confirmed"):
        apply(book, one.state, StepCompleted("agree", "Wang", ("SL",), quorum_size=2), now=T0)
    with pytest.raises(StepRejected, match="only SL"):
        apply(book, one.state, StepCompleted("agree", "Li", ("WM",), quorum_size=2), now=T0)
    two = apply(book, one.state, StepCompleted("agree", "Zhou", ("SL",), quorum_size=2), now=T0)
    assert two.state.steps["agree"].status == "done" and two.state.steps["agree"].done_by == ("Wang", "Zhou")
    assert two.state.steps["after"].status == "active"


@pytest.mark.parametrize("quorum, role", [("{need: all}", "anyone"), ("{need: 0}", "SL")])
def test_a_quorum_needs_a_role_and_a_positive_count(quorum: str, role: str) -> None:
    with pytest.raises(ValidationError):
        playbook(quorum, role)
