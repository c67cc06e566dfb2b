"""Slack inbound over Socket Mode, for sites without a public URL: the same bolt app, fed by a websocket."""

import logging

from fastapi import APIRouter
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.commands import ChatRouter
from integrations.slack.inbound import build_app

log = logging.getLogger(__name__)


class SlackSocketMode:
    """Connects with an app-level token (``xapp-…``) through ``apps.connections.open`` on the client's API URL."""

    def __init__(self, client: AsyncWebClient, app_token: str) -> None:
        self.client = client
        self.app_token = app_token
        self._apps: list[AsyncApp] = []
        self._handlers: list[AsyncSocketModeHandler] = []

    def routes(self, router: ChatRouter) -> APIRouter:
        """No HTTP endpoint: events, clicks and slash commands arrive over the websocket once started."""
        self._apps.append(build_app(self.client, "", router))  # Socket Mode carries no request signatures
        return APIRouter()

    async def start(self) -> None:
        """Open the websocket; the client reconnects by itself when Slack rotates or drops the connection."""
        for app in self._apps:  # the handler needs the running loop, so it is made here
            handler = AsyncSocketModeHandler(app, app_token=self.app_token, web_client=self.client)
            self._handlers.append(handler)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        """Close the websocket and the client's HTTP session."""
        while self._handlers:
            await self._handlers.pop().close_async()  # type: ignore[no-untyped-call]
