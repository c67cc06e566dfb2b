"""The Slack endpoint: events, interactivity and slash commands all arrive at ``POST /slack/events``."""

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp


def build_router(app: AsyncApp) -> APIRouter:
    """Routes for one bolt app; bolt refuses a bad signature or a request older than 5 minutes with 401."""
    handler = AsyncSlackRequestHandler(app)
    api = APIRouter()

    @api.post("/slack/events", tags=["chat"])
    async def slack_events(request: Request) -> Response:
        """Slack Events API, Block Kit actions and slash commands."""
        return await handler.handle(request)

    return api
