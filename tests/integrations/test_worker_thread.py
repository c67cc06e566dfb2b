"""WorkerThreads: the call runs off the loop, in the caller's context, and a cancelled caller waits for it."""

import asyncio
import contextvars
import threading

import pytest

from integrations.worker_thread import WorkerThreads

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("worker_thread_test_mark", default="unset")


async def test_runs_in_its_own_thread_with_the_callers_context() -> None:
    workers = WorkerThreads(1, name="test-workers")
    MARK.set("fenced")

    def seen() -> tuple[str, str, bool]:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        return threading.current_thread().name, MARK.get(), on_loop

    name, mark, on_loop = await workers.run(seen)
    assert name.startswith("test-workers")
    assert mark == "fenced"
    assert not on_loop


async def test_the_calls_exception_is_raised_to_the_caller() -> None:
    workers = WorkerThreads(1, name="test-workers")

    def fail() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await workers.run(fail)


async def test_a_cancelled_caller_waits_for_the_call_to_end() -> None:
    workers = WorkerThreads(1, name="test-workers")
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(5)
        ended.set()

    task = asyncio.create_task(workers.run(slow))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still waiting for the thread, though cancelled
    task.cancel()  # a second cancellation does not cut the wait short either
    await asyncio.sleep(0.05)
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended.is_set()
