"""Slack button clicks, slash commands and thread messages → ChatEvents → ChatRouter, answered ephemerally."""

import asyncio
import hashlib
import logging
import re
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.commands import ChatRouter, parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, MessageRef, PhotoSent, Reply, ThreadRef, UserRef
from handlers.timeline_notes import PIN_MARK, REACTION_MARK, SLACK_NOTE_REACTIONS
from incidents import outbox
from incidents.clock import utcnow
from incidents.evidence.images import EvidencePolicy
from integrations.slack.adapter import PLATFORM, native
from integrations.slack.photos import download
from integrations.slack.render import ACTION_PREFIX

log = logging.getLogger(__name__)
IGNORED_SUBTYPES = frozenset({"message_changed", "message_deleted", "message_replied", "bot_message",
                              "channel_join", "channel_leave", "group_join", "group_leave"})


def request_key(request: AsyncBoltRequest) -> str:
    """A slash command's or click's identity: the SHA-256 of the signed body.

    Slack gives these no event id, but each body carries a ``trigger_id`` (and a click its ``action_ts``)
    unique to one invocation; a replay carries the same body, and one older than the 5-minute window is
    refused by the signature check before this point. Over Socket Mode (no signature) the same body.
    """
    return "slack:request:" + hashlib.sha256(request.raw_body.encode()).hexdigest()


