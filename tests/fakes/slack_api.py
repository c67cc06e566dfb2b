"""A fake Slack Web API on loopback: records every call, keeps the channel's messages, can answer 429."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.storm import Storm


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeSlack:
    """``POST /api/{method}`` and ``POST /hooks/{id}`` (response_url), the Slack wire format."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> Retry-After of its next answer
    socket_envelopes: list[dict[str, Any]] = field(default_factory=list)  # sent after ``hello`` on each connection
    socket_acks: list[dict[str, Any]] = field(default_factory=list)  # what the client sent back, in order
    storm: Storm | None = None
    slow_posts: set[int] = field(default_factory=set)  # numbers (1-based) of posts whose answer is held back
    pause_seconds: float = 30.0  # at most; clearing ``paused`` answers at once
    paused: list[int] = field(default_factory=list)  # posts kept, whose answer is being held back now
    outage: int = 0  # set: every API call is answered with this HTTP status and nothing is kept (Slack is down)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # id -> (name, mimetype, content)
    lost_files: set[str] = field(default_factory=set)  # files.info answers, the private download fails (500)
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (file id, Authorization header) per download
    _next_ts: int = field(default_factory=lambda: int(time.time() * 1_000_000))  # message ts are times, as Slack's

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/api/{method}", self._api, methods=["GET", "POST"]),
                                     Route("/hooks/{hook}", self._hook, methods=["POST"]),
                                     Route("/files-pri/{team_file}/{name}", self._private, methods=["GET"]),
                                     WebSocketRoute("/link", self._socket)])

    def called(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of ``method``, in order."""
        return [c.params for c in self.calls if c.method == method]

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":  # slack_sdk reads conversations.* with GET and query parameters
            return dict(request.query_params)
        raw = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(raw or "{}"))
        return dict(parse_qsl(raw))

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        if self.outage:
            return JSONResponse({"ok": False, "error": "service_unavailable"}, status_code=self.outage)
        stormy = self.storm.retry(method) if self.storm else None
        if method in self.rate_limited or stormy:
            retry_after = self.rate_limited.pop(method, 0) or stormy
            return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429,
                                headers={"Retry-After": str(retry_after)})
        if method == "apps.connections.open":  # the only method called with the app-level token
            if not request.headers.get("authorization", "").startswith("Bearer xapp-"):
                return JSONResponse({"ok": False, "error": "not_allowed_token_type"})
            return JSONResponse({"ok": True, "url": f"ws://{request.url.netloc}/link"})
        if not request.headers.get("authorization", "").startswith("Bearer xoxb-"):
            return JSONResponse({"ok": False, "error": "not_authed"})
        if method == "files.info":
            return JSONResponse(self._file_info(params, f"{request.url.scheme}://{request.url.netloc}"))
        handler = {"auth.test": self._auth_test, "chat.postMessage": self._post, "chat.update": self._update,
                   "chat.postEphemeral": self._ephemeral, "conversations.replies": self._replies,
                   "conversations.history": self._history}.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        answer = handler(params)
        number = len(self.called("chat.postMessage"))
        if method == "chat.postMessage" and number in self.slow_posts:  # kept, but the answer is late:
            self.paused.append(number)  # a client killed now never learns that the post went through
            deadline = asyncio.get_running_loop().time() + self.pause_seconds
            while number in self.paused and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if number in self.paused:
                self.paused.remove(number)
        return JSONResponse(answer)

    def add_file(self, file_id: str, name: str, mimetype: str, content: bytes) -> None:
        """A file a user shared; it is served by ``files.info`` and its ``url_private_download``."""
        self.files[file_id] = (name, mimetype, content)

    def _file_info(self, params: dict[str, Any], base: str) -> dict[str, Any]:
        """``files.info``: the file object, with its private URLs on this server."""
        file_id = str(params.get("file", ""))
        if file_id not in self.files:
            return {"ok": False, "error": "file_not_found"}
        name, mimetype, content = self.files[file_id]
        private = f"{base}/files-pri/T1-{file_id}/{name}"
        return {"ok": True, "file": {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                                     "filetype": name.rsplit(".", 1)[-1], "size": len(content), "user": "U-wangwei",
                                     "url_private": private, "url_private_download": f"{private}?download=1",
                                     "is_external": False, "mode": "hosted"}}

    async def _private(self, request: Request) -> Response:
        """A private file: its bytes with the bot token, the sign-in page (HTML, 200) without it, as Slack does."""
        file_id = request.path_params["team_file"].removeprefix("T1-")
        authorization = request.headers.get("authorization", "")
        self.downloads.append((file_id, authorization))
        if not authorization.startswith("Bearer xoxb-"):
            return Response(b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>", media_type="text/html")
        if file_id in self.lost_files:
            return PlainTextResponse("Internal Server Error", status_code=500)
        if file_id not in self.files:
            return PlainTextResponse("Not Found", status_code=404)
        _, mimetype, content = self.files[file_id]
        return Response(content, media_type=mimetype)

    def _auth_test(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team_id": "T1", "team": "Warehouse", "user_id": "UBOT", "bot_id": "BBOT",
                "user": "wareroom", "url": "https://warehouse.slack.com/"}

    def _ts(self) -> str:
        """A message's ts is the time it was posted (microseconds, distinct), as Slack's are."""
        self._next_ts = max(self._next_ts + 1, int(time.time() * 1_000_000))
        digits = str(self._next_ts)
        return f"{digits[:10]}.{digits[10:]}"

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._ts()
        message = {"ts": ts, "text": params.get("text", ""), "blocks": params.get("blocks", []),
                   "thread_ts": params.get("thread_ts"), "user": "UBOT", "bot_id": "BBOT"}
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        self.messages[(params["channel"], ts)] = message
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((params["channel"], params["ts"]))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update(text=params.get("text", ""), blocks=params.get("blocks", []))
        return {"ok": True, "channel": params["channel"], "ts": params["ts"], "text": message["text"],
                "message": message}

    def _listed(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """Metadata is returned only when asked for (``include_all_metadata``), as Slack does."""
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in messages]
        return {"ok": True, "messages": shown, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its root, then its replies, oldest first."""
        channel, root = params["channel"], params["ts"]
        thread = [m for (c, ts), m in sorted(self.messages.items()) if c == channel and root in (ts, m["thread_ts"])]
        return self._listed(thread, params)

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """The channel's top-level messages since ``oldest``, newest first."""
        channel, oldest = params["channel"], float(params.get("oldest") or 0)
        top = [m for (c, ts), m in sorted(self.messages.items(), reverse=True)
               if c == channel and m["thread_ts"] is None and float(ts) >= oldest]
        return self._listed(top, params)

    def user_message(self, *, channel: str, thread_ts: str, user: str, text: str) -> dict[str, Any]:
        """A person's reply in a thread, kept as Slack keeps it (``conversations.replies`` returns it)."""
        ts = self._ts()
        message = {"type": "message", "ts": ts, "text": text, "thread_ts": thread_ts, "user": user}
        self.messages[(channel, ts)] = message
        return message

    def _ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._ts()}

    async def _hook(self, request: Request) -> Response:
        self.hooks.append(json.loads(await request.body()))
        return PlainTextResponse("ok")

    async def _socket(self, websocket: WebSocket) -> None:
        """Socket Mode: ``hello``, the queued envelopes, then every ack until the client hangs up."""
        await websocket.accept()
        await websocket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                                   "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600}})
        for envelope in self.socket_envelopes:
            await websocket.send_json(envelope)
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                self.socket_acks.append(json.loads(await websocket.receive_text()))


