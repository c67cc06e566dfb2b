"""Blocking work (synchronous SQLAlchemy, parsing) run off the event loop in a pool of threads of its own.

Not the loop's default executor: the lease loops' renewals run there (``integrations.lease_loop``), and a
queue of other work in front of them would let a lease expire. The caller's context variables are copied
into the thread, so a write inside ``incidents.leases.fenced(lease)`` is fenced there too.
"""

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class WorkerThreads:
    """``await workers.run(function, *args, **kwargs)``: ``function`` runs in one of ``size`` threads.

    A call handed to the pool is waited for even when the awaiting task is cancelled (the cancellation is
    passed on once the call has returned), so a cancelled task never leaves a transaction running behind
    it: what it wrote is committed or rolled back before its canceller goes on, as when the call ran on
    the loop. The threads start on first use and end with the pool (collected) or the process.
    """

    def __init__(self, size: int, *, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)

    async def run(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker thread, in a copy of the caller's context; its result,
        or the exception it raised."""
        call = partial(contextvars.copy_context().run, partial(function, *args, **kwargs))
        future = asyncio.get_running_loop().run_in_executor(self._pool, call)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():  # the call goes on in its thread: wait for it, whatever else is cancelled
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([future])
            raise
