"""A delivery process for the crash test: the real outbox dispatcher and Slack adapter, until killed.

``python -m tests.e2e.delivery_worker DATABASE_URL SLACK_API_URL``
"""

import asyncio
import logging
import sys

from slack_sdk.web.async_client import AsyncWebClient

from incidents.database import Database
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.slack.adapter import SlackChat


async def main(database_url: str, slack_url: str) -> None:
    client = AsyncWebClient(token="xoxb-crash", base_url=slack_url.rstrip("/") + "/")
    port = RateLimitedChat(SlackChat(client, "C-OPS"))
    await OutboxDispatcher(Database(database_url), {"slack": port}, poll_seconds=0.1).run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
