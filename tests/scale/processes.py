"""Child processes for the several-process tests and benchmarks, their output collected for waiting on."""

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose output lines are collected by a thread, so that a test can wait for one."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        """``env``: the whole environment of the child (default: this process's)."""
        self.popen = subprocess.Popen(list(args), cwd=cwd, env=env if env is not None else dict(os.environ), text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)

    def wait_for_line(self, prefix: str, *, timeout: float = 30.0) -> str:
        """The first output line (seen so far or to come) that starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if line.startswith(prefix):
                    return line
            seen = len(self.lines)
            if time.monotonic() > deadline:
                raise AssertionError(f"no line starting {prefix!r} within {timeout}s; output:\n" +
                                     "\n".join(self.lines[-40:]))
            if self.popen.poll() is not None and self._queue.empty():
                raise AssertionError(f"process exited ({self.popen.returncode}) before {prefix!r}; output:\n" +
                                     "\n".join(self.lines[-40:]))
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(10)


def python(*args: str) -> list[str]:
    """A command line running this venv's Python."""
    return [sys.executable, *args]
