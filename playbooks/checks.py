"""Semantic checks of one playbook: references, loops, roles, timeouts, expressions, life safety."""

from __future__ import annotations

from collections.abc import Iterator

from playbooks.durations import parse_duration
from playbooks.expressions import answer_names, expression_errors
from playbooks.graph import branch_gates, dependencies, group_of
from playbooks.schema import GroupPart, MqttPublish, NotifyRole, Playbook, StartPlaybook, Step
from playbooks.yaml_lines import LineIndex, PathPart

Path = tuple[PathPart, ...]
Finding = tuple[int, str]
FIRE_WORDS = ("fire", "smoke", "火", "烟")


def check_playbook(playbook: Playbook, lines: LineIndex) -> list[Finding]:
    """(line, message) for every semantic problem in `playbook`."""
    findings = list(_ids(playbook, lines))
    if any("is used twice" in message for _, message in findings):
        return sorted(findings)  # the other checks look steps up by id
    for check in (_roles, _references, _loops, _safety, _timeouts, _expressions, _answers_in_time, _fire_first):
        findings.extend(check(playbook, lines))
    return sorted(findings)


def steps_with_paths(playbook: Playbook) -> Iterator[tuple[Step | GroupPart, Path]]:
    """Every step and group part in document order, with its YAML path (("steps", 2, "parallel", 0))."""
    for index, step in enumerate(playbook.steps):
        yield step, ("steps", index)
        for part_index, part in enumerate(step.parallel or []):
            yield part, ("steps", index, "parallel", part_index)


