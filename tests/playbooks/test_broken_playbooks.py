"""Each broken playbook fails lint with exactly the expected file, line and message."""

from pathlib import Path

import pytest

from playbooks.lint import lint_paths
from playbooks.loader import load_playbook
from playbooks.problems import PlaybookError

BROKEN = Path(__file__).parent / "broken"

EXPECTED: dict[str, list[tuple[int, str]]] = {
    "ack-longer-than-complete": [
        (12, 'step "verify": the ack timeout 20m is longer than the completion timeout 15m'),
    ],
    "bad-duration": [
        (12, 'step "verify": timeouts.ack "5 min" is not a duration; write it like 30s, 5m, 2h or 3d'),
    ],
    "branch-after-default": [
        (18, 'step "decide": branch 2 can never be taken because branch 1 before it has no "when"'),
    ],
    "duplicate-key": [(12, 'key "role" is written twice')],
    "duplicate-step-id": [(12, 'step id "verify" is used twice (first at line 9)')],
    "goto-backwards": [
        (
            16,
            'step "decide": goto "count" jumps back to an earlier step, which makes a loop without a limit; '
            'use "repeat" with "max" to ask again',
        ),
    ],
    "goto-unknown": [(13, 'step "decide": goto "transfer", but there is no such step')],
    "missing-english": [(10, 'step "verify": title is missing the English text (en)')],
    "mqtt-without-confirm": [
        (
            13,
            'step "block-zone": action mqtt.publish needs "confirm_by": the role that must confirm before it is sent',
        ),
    ],
    "needs-cycle": [
        (9, 'steps "first" → "second" → "first" wait on each other, so none can ever start'),
        (16, 'step "third" can never start: it waits on steps that wait on each other'),
    ],
    "needs-unknown": [(15, 'step "quarantine": needs "verfy", but there is no such step')],
    "repeat-without-max": [
        (12, 'step "temp-log": repeat has no "max", so it could go on for ever; add max'),
    ],
    "role-not-listed": [(11, 'step "assess": role "QA" is not listed in roles')],
    "safety-with-needs": [(16, 'safety step "people-safe" must never wait on other steps; remove "needs"')],
    "smoke-drill": [
        (
            9,
            'fire playbook: the first step "log-call" must be safety: true, so that it is shown first and never waits',
        ),
    ],
    "syntax-error": [(11, "this is not valid YAML: expected ',' or '}', but got ':'")],
    "unknown-action": [
        (
            13,
            'step "verify": unknown action "sms" '
            "(use 'notify_role', 'mqtt.publish', 'webhook', 'set_severity', 'start_playbook')",
        ),
    ],
    "unknown-answer": [
        (15, 'step "move": "answers.temp_c > 8" uses answers.temp_c, but no step asks for "temp_c"'),
    ],
    "unknown-key": [(12, 'step "call-119": unknown key "assignee" (did you mean "role"?)')],
    "when-too-early": [
        (
            17,
            'step "first-aid": "when" reads answers.injured, but the step does not wait for "people-safe", '
            "which asks for it; add it to needs",
        ),
    ],
    "unknown-role": [
        (11, 'step "verify": unknown role "BOSS" (roles are SL, WM, OD, SO, FW, MT, QA, IC, CS, TC, IT, SEC)'),
    ],
}


def test_every_broken_file_has_an_expectation() -> None:
    assert sorted(path.stem for path in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_playbook_fails_lint_at_the_right_line(name: str) -> None:
    path = BROKEN / f"{name}.yaml"

    problems = lint_paths([path])

    assert [(p.file, p.line, p.message) for p in problems] == [
        (str(path), line, message) for line, message in EXPECTED[name]
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_playbook_is_refused_by_the_loader(name: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(BROKEN / f"{name}.yaml")

    assert [(p.line, p.message) for p in caught.value.problems] == EXPECTED[name]


def test_linting_the_whole_directory_reports_every_file() -> None:
    problems = lint_paths([BROKEN])

    assert len(problems) == sum(len(found) for found in EXPECTED.values())
    assert {Path(problem.file).stem for problem in problems} == set(EXPECTED)
