"""Lint playbook files and directories: load errors, semantic checks and problems across files."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from playbooks.loader import LoadedPlaybook, library_problems, load_playbook, playbook_files
from playbooks.problems import PlaybookError, Problem

LIBRARY = Path(__file__).parent / "library"


def lint_paths(paths: Sequence[Path]) -> list[Problem]:
    """Every problem in the named files and in the YAML files directly inside the named directories."""
    problems: list[Problem] = []
    loaded: list[LoadedPlaybook] = []
    for path in playbook_files(paths):
        try:
            item = load_playbook(path)
        except PlaybookError as error:
            problems.extend(error.problems)
            continue
        loaded.append(item)
        if item.path.stem != item.playbook.id:
            message = f'the file name should match the id "{item.playbook.id}" ({item.playbook.id}.yaml)'
            problems.append(Problem(str(item.path), item.line("id"), message))
    known = {item.playbook.id for item in loaded} | _sibling_ids(loaded)
    problems.extend(library_problems(loaded, known_ids=known))
    return problems


def _sibling_ids(loaded: Sequence[LoadedPlaybook]) -> set[str]:
    """Ids of the other valid playbooks next to the linted ones, so start_playbook may name them."""
    linted = {item.path.resolve() for item in loaded}
    ids: set[str] = set()
    for path in playbook_files({item.path.parent for item in loaded}):
        if path.resolve() not in linted:
            try:
                ids.add(load_playbook(path).playbook.id)
            except PlaybookError:
                continue
    return ids


def main(argv: Sequence[str] | None = None) -> int:
    """CLI body: lint the paths given (default: the built-in library), print problems, 1 if any."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(arg) for arg in args] or [LIBRARY]
    missing = [path for path in paths if not path.exists()]
    problems = [Problem(str(path), 1, "no such file or directory") for path in missing]
    problems += lint_paths([path for path in paths if path.exists()])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    count = len(playbook_files(paths))
    print(f"{count} playbook(s) OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
