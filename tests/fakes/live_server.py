"""Run any ASGI app with uvicorn on 127.0.0.1:<ephemeral> in a daemon thread."""

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Yields ``http://127.0.0.1:<port>``; the socket is bound first, so there is no port race."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a fake served from another thread to reach a state; the deadline only guards against a hang."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 (the fake changes it from its server thread)
            await asyncio.sleep(0.02)
