"""Web chat live events across processes on the real PostgreSQL: an event published by one process reaches the
pages of another, once, in order, and a message too large for a notification arrives by its row."""

import asyncio
import json
from collections.abc import AsyncGenerator

import pytest

from incidents.database import Database
from integrations.webchat.fanout import MAX_NOTIFY_BYTES, PostgresFanout
from integrations.webchat.store import WebChatMessage

pytestmark = pytest.mark.postgres


async def _next(stream: AsyncGenerator[str, None]) -> dict[str, object]:
    data = await asyncio.wait_for(anext(stream), timeout=10)
    event = json.loads(data)
    assert isinstance(event, dict)
    return event


async def _listening(fanout: PostgresFanout, stream: AsyncGenerator[str, None]) -> asyncio.Task[str]:
    """Start reading ``stream`` (which starts the listener) and wait until its LISTEN stands."""
    first = asyncio.create_task(anext(stream))
    assert await asyncio.to_thread(fanout.listening.wait, 10)
    return first


async def test_an_event_of_one_process_reaches_the_pages_of_another_once_and_in_order(pg_url: str) -> None:
    database = Database(pg_url)
    sender, receiver = PostgresFanout(database), PostgresFanout(database)
    assert sender.channel == receiver.channel and sender.channel.endswith(pg_url.rsplit("%3D", 1)[1])
    own = sender.subscribe()
    other = receiver.subscribe()
    first = await _listening(receiver, other)
    own_first = asyncio.create_task(anext(own))
    await asyncio.sleep(0)
    try:
        for n in range(5):
            sender.publish({"type": "incident", "incident_id": n})
        assert json.loads(await asyncio.wait_for(first, 10)) == {"type": "incident", "incident_id": 0}
        assert [await _next(other) for _ in range(4)] == [{"type": "incident", "incident_id": n} for n in range(1, 5)]
        assert json.loads(await asyncio.wait_for(own_first, 10)) == {"type": "incident", "incident_id": 0}
        assert [await _next(own) for _ in range(4)] == [{"type": "incident", "incident_id": n} for n in range(1, 5)]
        with pytest.raises(TimeoutError):  # the sender's own pages had it at once, not a second time by NOTIFY
            await asyncio.wait_for(anext(own), timeout=1)

        body = "长" * MAX_NOTIFY_BYTES  # 3 bytes each in UTF-8: far over what a notification carries
        with database.unit_of_work() as session:
            row = WebChatMessage(incident_id=7, idempotency_key="i7:webchat:post:big", payload={"title": "T",
                                                                                                 "body": body})
            session.add(row)
        sender.publish({"type": "message", "message": {"id": row.id, "incident_id": 7, "title": "T", "body": body}})
        big = await _next(other)
        assert big["type"] == "message"
        message = big["message"]
        assert isinstance(message, dict) and message["id"] == row.id and message["body"] == body
        assert receiver.received == 6
    finally:
        await own.aclose()
        await other.aclose()
        sender.close()
        receiver.close()
        database.dispose()
