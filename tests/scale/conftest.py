"""Fixtures for the several-process tests: an empty PostgreSQL schema, and child processes killed at the end."""

from collections.abc import Iterator

import pytest

from tests.conftest import _truncate_all
from tests.scale.processes import Process


@pytest.fixture
def pg_url(pg_schema_url: str) -> str:
    """The migrated private PostgreSQL schema, emptied."""
    _truncate_all(pg_schema_url)
    return pg_schema_url


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Start processes with ``processes.append(Process(...))``; every one is killed at the end."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