class SlackInbound:
    """Turns bolt payloads into ChatEvents; the router runs in a worker thread, off the event loop."""

    def __init__(self, router: ChatRouter) -> None:
        self.router = router

    def _route(self, event: ChatEvent) -> Reply:
        if event.thread is not None and event.incident_id is None:
            with self.router.ctx.db.reader() as session:
                bound = outbox.binding_for_thread(session, platform=PLATFORM, thread_native=event.thread.native)
            if bound is not None:
                event = replace(event, incident_id=bound.incident_id)
        return self.router.handle(event)

    def _bound(self, thread_native: str) -> bool:
        with self.router.ctx.db.reader() as session:
            return outbox.binding_for_thread(session, platform=PLATFORM, thread_native=thread_native) is not None

    async def handle(self, event: ChatEvent) -> Reply:
        """Find the incident of the event's thread, then let the router handle it."""
        return await asyncio.to_thread(self._route, event)

    async def on_click(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                       client: AsyncWebClient, request: AsyncBoltRequest) -> None:
        """A Block Kit button: answered at once, then the ephemeral reply to whoever clicked."""
        await ack()
        channel, message_ts = body["container"]["channel_id"], body["container"]["message_ts"]
        root_ts = body.get("message", {}).get("thread_ts") or message_ts
        user = body["user"]
        event = ButtonClicked(
            platform=PLATFORM, dedupe_key=request_key(request),
            actor=UserRef(PLATFORM, user["id"], user.get("name", "")),
            thread=ThreadRef(PLATFORM, native(channel, root_ts)), received_at=utcnow(),
            token=str(action.get("value", "")), interaction_id=body.get("trigger_id", ""),
            message=MessageRef(PLATFORM, native(channel, message_ts)))
        reply = await self.handle(event)
        await client.chat_postEphemeral(channel=channel, user=user["id"], text=reply.text, thread_ts=root_ts)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         request: AsyncBoltRequest) -> None:
        """A slash command: acknowledged within Slack's 3 s, answered through the response_url."""
        await ack()
        parsed = parse_command(f"{command['command']} {command.get('text', '')}")
        if parsed is None:
            return
        event = CommandInvoked(platform=PLATFORM, dedupe_key=request_key(request),
                               actor=UserRef(PLATFORM, command["user_id"], command.get("user_name", "")), thread=None,
                               received_at=utcnow(), name=parsed.name, args=parsed.args)
        reply = await self.handle(event)
        await respond(text=reply.text, response_type="ephemeral")

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        """A command typed in an incident thread (``认领``, ``/status``…); other chatter is ignored.

        Any subtype that carries a person's own text in a thread counts (a reply also sent to the
        channel is ``thread_broadcast``, one with a file ``file_share``); edits and deletions carry the
        text nested (``message_changed``) and bots' messages carry ``bot_id``: those are not commands.
        """
        if event.get("bot_id") or not event.get("user") or not event.get("thread_ts"):
            return
        if event.get("subtype") in IGNORED_SUBTYPES:
            return
        if event.get("files"):
            await self.on_files(body, event, client)
            return
        if not event.get("text"):
            return
        parsed = parse_command(str(event.get("text", "")))
        if parsed is None:
            return
        channel, root_ts = event["channel"], event["thread_ts"]
        thread = ThreadRef(PLATFORM, native(channel, root_ts))
        command = CommandInvoked(platform=PLATFORM, dedupe_key=f"slack:event:{body['event_id']}",
                                 actor=UserRef(PLATFORM, event["user"]), thread=thread, received_at=utcnow(),
                                 name=parsed.name, args=parsed.args)
        reply = await self.handle(command)
        await client.chat_postEphemeral(channel=channel, user=event["user"], text=reply.text, thread_ts=root_ts)

    async def on_reaction(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        """``reaction_added`` with an agreed emoji (``SLACK_NOTE_REACTIONS``) on a message of an incident thread:
        the message (read with ``conversations.replies``) goes on the timeline as ``/note ✍ <text>``."""
        item = event.get("item") or {}
        if event.get("reaction") not in SLACK_NOTE_REACTIONS or item.get("type") != "message" or not event.get("user"):
            return
        answer = await client.conversations_replies(channel=item["channel"], ts=item["ts"], limit=1, inclusive=True)
        found = answer.get("messages") or []
        message = next((m for m in found if m.get("ts") == item["ts"]), None)
        if message is not None:
            await self._note(body, event["user"], item["channel"], message, REACTION_MARK)

    async def on_pin(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """``pin_added`` of a message of an incident thread: the pinned message goes on the timeline."""
        item = event.get("item") or {}
        message = item.get("message")
        if item.get("type") != "message" or not isinstance(message, dict) or not event.get("user"):
            return
        await self._note(body, event["user"], event.get("channel_id") or item["channel"], message, PIN_MARK)

    async def _note(self, body: dict[str, Any], user: str, channel: str, message: dict[str, Any], mark: str) -> None:
        text = str(message.get("text") or "").split()
        if not text:
            return
        root = message.get("thread_ts") or message["ts"]
        if not await asyncio.to_thread(self._bound, native(channel, root)):
            return  # a pin or reaction outside incident threads is none of WareRoom's business
        event = CommandInvoked(platform=PLATFORM, dedupe_key=f"slack:event:{body['event_id']}",
                               actor=UserRef(PLATFORM, user), thread=ThreadRef(PLATFORM, native(channel, root)),
                               received_at=utcnow(), name="note", args=(mark, *text))
        await self.handle(event)


    async def on_files(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
        """A file shared in an incident thread: fetched once and handed to the core as evidence of a step
        (the first file; the text with it may name the step). Files in other threads are left alone."""
        channel, root_ts = event["channel"], event["thread_ts"]
        thread = ThreadRef(PLATFORM, native(channel, root_ts))
        with self.router.ctx.db.reader() as session:
            bound = outbox.binding_for_thread(session, platform=PLATFORM, thread_native=thread.native)
        if bound is None:
            return
        limit = (self.router.evidence.policy if self.router.evidence else EvidencePolicy()).max_bytes
        got = await download(client, str(event["files"][0].get("id", "")), limit=limit)
        photo = PhotoSent(platform=PLATFORM, dedupe_key=f"slack:event:{body['event_id']}",
                          actor=UserRef(PLATFORM, event["user"]), thread=thread, received_at=utcnow(),
                          incident_id=bound.incident_id, download=got, caption=str(event.get("text") or ""))
        reply = await self.handle(photo)
        await client.chat_postEphemeral(channel=channel, user=event["user"], text=reply.text, thread_ts=root_ts)


def build_app(client: AsyncWebClient, signing_secret: str, router: ChatRouter, *,
              process_before_response: bool = False) -> AsyncApp:
    """The bolt app: signature and replay window checked by bolt, then our listeners.

    Slack's retries (``X-Slack-Retry-Num``, for any reason) are processed like first deliveries: an event
    whose first delivery acted is recognised by its id and acts not again (ChatRouter.handle). Events and
    interactions WareRoom does not act on are acknowledged and ignored: bolt would answer them 404, which
    Slack retries and, repeated, takes as a broken app.
    """
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=process_before_response)
    inbound = SlackInbound(router)
    app.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(inbound.on_click)
    app.command(re.compile(r"^/"))(inbound.on_command)
    app.event("message")(inbound.on_message)
    app.event("reaction_added")(inbound.on_reaction)
    app.event("pin_added")(inbound.on_pin)
    everything = re.compile(".*")
    app.event(everything)(_ignored_event)
    for kind in (app.action, app.shortcut, app.view, app.options):
        kind(everything)(_ignored_interaction)
    return app


async def _ignored_event() -> None:
    """An event WareRoom does not act on (a mention, a reaction, a member joining…): answered 200, nothing done."""


async def _ignored_interaction(ack: AsyncAck) -> None:
    """An interaction WareRoom does not act on: acknowledged, nothing done."""
    await ack()
