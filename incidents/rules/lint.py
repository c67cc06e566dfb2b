"""Lint the device registry and rules files: every problem as file:line: message."""

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from incidents.rules.config import load_registry, load_rules_file
from incidents.rules.yaml_source import ConfigError
from playbooks.problems import Problem


def lint_files(rules_paths: Sequence[Path], devices: Path) -> list[Problem]:
    """Problems of the registry at ``devices`` and of each rules file, checked against that registry
    (or on their own when the registry itself is broken)."""
    try:
        registry = load_registry(devices)
        problems: list[Problem] = []
    except (ConfigError, OSError, UnicodeDecodeError) as error:
        registry, problems = None, _problems(devices, error)
    for path in rules_paths:
        problems += _check(path, partial(load_rules_file, path, registry))
    return problems


def _check(path: Path, load: Callable[[], object]) -> list[Problem]:
    try:
        load()
    except (ConfigError, OSError, UnicodeDecodeError) as error:
        return _problems(path, error)
    return []


def _problems(path: Path, error: Exception) -> list[Problem]:
    if isinstance(error, ConfigError):
        return list(error.problems)
    if isinstance(error, OSError):
        return [Problem(str(path), 1, f"cannot read the file ({error.strerror})")]
    return [Problem(str(path), 1, "the file is not UTF-8 text")]
