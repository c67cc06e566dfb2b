"""The pure step walker: ordering, roles, confirmation, skips, timers, repeats and JSON round trips."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from playbooks.run_state import (
    Decision,
    RunState,
    StepClaimed,
    StepCompleted,
    StepRejected,
    StepSkipped,
    TimerFired,
)
from playbooks.schema import NotifyRole, Playbook
from playbooks.walker import apply, start

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

PLAYBOOK = Playbook.model_validate(
    yaml.safe_load(
        """
apiVersion: playbook.warehouse/v1
id: walker-test
version: 2
title: {zh: 测试, en: Test}
severity: SEV2
triggers: {commands: [walk]}
roles: [SL, WM, MT, QA]
steps:
  - id: verify
    title: {zh: 核实, en: Verify}
    role: SL
    fallback_roles: [MT]
    input: {type: number, id: temp_c, label: {zh: 温度, en: Temperature}, unit: "°C", min: -40, max: 60}
    timeouts: {ack: 5m, complete: 15m, on_timeout: escalate, escalate_to: WM}
  - id: people-safe
    title: {zh: 人员安全, en: People safe}
    role: anyone
    safety: true
  - id: decide
    title: {zh: 决定, en: Decide}
    role: WM
    branches:
      - when: answers.temp_c > 8
        goto: move
      - goto: watch
  - id: move
    title: {zh: 转移, en: Move}
    role: SL
    actions:
      - {action: notify_role, role: QA, message: {zh: 已转移, en: Moved}}
  - id: watch
    title: {zh: 观察, en: Watch}
    role: SL
    repeat: {every: 15m, max: 3}
    timeouts: {complete: 10m, on_timeout: remind}
  - id: release
    title: {zh: 放行, en: Release}
    role: SL
    fallback_roles: [QA]
    confirm: two_person
    needs: [move, watch]
