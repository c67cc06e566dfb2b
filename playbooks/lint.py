"""Lint playbook files and directories: load errors, semantic checks, problems across files, and
life-safety steps that cite no source (a warning, or an error with ``--strict``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from playbooks.loader import LoadedPlaybook, library_problems, load_playbook, playbook_files
from playbooks.problems import PlaybookError, Problem
from playbooks.sources import untraced_steps

LIBRARY = Path(__file__).parent / "library"
STRICT = "--strict"


def lint_paths(paths: Sequence[Path], *, strict: bool = False) -> list[Problem]:
    """Every problem in the named files and in the playbook files under the named directories.

    A life-safety step without a source or ``site_rule`` is a warning, or an error when ``strict``.
    """
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
        problems.extend(_untraced(item, strict=strict))
    known = {item.playbook.id for item in loaded} | _sibling_ids(loaded)
    problems.extend(library_problems(loaded, known_ids=known))
    return problems


def _untraced(item: LoadedPlaybook, *, strict: bool) -> list[Problem]:
    severity: Literal["error", "warning"] = "error" if strict else "warning"
    return [Problem(str(item.path), item.line(*untraced.path, "id"), untraced.message(), severity)
            for untraced in untraced_steps(item.playbook)]


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
    """CLI body: lint the paths given (default: the built-in library), print problems, 1 if any error.

    ``--strict`` makes a life-safety step without a source or ``site_rule`` an error.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    strict = STRICT in args
    paths = [Path(arg) for arg in args if arg != STRICT] or [LIBRARY]
    missing = [path for path in paths if not path.exists()]
    problems = [Problem(str(path), 1, "no such file or directory") for path in missing]
    problems += lint_paths([path for path in paths if path.exists()], strict=strict)
    for problem in problems:
        print(problem)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{errors} problem(s) found" + (f", {warnings} warning(s)" if warnings else ""), file=sys.stderr)
        return 1
    count = len(playbook_files(paths))
    print(f"{count} playbook(s) OK" + (f", {warnings} warning(s)" if warnings else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
