"""A pure step walker: given a playbook, a run's state, an event and the clock, decide what comes next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from playbooks.answers import check_answer
from playbooks.durations import parse_duration
from playbooks.expressions import holds
from playbooks.graph import branch_gates, dependencies, group_of
from playbooks.run_state import (
    ActionRequest,
    Answer,
    Deadline,
    Decision,
    Event,
    Message,
    RunState,
    SkipKind,
    StepClaimed,
    StepCompleted,
    StepRejected,
    StepSkipped,
    StepState,
    Timer,
    TimerFired,
    TimerKind,
)
from playbooks.schema import ANYONE, GroupPart, NotifyRole, Playbook, Step, Text

MAX_REMINDERS = 3
_SKIP_REASON_ZH: dict[str, str] = {"branch": "未选择该分支", "condition": "条件不满足"}
SHOWN = ("active", "overdue")
RESOLVED = ("done", "skipped")


def start(playbook: Playbook, *, now: datetime, context: Mapping[str, object] | None = None) -> Decision:
    """Begin a run: safety steps and the steps that wait on nothing become active."""
    steps = {step.id: StepState() for step in playbook.all_steps()}
    state = RunState(playbook.id, playbook.version, now, steps)
    run = _Run(playbook, state, now, context or {})
    run.settle()
    return run.decision()


def apply(
    playbook: Playbook,
    state: RunState,
    event: Event,
    *,
    now: datetime,
    context: Mapping[str, object] | None = None,
) -> Decision:
    """Apply one event to a run (StepRejected if it is not allowed) and settle what follows."""
    if (state.playbook_id, state.playbook_version) != (playbook.id, playbook.version):
        raise ValueError(
            f"run is for {state.playbook_id} v{state.playbook_version}, not {playbook.id} v{playbook.version}"
        )
    run = _Run(playbook, state, now, context or {})
    if isinstance(event, StepCompleted):
        run.complete(event)
    elif isinstance(event, StepSkipped):
        run.skip(event)
    elif isinstance(event, StepClaimed):
        run.claim(event)
    else:
        run.timer(event)
    run.settle()
    return run.decision()


class _Run:
    """A working copy of a RunState while one event is applied."""

    def __init__(self, playbook: Playbook, state: RunState, now: datetime, context: Mapping[str, object]) -> None:
        self.playbook = playbook
        self.state = state
        self.steps = dict(state.steps)
        self.answers = dict(state.answers)
        self.names: dict[str, Answer] = {s.input.id: None for s in playbook.all_steps() if s.input is not None}
        self.seq = state.seq
        self.finished = state.finished
        self.now = now
        self.context = context
        self.actions: list[ActionRequest] = []
        self.messages: list[Message] = []
        self.deps = dependencies(playbook)
        self.gates = branch_gates(playbook)
        self.groups = group_of(playbook)

    # events

    def complete(self, event: StepCompleted) -> None:
        step = self._step(event.step_id)
        current = self._shown(step)
        if isinstance(step, Step) and step.is_group:
            raise StepRejected(
                f"「{step.title.zh}」在其各分项完成后自动完成",
                f'"{step.title.en}" is done when its parts are',
            )
        allowed = {step.role, *step.fallback_roles}
        if step.role != ANYONE and not allowed.intersection(event.actor_roles):
            names = "/".join(role for role in [step.role, *step.fallback_roles] if role)
            raise StepRejected(f"只有 {names} 可以完成此步骤", f"only {names} may complete this step")
        answer = check_answer(step.input, event.answer)
        if step.quorum is not None:
            if event.actor in current.done_by:
                raise StepRejected("您已确认过此步骤", "you have already confirmed this step")
            done_by = (*current.done_by, event.actor)
            need = event.quorum_size or 1
            if len(done_by) < need:
                self.steps[step.id] = replace(current, done_by=done_by, first_answer=current.first_answer or answer)
                self._say(step.id, f"{event.actor} 已确认 {len(done_by)}/{need}",
                          f"{event.actor} confirmed: {len(done_by)} of {need}")
                return
            self._finish(step, event.actor, answer)
            return
        if step.confirm == "two_person":
            if event.actor in current.done_by:
                raise StepRejected(
                    "第二次确认必须由另一人完成", "the second confirmation must come from another person"
                )
            if current.done_by and step.input is not None and answer != current.first_answer:
                raise StepRejected("两人的答案不一致", "the two people gave different answers")
            if not current.done_by:
                self.steps[step.id] = replace(current, done_by=(event.actor,), first_answer=answer)
                self._say(step.id, "已确认 1/2，等待第二人确认", "confirmed 1 of 2; waiting for a second person")
                return
        self._finish(step, event.actor, answer)

    def skip(self, event: StepSkipped) -> None:
        if not event.reason.strip():
            raise StepRejected("跳过步骤必须填写原因", "a reason is required to skip a step")
        step = self._step(event.step_id)
        current = self.steps[step.id]
        if current.status in RESOLVED:
            raise StepRejected("该步骤已结束", "this step is already finished")
        self._set_skipped(step.id, "person", event.reason.strip(), by=event.actor)
        for part in step.parallel or [] if isinstance(step, Step) else []:
            if self.steps[part.id].status not in RESOLVED:
                self._set_skipped(part.id, "person", event.reason.strip(), by=event.actor)

    def claim(self, event: StepClaimed) -> None:
        step = self._step(event.step_id)
        current = self._shown(step)
        timers = tuple(timer for timer in current.timers if timer.kind not in ("ack", "reminder"))
        self.steps[step.id] = replace(current, claimed_by=event.actor, timers=timers)

    def timer(self, event: TimerFired) -> None:
        current = self.steps.get(event.step_id)
        live = [t for t in current.timers if (t.kind, t.token) == (event.kind, event.token)] if current else []
        if current is None or not live:
            return
        step = self.playbook.step(event.step_id)
        current = replace(current, timers=tuple(t for t in current.timers if t is not live[0]))
        self.steps[step.id] = current
        if event.kind == "repeat":
            self._next_iteration(step)
        elif event.kind == "reminder":
            self._remind(step)
        else:
            self._timed_out(step, event.kind)

    # settling

    def settle(self) -> None:
        """Start, skip and close steps until nothing changes."""
        changed = True
        while changed:
            changed = False
            for step in self.playbook.all_steps():
                if self.steps[step.id].status == "pending" and self._try_start(step):
                    changed = True
            for step in self.playbook.steps:
                parts = step.parallel or []
                if parts and self.steps[step.id].status in SHOWN and all(self._resolved(p.id) for p in parts):
                    self._finish(step, None, None)
                    changed = True
        if not self.finished and all(state.status in RESOLVED for state in self.steps.values()):
            self.finished = True
            for step_id, state in self.steps.items():
                self.steps[step_id] = replace(state, timers=())
            self._say(None, "预案已全部完成", "playbook finished")

    def _try_start(self, step: Step | GroupPart) -> bool:
        group_id = self.groups.get(step.id)
        group = self.playbook.step(group_id) if group_id else None
        if step.safety or (group is not None and group.safety):
            self._activate(step)
            return True
        deps = self.deps[step.id]
        if group_id is not None:
            group_state = self.steps[group_id]
            if group_state.status == "skipped":
                self._set_skipped(step.id, group_state.skip_kind or "person", "its group was skipped", by=None)
                return True
            if group_state.status not in SHOWN:
                return False
        elif not all(self._resolved(dep) for dep in deps):
            return False
        deciders = self.gates.get(step.id, ())
        not_chosen = bool(deciders) and all(self.steps[d].chosen != step.id for d in deciders)
        on_dead_path = not deciders and group_id is None and bool(deps) and all(self._dead(d) for d in deps)
        if not_chosen or on_dead_path:
            self._set_skipped(step.id, "branch", "branch not taken", by=None)
        elif step.when is not None and holds(step.when, self._answers(), self.context) is False:
            self._set_skipped(step.id, "condition", f"condition not met: {step.when}", by=None)
        else:
            if step.when is not None and holds(step.when, self._answers(), self.context) is None:
                self._say(
                    step.id,
                    f"无法判断条件 {step.when}，步骤照常显示",
                    f"could not check {step.when}; step shown",
                )
            self._activate(step)
        return True

    def _resolved(self, step_id: str) -> bool:
        state = self.steps[step_id]
        return state.status in RESOLVED or state.times_done > 0

    def _dead(self, step_id: str) -> bool:
        return self.steps[step_id].skip_kind == "branch"

    # transitions

    def _activate(self, step: Step | GroupPart) -> None:
        current = self.steps[step.id]
        current = StepState(
            status="active",
            iteration=current.iteration + 1,
            times_done=current.times_done,
            started_at=self.now,
        )
        self.steps[step.id] = current
        timers: list[Timer] = []
        if step.timeouts is not None and step.timeouts.ack is not None:
            timers.append(self._timer(step.id, "ack", parse_duration(step.timeouts.ack)))
        if step.timeouts is not None and step.timeouts.complete is not None:
            timers.append(self._timer(step.id, "complete", parse_duration(step.timeouts.complete)))
        self.steps[step.id] = replace(current, timers=tuple(timers))
        self._run_actions(step, "start")

    def _finish(self, step: Step | GroupPart, actor: str | None, answer: Answer) -> None:
        current = self.steps[step.id]
        if step.input is not None:
            self.answers[step.input.id] = answer
        done_by = (*current.done_by, actor) if actor is not None else current.done_by
        self.steps[step.id] = replace(
            current,
            status="done",
            times_done=current.times_done + 1,
            done_by=done_by,
            finished_at=self.now,
            timers=(),
        )
        self._run_actions(step, "done")
        if isinstance(step, Step) and step.branches:
            self._choose(step)
        if isinstance(step, Step) and step.repeat is not None:
            self._schedule_repeat(step)

    def _choose(self, step: Step) -> None:
        for branch in step.branches or []:
            verdict = True if branch.when is None else holds(branch.when, self._answers(), self.context)
            if verdict:
                self.steps[step.id] = replace(self.steps[step.id], chosen=branch.goto)
                target = self.playbook.step(branch.goto).title
                self._say(step.id, f"转到「{target.zh}」", f'next: "{target.en}"')
                return
            if verdict is None:
                self._say(step.id, f"无法判断 {branch.when}", f"could not check {branch.when}")
        self._say(step.id, "没有匹配的分支", "no branch matched")

    def _schedule_repeat(self, step: Step) -> None:
        repeat = step.repeat
        assert repeat is not None
        count = self.steps[step.id].times_done
        if repeat.max is not None and count >= repeat.max:
            self._say(step.id, f"已重复 {count} 次，达到上限", f"repeated {count} times; limit reached")
        elif repeat.until is not None and holds(repeat.until, self._answers(), self.context):
            self._say(step.id, "停止条件已满足，不再重复", "stop condition met; no more repeats")
        else:
            timer = self._timer(step.id, "repeat", parse_duration(repeat.every))
            self.steps[step.id] = replace(self.steps[step.id], timers=(timer,))

    def _next_iteration(self, step: Step | GroupPart) -> None:
        repeat = step.repeat if isinstance(step, Step) else None
        if repeat is not None and repeat.until is not None and holds(repeat.until, self._answers(), self.context):
            self._say(step.id, "停止条件已满足，不再重复", "stop condition met; no more repeats")
            return
        self._activate(step)

    def _timed_out(self, step: Step | GroupPart, kind: TimerKind) -> None:
        current = self.steps[step.id]
        if current.status not in SHOWN or (kind == "ack" and current.claimed_by is not None):
            return
        if kind == "complete":
            self.steps[step.id] = replace(current, status="overdue")
        timeouts = step.timeouts
        assert timeouts is not None
        limit = timeouts.ack if kind == "ack" else timeouts.complete
        what_zh, what_en = ("认领", "claimed") if kind == "ack" else ("完成", "done")
        if timeouts.on_timeout == "escalate" and timeouts.escalate_to is not None:
            text = Text(
                zh=f"「{step.title.zh}」{limit} 内未{what_zh}，已升级给 {timeouts.escalate_to}",
                en=f'"{step.title.en}" was not {what_en} within {limit}; escalated to {timeouts.escalate_to}',
            )
            self._notify(step, timeouts.escalate_to, text, f"{kind}-timeout")
            self._say(step.id, text.zh, text.en)
            if step.quorum is not None:  # the holders who have not confirmed are reminded as well
                self._remind(step, first=True)
        else:
            self._remind(step, first=True)

    def _remind(self, step: Step | GroupPart, *, first: bool = False) -> None:
        current = self.steps[step.id]
        if current.status not in SHOWN:
            return
        count = 1 if first else current.reminders + 1
        text = Text(
            zh=f"提醒（{count}）：「{step.title.zh}」尚未完成",
            en=f'Reminder {count}: "{step.title.en}" is waiting',
        )
        role = step.role
        if role is not None and role != ANYONE:
            self._notify(step, role, text, f"reminder-{count}")
        self._say(step.id, text.zh, text.en)
        timers = current.timers
        timeouts = step.timeouts
        if count < MAX_REMINDERS and timeouts is not None:
            every = parse_duration(timeouts.ack or timeouts.complete or "5m")
            timers = (*timers, self._timer(step.id, "reminder", every))
        self.steps[step.id] = replace(current, reminders=count, timers=timers)

    def _set_skipped(self, step_id: str, kind: SkipKind, reason: str, *, by: str | None) -> None:
        current = self.steps[step_id]
        self.steps[step_id] = replace(
            current,
            status="skipped",
            skip_kind=kind,
            skip_reason=reason,
            skipped_by=by,
            finished_at=self.now,
            timers=(),
        )
        if kind != "person":
            title = self.playbook.step(step_id).title
            zh_reason = _SKIP_REASON_ZH.get(kind, reason)
            self._say(step_id, f"已跳过「{title.zh}」：{zh_reason}", f'skipped "{title.en}": {reason}')

    # helpers

    def _step(self, step_id: str) -> Step | GroupPart:
        try:
            return self.playbook.step(step_id)
        except KeyError:
            raise StepRejected(f"没有步骤 {step_id}", f"there is no step {step_id}") from None

    def _shown(self, step: Step | GroupPart) -> StepState:
        current = self.steps[step.id]
        if current.status not in SHOWN:
            raise StepRejected(
                f"「{step.title.zh}」当前不可操作（{current.status}）",
                f'"{step.title.en}" is not active ({current.status})',
            )
        return current

    def _timer(self, step_id: str, kind: TimerKind, after: timedelta) -> Timer:
        self.seq += 1
        return Timer(kind=kind, due_at=self.now + after, token=f"{step_id}:{kind}:{self.seq}")

    def _run_actions(self, step: Step | GroupPart, at: str) -> None:
        iteration = self.steps[step.id].iteration
        for index, action in enumerate(step.actions):
            if action.at == at:
                self.actions.append(ActionRequest(f"{step.id}:{iteration}:{at}:{index}", step.id, action))

    def _notify(self, step: Step | GroupPart, role: str, text: Text, suffix: str) -> None:
        iteration = self.steps[step.id].iteration
        action = NotifyRole.model_validate({"action": "notify_role", "role": role, "message": text.model_dump()})
        self.actions.append(ActionRequest(f"{step.id}:{iteration}:{suffix}", step.id, action))

    def _answers(self) -> dict[str, Answer]:
        """Every answer name a step asks for (None until answered), for expressions."""
        return {**self.names, **self.answers}

    def _say(self, step_id: str | None, zh: str, en: str) -> None:
        self.messages.append(Message(step_id, zh, en))

    def decision(self) -> Decision:
        """Freeze the working copy into a Decision."""
        state = RunState(
            self.state.playbook_id,
            self.state.playbook_version,
            self.state.started_at,
            self.steps,
            self.answers,
            self.seq,
            self.finished,
        )
        return Decision(
            state=state,
            active=self._active(),
            deadlines=self._deadlines(),
            actions=tuple(self.actions),
            messages=tuple(self.messages),
            finished=self.finished,
        )

    def _active(self) -> tuple[str, ...]:
        shown = [
            (not self._is_safety(step), index, step.id)
            for index, step in enumerate(self.playbook.all_steps())
            if self.steps[step.id].status in SHOWN and not (isinstance(step, Step) and step.is_group)
        ]
        return tuple(step_id for _, _, step_id in sorted(shown))

    def _is_safety(self, step: Step | GroupPart) -> bool:
        group_id = self.groups.get(step.id)
        return step.safety or (group_id is not None and self.playbook.step(group_id).safety)

    def _deadlines(self) -> tuple[Deadline, ...]:
        found: list[Deadline] = []
        for step in self.playbook.all_steps():
            timeouts = step.timeouts
            for timer in self.steps[step.id].timers:
                escalates = (
                    timeouts is not None and timeouts.on_timeout == "escalate" and timer.kind in ("ack", "complete")
                )
                target = timeouts.escalate_to if escalates and timeouts is not None else None
                found.append(Deadline(step.id, timer.kind, timer.due_at, target, timer.token))
        return tuple(sorted(found, key=lambda d: (d.due_at, d.token)))