def socket_envelope(envelope_id: str, kind: str, payload: dict[str, Any], *,
                    retry_attempt: int | None = None) -> dict[str, Any]:
    """A Socket Mode envelope (``interactive``, ``events_api``, ``slash_commands``) around an HTTP-mode payload."""
    envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                                "accepts_response_payload": kind != "events_api"}
    if retry_attempt is not None:
        envelope |= {"retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
    return envelope


def signed_headers(body: str, secret: str, content_type: str, *, ts: int | None = None) -> dict[str, str]:
    """Headers Slack would send: ``v0=`` HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    stamp = int(time.time()) if ts is None else ts
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": signature}


def click_body(*, user: str, channel: str, message_ts: str, token: str, action_ts: str,
               thread_ts: str | None = None) -> str:
    """A block_actions interaction, form-encoded as Slack posts it."""
    message: dict[str, Any] = {"ts": message_ts, "type": "message"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "name": user.lower()},
               "api_app_id": "A1", "token": "legacy", "trigger_id": f"trig-{action_ts}",
               "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
               "channel": {"id": channel}, "message": message, "response_url": "http://127.0.0.1:9/hooks/x",
               "actions": [{"type": "button", "action_id": "wareroom:0", "block_id": "wareroom-actions",
                            "value": token, "action_ts": action_ts}]}
    return urlencode({"payload": json.dumps(payload)})


def command_body(*, user: str, command: str, text: str, response_url: str, trigger: str) -> str:
    """A slash command, form-encoded."""
    return urlencode({"token": "legacy", "team_id": "T1", "team_domain": "warehouse", "channel_id": "C-OPS",
                      "channel_name": "ops", "user_id": user, "user_name": user.lower(), "command": command,
                      "text": text, "api_app_id": "A1", "response_url": response_url, "trigger_id": trigger})


def thread_message_body(*, event_id: str, user: str, channel: str, thread_ts: str, text: str) -> str:
    """An Events API ``message`` event posted in a thread, as JSON."""
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event_time": 1_700_000_000, "authorizations": [{"team_id": "T1", "user_id": "UBOT"}],
                       "event": {"type": "message", "channel": channel, "user": user, "text": text,
                                 "ts": "1700000999.000100", "thread_ts": thread_ts}})


def file_share_body(*, event_id: str, user: str, channel: str, thread_ts: str, file_id: str,
                    text: str = "") -> str:
    """An Events API ``message`` event of subtype ``file_share`` in a thread: the file as the event gives it
    (a partial object; ``files.info`` has the rest)."""
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event_time": 1_700_000_000, "authorizations": [{"team_id": "T1", "user_id": "UBOT"}],
                       "event": {"type": "message", "subtype": "file_share", "channel": channel, "user": user,
                                 "text": text, "ts": f"1700001{event_id[-3:].zfill(3)}.000100",
                                 "thread_ts": thread_ts, "upload": False, "display_as_bot": False,
                                 "files": [{"id": file_id, "mode": "hosted", "file_access": "check_file_info"}]}})


def _event_callback(event_id: str, event: dict[str, Any]) -> str:
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event_time": 1_700_000_000, "authorizations": [{"team_id": "T1", "user_id": "UBOT"}],
                       "event": event})


def reaction_added_body(*, event_id: str, user: str, channel: str, ts: str, reaction: str) -> str:
    """An Events API ``reaction_added`` on a message (the item names the message; its text is not included)."""
    return _event_callback(event_id, {"type": "reaction_added", "user": user, "reaction": reaction,
                                      "item": {"type": "message", "channel": channel, "ts": ts},
                                      "item_user": "UBOT", "event_ts": "1700001000.000200"})


def pin_added_body(*, event_id: str, user: str, channel: str, message: dict[str, Any]) -> str:
    """An Events API ``pin_added``: the item carries the pinned message."""
    return _event_callback(event_id, {"type": "pin_added", "user": user, "channel_id": channel,
                                      "item": {"type": "message", "channel": channel, "created": 1_700_001_000,
                                               "created_by": user, "message": message},
                                      "event_ts": "1700001000.000300"})
