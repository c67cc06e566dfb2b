"""Load playbook YAML files, refusing broken ones with the file, the line and what is wrong."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from playbooks.checks import check_playbook
from playbooks.explain import explain
from playbooks.problems import PlaybookError, Problem
from playbooks.schema import Playbook, StartPlaybook
from playbooks.yaml_lines import LineIndex

SUFFIXES = (".yaml", ".yml")
ANSWERS_SUFFIX = ".answers.yaml"
ANSWERS_SUFFIXES = (ANSWERS_SUFFIX, ".answers.yml")


@dataclass(frozen=True)
class LoadedPlaybook:
    """A valid playbook with where it came from and the hash of its exact bytes."""

    playbook: Playbook
    path: Path
    sha256: str
    source_lines: tuple[str, ...]
    line_index: LineIndex = field(repr=False, compare=False)

    def line(self, *path: str | int) -> int:
        """The line of a key or list item inside this file, e.g. line("steps", 0, "id")."""
        return self.line_index.line(path)


def load_playbook(path: Path | str) -> LoadedPlaybook:
    """Read, validate and check one playbook file (PlaybookError lists every problem)."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as error:
        raise PlaybookError([Problem(name, 1, f"cannot read the file ({error.strerror})")]) from error
    except UnicodeDecodeError as error:
        raise PlaybookError([Problem(name, 1, "the file is not UTF-8 text")]) from error
    try:
        lines = LineIndex.from_text(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlaybookError([_syntax_problem(name, error)]) from error
    problems = [Problem(name, line, f'key "{key}" is written twice') for line, key in lines.duplicate_keys()]
    if not isinstance(data, dict):
        not_mapping = Problem(name, 1, "a playbook must be a mapping (apiVersion:, id:, ...)")
        raise PlaybookError([*problems, not_mapping])
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            problems.append(Problem(name, lines.line(tuple(detail["loc"])), explain(detail, data)))
        raise PlaybookError(sorted(set(problems))) from error
    problems.extend(Problem(name, line, message) for line, message in check_playbook(playbook, lines))
    if problems:
        raise PlaybookError(sorted(problems))
    digest = hashlib.sha256(raw).hexdigest()
    return LoadedPlaybook(playbook, path, digest, tuple(text.splitlines()), lines)


def load_library(directory: Path | str) -> dict[str, LoadedPlaybook]:
    """Every playbook in `directory` by id; PlaybookError lists the problems of all files together."""
    loaded: list[LoadedPlaybook] = []
    problems: list[Problem] = []
    for path in playbook_files([Path(directory)]):
        try:
            loaded.append(load_playbook(path))
        except PlaybookError as error:
            problems.extend(error.problems)
    problems.extend(library_problems(loaded, known_ids=[item.playbook.id for item in loaded]))
    if problems:
        raise PlaybookError(problems)
    return {item.playbook.id: item for item in loaded}


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the playbook files anywhere under the directories named, sorted per directory.

    Hidden folders (``.venv``, ``.git``) and example answers scripts (``*.answers.yaml``, read by
    ``wareroom playbook simulate``) are not playbooks and are left out.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if _is_playbook_file(p, under=path)))
        else:
            files.append(path)
    return files


def answers_file(playbook: LoadedPlaybook) -> Path:
    """Where the example answers script of a playbook lives: ``<id>.answers.yaml`` beside its file."""
    return playbook.path.with_name(f"{playbook.playbook.id}{ANSWERS_SUFFIX}")


def _is_playbook_file(path: Path, *, under: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.relative_to(under).parts)
    return path.suffix in SUFFIXES and not path.name.endswith(ANSWERS_SUFFIXES) and not hidden and path.is_file()


def library_problems(loaded: Sequence[LoadedPlaybook], *, known_ids: Iterable[str]) -> list[Problem]:
    """Problems across files: an id, alert rule or command used twice, or start_playbook of an unknown id."""
    problems: list[Problem] = []
    claimed: dict[tuple[str, str], str] = {}
    known = set(known_ids)
    for item in loaded:
        pb, name = item.playbook, str(item.path)
        keys = [("id", pb.id, item.line("id"))]
        for kind, values in (("alert", pb.triggers.alerts), ("command", pb.triggers.commands)):
            keys += [(kind, value, item.line("triggers", f"{kind}s", i)) for i, value in enumerate(values)]
        for kind, value, line in keys:
            owner = claimed.setdefault((kind, value), name)
            if owner != name:
                problems.append(Problem(name, line, f'{kind} "{value}" is already used by {owner}'))
        for index, step in enumerate(pb.steps):
            for action_index, action in enumerate(step.actions):
                if isinstance(action, StartPlaybook) and action.playbook not in known:
                    line = item.line("steps", index, "actions", action_index, "playbook")
                    message = f'step "{step.id}": start_playbook "{action.playbook}" names no known playbook'
                    problems.append(Problem(name, line, message))
    return problems


def _syntax_problem(name: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(error, "problem", None) or "unreadable YAML"
    return Problem(name, line, f"this is not valid YAML: {problem}")