"""
    )
)


def started() -> Decision:
    return start(PLAYBOOK, now=T0, context={})


def do(decision: Decision, event: object, minutes: int = 0) -> Decision:
    assert isinstance(event, StepCompleted | StepSkipped | StepClaimed | TimerFired)
    return apply(PLAYBOOK, decision.state, event, now=T0 + timedelta(minutes=minutes), context={})


def test_safety_step_is_active_first_and_never_waits() -> None:
    decision = started()

    assert decision.active == ("people-safe", "verify")
    assert decision.state.steps["people-safe"].status == "active"
    assert decision.state.steps["decide"].status == "pending"


def test_start_arms_ack_and_complete_deadlines_with_escalation() -> None:
    deadlines = started().deadlines

    assert [(d.step_id, d.kind, d.due_at, d.escalate_to, d.token) for d in deadlines] == [
        ("verify", "ack", T0 + timedelta(minutes=5), "WM", "verify:ack:1"),
        ("verify", "complete", T0 + timedelta(minutes=15), "WM", "verify:complete:2"),
    ]


def test_completing_without_the_role_is_refused() -> None:
    with pytest.raises(StepRejected) as caught:
        do(started(), StepCompleted("verify", "qa-anna", ("QA",), 5))

    assert (caught.value.zh, caught.value.en) == ("只有 SL/MT 可以完成此步骤", "only SL/MT may complete this step")


def test_fallback_role_and_anyone_may_complete() -> None:
    decision = do(started(), StepCompleted("verify", "mt-li", ("MT",), 5))
    decision = do(decision, StepCompleted("people-safe", "visitor", ()))

    assert decision.state.steps["verify"].done_by == ("mt-li",)
    assert decision.state.steps["people-safe"].status == "done"


def test_answer_outside_the_range_is_refused() -> None:
    with pytest.raises(StepRejected) as caught:
        do(started(), StepCompleted("verify", "sl-wang", ("SL",), 75))

    assert caught.value.en == "Temperature must be at most 60 °C"


def test_branch_follows_the_answer_and_skips_the_other_target() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 9.6))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))

    assert decision.state.steps["decide"].chosen == "move"
    assert decision.active == ("people-safe", "move")
    assert decision.state.steps["watch"].status == "pending"  # it comes after "move", so it waits for it
    decision = do(decision, StepCompleted("move", "sl-wang", ("SL",)))
    assert decision.state.steps["watch"].status == "skipped"
    assert decision.state.steps["watch"].skip_reason == "branch not taken"
    assert decision.active == ("people-safe", "release")


def test_other_branch_when_the_expression_is_false() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 4.0))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))

    assert decision.state.steps["move"].status == "skipped"
    assert decision.active == ("people-safe", "watch")


def test_actions_carry_stable_idempotency_keys() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 9.6))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))
    decision = do(decision, StepCompleted("move", "sl-wang", ("SL",)))

    assert [(a.key, a.step_id, a.action.action) for a in decision.actions] == [("move:1:done:0", "move", "notify_role")]


def test_two_person_step_needs_two_different_people() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 9.6))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))
    decision = do(decision, StepCompleted("move", "sl-wang", ("SL",)))
    decision = do(decision, StepCompleted("release", "sl-wang", ("SL",)))

    assert decision.state.steps["release"].status == "active"
    with pytest.raises(StepRejected) as caught:
        do(decision, StepCompleted("release", "sl-wang", ("SL",)))
    assert caught.value.en == "the second confirmation must come from another person"

    decision = do(decision, StepCompleted("release", "qa-chen", ("QA",)))
    decision = do(decision, StepCompleted("people-safe", "sl-wang", ("SL",)))
    assert decision.state.steps["release"].done_by == ("sl-wang", "qa-chen")
    assert decision.finished is True
    assert decision.deadlines == ()


def test_skip_without_a_reason_is_refused_in_both_languages() -> None:
    with pytest.raises(StepRejected) as caught:
        do(started(), StepSkipped("verify", "sl-wang", "   "))

    assert (caught.value.zh, caught.value.en) == ("跳过步骤必须填写原因", "a reason is required to skip a step")


def test_skip_with_a_reason_records_who_and_why_and_clears_timers() -> None:
    decision = do(started(), StepSkipped("verify", "sl-wang", "sensor under maintenance"))

    step = decision.state.steps["verify"]
    assert (step.status, step.skipped_by, step.skip_reason, step.timers) == (
        "skipped",
        "sl-wang",
        "sensor under maintenance",
        (),
    )
    assert decision.active == ("people-safe", "decide")


def test_ack_timeout_escalates_once_and_stale_token_does_nothing() -> None:
    decision = do(started(), TimerFired("verify", "ack", "verify:ack:1"), minutes=5)

    assert [(a.key, a.action) for a in decision.actions] == [
        (
            "verify:1:ack-timeout",
            NotifyRole.model_validate(
                {
                    "action": "notify_role",
                    "role": "WM",
                    "message": {
                        "zh": "「核实」5m 内未认领，已升级给 WM",
                        "en": '"Verify" was not claimed within 5m; escalated to WM',
                    },
                }
            ),
        )
    ]
    again = do(decision, TimerFired("verify", "ack", "verify:ack:1"), minutes=6)
    assert again.state == decision.state
    assert again.actions == ()


def test_claim_cancels_the_ack_timer() -> None:
    decision = do(started(), StepClaimed("verify", "sl-wang"), minutes=1)

    assert [d.kind for d in decision.deadlines] == ["complete"]
    late = do(decision, TimerFired("verify", "ack", "verify:ack:1"), minutes=5)
    assert late.actions == ()


def test_complete_timeout_marks_the_step_overdue_but_still_completable() -> None:
    decision = do(started(), TimerFired("verify", "complete", "verify:complete:2"), minutes=15)

    assert decision.state.steps["verify"].status == "overdue"
    assert decision.active == ("people-safe", "verify")
    done = do(decision, StepCompleted("verify", "sl-wang", ("SL",), 3), minutes=16)
    assert done.state.steps["verify"].status == "done"


def test_repeat_comes_back_until_the_limit() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 4.0))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))
    iterations = []
    for round_ in range(3):
        minute = round_ * 20
        decision = do(decision, StepCompleted("watch", "sl-wang", ("SL",)), minutes=minute)
        repeats = [d for d in decision.deadlines if d.kind == "repeat"]
        iterations.append((decision.state.steps["watch"].times_done, [d.due_at for d in repeats]))
        if repeats:
            decision = do(decision, TimerFired("watch", "repeat", repeats[0].token), minutes=minute + 15)
            assert decision.state.steps["watch"].status == "active"

    assert iterations == [
        (1, [T0 + timedelta(minutes=15)]),
        (2, [T0 + timedelta(minutes=35)]),
        (3, []),
    ]
    assert decision.messages[-1].en == "repeated 3 times; limit reached"


def test_release_waits_for_the_first_watch_only() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 4.0))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))
    decision = do(decision, StepCompleted("watch", "sl-wang", ("SL",)))

    assert decision.state.steps["release"].status == "active"


def test_run_state_round_trips_through_json() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 9.6))
    decision = do(decision, StepCompleted("decide", "wm-zhao", ("WM",)))
    decision = do(decision, StepSkipped("move", "wm-zhao", "already moved"))

    data = decision.state.to_json()

    assert RunState.from_json(data) == decision.state
    assert RunState.from_json(json.loads(json.dumps(data))) == decision.state
    assert data["answers"] == {"temp_c": 9.6}
    assert data["steps"]["move"]["skip_reason"] == "already moved"


def test_unknown_or_finished_steps_are_refused() -> None:
    decision = do(started(), StepCompleted("verify", "sl-wang", ("SL",), 4.0))

    with pytest.raises(StepRejected):
        do(decision, StepCompleted("verify", "sl-wang", ("SL",), 4.0))
    with pytest.raises(StepRejected):
        do(decision, StepCompleted("nope", "sl-wang", ("SL",)))


def test_a_state_from_another_playbook_version_is_refused() -> None:
    state = started().state
    other = RunState(state.playbook_id, 1, state.started_at, state.steps)

    with pytest.raises(ValueError):
        apply(PLAYBOOK, other, StepClaimed("verify", "sl-wang"), now=T0)