def _ids(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    first_line: dict[str, int] = {}
    asked_by: dict[str, str] = {}
    for step, path in steps_with_paths(playbook):
        line = lines.line((*path, "id"))
        if step.id in first_line:
            yield line, f'step id "{step.id}" is used twice (first at line {first_line[step.id]})'
        first_line.setdefault(step.id, line)
        if step.input is not None:
            name = step.input.id
            if name in asked_by:
                yield (
                    lines.line((*path, "input", "id")),
                    f'step "{step.id}": answer name "{name}" is already asked by step "{asked_by[name]}"',
                )
            asked_by.setdefault(name, step.id)


def _roles(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    declared = set(playbook.roles)
    if playbook.owner is not None and playbook.owner not in declared:
        yield lines.line(("owner",)), f'owner role "{playbook.owner}" is not listed in roles'
    for step, path in steps_with_paths(playbook):
        used: list[tuple[str, Path]] = []
        if step.role is not None and step.role != "anyone":
            used.append((step.role, (*path, "role")))
        used.extend((role, (*path, "fallback_roles", i)) for i, role in enumerate(step.fallback_roles))
        if step.timeouts is not None and step.timeouts.escalate_to is not None:
            used.append((step.timeouts.escalate_to, (*path, "timeouts", "escalate_to")))
        for i, action in enumerate(step.actions):
            if isinstance(action, NotifyRole):
                used.append((action.role, (*path, "actions", i, "role")))
            if isinstance(action, MqttPublish):
                used.append((action.confirm_by, (*path, "actions", i, "confirm_by")))
        for role, role_path in used:
            if role not in declared:
                yield lines.line(role_path), f'step "{step.id}": role "{role}" is not listed in roles'


def _references(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    ids = {step.id for step, _ in steps_with_paths(playbook)}
    parts = group_of(playbook)
    order = {step.id: index for index, step in enumerate(playbook.steps)}
    for step, path in steps_with_paths(playbook):
        for action_index, action in enumerate(step.actions):
            if isinstance(action, StartPlaybook) and action.playbook == playbook.id:
                line = lines.line((*path, "actions", action_index, "playbook"))
                yield line, f'step "{step.id}": start_playbook starts this same playbook, which never ends'
    for index, step in enumerate(playbook.steps):
        path = ("steps", index)
        for i, need in enumerate(step.needs or []):
            if need not in ids:
                message = f'step "{step.id}": needs "{need}", but there is no such step'
                yield lines.line((*path, "needs", i)), message
        branches = step.branches or []
        for i, branch in enumerate(branches):
            line = lines.line((*path, "branches", i, "goto"))
            if branch.goto not in ids:
                yield line, f'step "{step.id}": goto "{branch.goto}", but there is no such step'
            elif branch.goto in parts:
                yield (
                    line,
                    (
                        f'step "{step.id}": goto "{branch.goto}" points inside the parallel group '
                        f'"{parts[branch.goto]}"; point to the group instead'
                    ),
                )
            elif order[branch.goto] <= index:
                yield (
                    line,
                    (
                        f'step "{step.id}": goto "{branch.goto}" jumps back to an earlier step, which makes '
                        'a loop without a limit; use "repeat" with "max" to ask again'
                    ),
                )
        for i, branch in enumerate(branches[:-1]):
            if branch.when is None:
                yield (
                    lines.line((*path, "branches", i + 1)),
                    (
                        f'step "{step.id}": branch {i + 2} can never be taken because branch {i + 1} '
                        'before it has no "when"'
                    ),
                )


def _loops(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    graph = _wait_graph(playbook)
    stuck: set[str] = set()
    for index, step in enumerate(playbook.steps):
        loop = _find_loop(step.id, graph)
        if loop is not None and not stuck.intersection(loop):
            chain = " → ".join(f'"{member}"' for member in [*loop, loop[0]])
            message = f"steps {chain} wait on each other, so none can ever start"
            yield lines.line(("steps", index, "id")), message
            stuck.update(loop)
    for index, step in enumerate(playbook.steps):
        if step.id not in stuck and _waits_on(step.id, graph, stuck):
            yield (
                lines.line(("steps", index, "id")),
                (f'step "{step.id}" can never start: it waits on steps that wait on each other'),
            )
        if step.repeat is not None and step.repeat.max is None:
            yield (
                lines.line(("steps", index, "repeat")),
                (f'step "{step.id}": repeat has no "max", so it could go on for ever; add max'),
            )


def _wait_graph(playbook: Playbook) -> dict[str, list[str]]:
    """Top-level step id -> the top-level steps it waits on (backward gotos are reported elsewhere)."""
    deps = dependencies(playbook)
    gates = branch_gates(playbook)
    parts = group_of(playbook)
    order = {step.id: index for index, step in enumerate(playbook.steps)}
    graph: dict[str, list[str]] = {}
    for step in playbook.steps:
        waits: list[str] = []
        for dep in deps[step.id] if not step.safety else ():
            backward_goto = dep in gates.get(step.id, ()) and order[dep] >= order[step.id]
            waited = parts.get(dep, dep)
            if waited in order and not backward_goto:
                waits.append(waited)
        graph[step.id] = waits
    return graph


def _find_loop(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle through `start` as a list of ids beginning with `start`, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return trail
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


def _waits_on(start: str, graph: dict[str, list[str]], targets: set[str]) -> bool:
    pending, seen = list(graph.get(start, [])), set()
    while pending:
        node = pending.pop()
        if node in targets:
            return True
        if node not in seen:
            seen.add(node)
            pending.extend(graph.get(node, []))
    return False


def _safety(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    for index, step in enumerate(playbook.steps):
        for branch_index, branch in enumerate(step.branches or []):
            target = next((s for s in playbook.steps if s.id == branch.goto), None)
            if target is not None and target.safety:
                yield (
                    lines.line(("steps", index, "branches", branch_index, "goto")),
                    (
                        f'step "{step.id}": goto "{branch.goto}" points to a safety step; '
                        "safety steps are always shown and cannot be branch targets"
                    ),
                )
    for item, path in steps_with_paths(playbook):
        if not item.safety:
            continue
        if isinstance(item, Step) and item.needs:
            yield (
                lines.line((*path, "needs")),
                (f'safety step "{item.id}" must never wait on other steps; remove "needs"'),
            )
        if item.when is not None:
            yield lines.line((*path, "when")), f'safety step "{item.id}" must always be shown; remove "when"'


def _timeouts(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    for step, path in steps_with_paths(playbook):
        timeouts = step.timeouts
        if timeouts is None or timeouts.ack is None or timeouts.complete is None:
            continue
        if parse_duration(timeouts.ack) > parse_duration(timeouts.complete):
            yield (
                lines.line((*path, "timeouts", "ack")),
                (
                    f'step "{step.id}": the ack timeout {timeouts.ack} is longer than '
                    f"the completion timeout {timeouts.complete}"
                ),
            )


def _expressions(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    names = {s.input.id for s, _ in steps_with_paths(playbook) if s.input is not None}
    for item, path in steps_with_paths(playbook):
        found: list[tuple[str, Path]] = []
        if item.when is not None:
            found.append((item.when, (*path, "when")))
        if isinstance(item, Step):
            found.extend(
                (branch.when, (*path, "branches", i, "when"))
                for i, branch in enumerate(item.branches or [])
                if branch.when is not None
            )
            if item.repeat is not None and item.repeat.until is not None:
                found.append((item.repeat.until, (*path, "repeat", "until")))
        for expression, expression_path in found:
            for error in expression_errors(expression, names):
                yield lines.line(expression_path), f'step "{item.id}": {error}'


def _answers_in_time(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    """A `when` must wait on the step that asks for the answer it reads, or it is judged too early."""
    deps = dependencies(playbook)
    asked_by = {s.input.id: s.id for s, _ in steps_with_paths(playbook) if s.input is not None}
    for item, path in steps_with_paths(playbook):
        if item.when is None:
            continue
        before = _ancestors(item.id, deps)
        for name in sorted(answer_names(item.when)):
            source = asked_by.get(name)
            if source is not None and source not in before:
                yield (
                    lines.line((*path, "when")),
                    (
                        f'step "{item.id}": "when" reads answers.{name}, but the step does not wait for '
                        f'"{source}", which asks for it; add it to needs'
                    ),
                )


def _ancestors(step_id: str, deps: dict[str, tuple[str, ...]]) -> set[str]:
    found: set[str] = set()
    pending = list(deps.get(step_id, ()))
    while pending:
        dep = pending.pop()
        if dep not in found:
            found.add(dep)
            pending.extend(deps.get(dep, ()))
    return found


def is_fire_playbook(playbook: Playbook) -> bool:
    """True when the playbook's id, alerts, metrics or commands name fire or smoke (火, 烟)."""
    triggers = playbook.triggers
    words = [playbook.id, *triggers.alerts, *triggers.metrics, *triggers.commands]
    return any(fire in word.lower() for word in words for fire in FIRE_WORDS)


def _fire_first(playbook: Playbook, lines: LineIndex) -> Iterator[Finding]:
    if not is_fire_playbook(playbook):
        return
    first = playbook.steps[0]
    if not first.safety:
        yield (
            lines.line(("steps", 0, "id")),
            (
                f'fire playbook: the first step "{first.id}" must be safety: true, '
                "so that it is shown first and never waits"
            ),
        )
