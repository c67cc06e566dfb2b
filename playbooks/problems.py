"""Problems found in YAML files (playbooks, alert rules), reported as file:line: message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a playbook file, at a 1-based line; a warning does not refuse the file."""

    file: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        mark = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {mark}{self.message}"


class FileProblems(ValueError):
    """A file was refused; `problems` says where and why, `str()` gives one file:line: message per line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class PlaybookError(FileProblems):
    """A playbook could not be loaded."""
