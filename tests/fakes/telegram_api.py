"""A fake Telegram Bot API on loopback: records calls, keeps messages, answers 429 and "not modified"."""

import asyncio
import html
import inspect
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.storm import Storm

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "WareRoom", "username": "wareroom_bot"}
_TAG = re.compile(r"<[^>]+>")
_INT_FIELDS = {"message_id", "message_thread_id"}
_JSON_FIELDS = {"reply_markup", "reply_parameters", "entities", "allowed_updates", "link_preview_options"}


@dataclass
class FakeTelegram:
    """``/bot{token}/{method}``: PTB's form-encoded requests in, ``{"ok": ..., "result": ...}`` out."""

    token: str = "4242:TEST"
    chat_id: int = -1001234
    is_forum: bool = False
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> retry_after of its next answer
    updates: list[dict[str, Any]] = field(default_factory=list)  # served by getUpdates until an offset confirms them
    webhook_set: bool = False  # getUpdates answers 409 while a webhook is set, as Telegram does
    stale_queries: set[str] = field(default_factory=set)  # callback query ids answered "query is too old"
    long_poll_cap: float = 0.5  # an empty getUpdates returns by then, so shutting the fake down never waits long
    storm: Storm | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content, served by getFile + /file/bot…
    lost_files: set[str] = field(default_factory=set)  # getFile answers, the download then fails (502)
    downloads: list[str] = field(default_factory=list)  # file paths downloaded, in order
    _next_id: int = 900

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                                     Route("/file/bot{token}/{path:path}", self._file, methods=["GET"])])

    def add_file(self, file_id: str, content: bytes) -> dict[str, Any]:
        """Keep a file a user sent; returns the PhotoSize Telegram would put in the message."""
        self.files[file_id] = content
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600,
                "file_size": len(content)}

    async def _file(self, request: Request) -> Response:
        """``GET /file/bot<token>/<file_path>``: the file's bytes, as api.telegram.org serves them."""
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        path = request.path_params["path"]
        self.downloads.append(path)
        file_id = path.removeprefix("photos/").removesuffix(".bin")
        if file_id in self.lost_files:
            return Response(b"Bad Gateway", status_code=502)
        if file_id not in self.files:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return Response(self.files[file_id], media_type="application/octet-stream")

    def _getFile(self, params: dict[str, Any]) -> dict[str, Any] | Response:  # noqa: N802
        """A File object with the path to download from (Bot API getFile)."""
        file_id = str(params["file_id"])
        if file_id not in self.files:
            return self._bad("Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.bin"}

    def called(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of ``method``, in order."""
        return [params for name, params in self.calls if name == method]

    async def _params(self, request: Request) -> dict[str, Any]:
        raw = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(raw or "{}"))
        params: dict[str, Any] = dict(parse_qsl(raw))
        for name in _JSON_FIELDS & params.keys():
            params[name] = json.loads(params[name])
        for name in _INT_FIELDS & params.keys():
            params[name] = int(params[name])
        return params

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        stormy = self.storm.retry(method) if self.storm else None
        if method in self.rate_limited or stormy:
            retry = self.rate_limited.pop(method, 0) or stormy
            return JSONResponse({"ok": False, "error_code": 429, "parameters": {"retry_after": retry},
                                 "description": f"Too Many Requests: retry after {retry}"}, status_code=429)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        result = handler(params)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    def _getMe(self, _params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return BOT_USER | {"can_join_groups": True, "can_read_all_group_messages": False,
                           "supports_inline_queries": False}

    def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"id": int(params["chat_id"]), "type": "supergroup", "title": "Warehouse ops", "is_forum": self.is_forum,
                "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {
                    "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                    "premium_subscription": False, "gifts_from_channels": False}}

    @staticmethod
    def _shown(params: dict[str, Any]) -> str:
        """The text as users see it: with parse_mode HTML, Telegram turns tags into entities."""
        text = str(params["text"])
        return html.unescape(_TAG.sub("", text)) if params.get("parse_mode") == "HTML" else text

    def _chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "supergroup", "title": "Warehouse ops", "is_forum": self.is_forum}

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._next_id += 1
        message: dict[str, Any] = {"message_id": self._next_id, "date": int(time.time()), "chat": self._chat(),
                                   "from": BOT_USER, "text": self._shown(params)}
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        if "message_thread_id" in params:
            message |= {"message_thread_id": int(params["message_thread_id"]), "is_topic_message": True}
        if "reply_parameters" in params:
            replied = self.messages.get(int(params["reply_parameters"]["message_id"]))
            if replied is not None:  # Telegram answers a reply to an unknown message without the quote
                message["reply_to_message"] = replied
        self.messages[self._next_id] = message
        return message

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | Response:  # noqa: N802
        message = self.messages.get(int(params["message_id"]))
        if message is None:
            return self._bad("Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if message["text"] == self._shown(params) and message.get("reply_markup") == markup:
            return self._bad("Bad Request: message is not modified: specified new message content and reply markup "
                             "are exactly the same as a current content and reply markup of the message")
        message["text"] = self._shown(params)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    def _bad(self, description: str) -> Response:
        return JSONResponse({"ok": False, "error_code": 400, "description": description}, status_code=400)

    def _createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._next_id += 1
        return {"message_thread_id": self._next_id, "name": params["name"], "icon_color": 7322096}

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool | Response:  # noqa: N802
        if params["callback_query_id"] in self.stale_queries:
            return self._bad("Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    def _setWebhook(self, _params: dict[str, Any]) -> bool:  # noqa: N802
        self.webhook_set = True
        return True

    def _deleteWebhook(self, _params: dict[str, Any]) -> bool:  # noqa: N802
        self.webhook_set = False
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]] | Response:  # noqa: N802
        """Long polling: an offset confirms every earlier update; waits up to ``timeout`` s for a new one."""
        if self.webhook_set:
            return JSONResponse({"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates "
                                 "method while webhook is active; use deleteWebhook to delete the webhook first"},
                                status_code=409)
        if "offset" in params:
            self.updates = [u for u in self.updates if u["update_id"] >= int(params["offset"])]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(params.get("timeout", 0)), self.long_poll_cap)
        while not self.updates and loop.time() < deadline:  # noqa: ASYNC110 (tests queue from another thread)
            await asyncio.sleep(0.01)
        served = self.updates[:int(params.get("limit", 100))]
        for update in served:  # users' messages exist on the server too, so replies to them work
            if "message" in update:
                self.messages.setdefault(update["message"]["message_id"], update["message"])
        return served


def user(user_id: int, first_name: str) -> dict[str, Any]:
    """A Telegram User object."""
    return {"id": user_id, "is_bot": False, "first_name": first_name}


def callback_update(update_id: int, *, sender: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
    """A ``callback_query`` update for a button under ``message``."""
    return {"update_id": update_id, "callback_query": {"id": f"cbq-{update_id}", "from": sender,
                                                       "chat_instance": "ci-1", "message": message, "data": data}}


def text_update(update_id: int, *, sender: dict[str, Any], chat: dict[str, Any], text: str,
                reply_to: dict[str, Any] | None = None, thread_id: int | None = None) -> dict[str, Any]:
    """A group ``message`` update; a leading ``/word`` carries the bot_command entity as Telegram sends it."""
    message: dict[str, Any] = {"message_id": 5000 + update_id, "date": int(time.time()), "chat": chat,
                               "from": sender, "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", maxsplit=1)[0])}]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if thread_id is not None:
        message |= {"message_thread_id": thread_id, "is_topic_message": True}
    return {"update_id": update_id, "message": message}


def photo_update(update_id: int, *, sender: dict[str, Any], chat: dict[str, Any], photo: dict[str, Any],
                 caption: str = "", reply_to: dict[str, Any] | None = None, thread_id: int | None = None,
                 as_document: str = "") -> dict[str, Any]:
    """A group message carrying a photo (its sizes; a thumbnail size first as Telegram sends), or with
    ``as_document`` (a file name) the same file sent as a document."""
    message: dict[str, Any] = {"message_id": 5000 + update_id, "date": int(time.time()), "chat": chat,
                               "from": sender}
    if as_document:
        message["document"] = {"file_id": photo["file_id"], "file_unique_id": photo["file_unique_id"],
                               "file_name": as_document, "mime_type": "image/jpeg", "file_size": photo["file_size"]}
    else:
        small = photo | {"file_id": f"{photo['file_id']}-s", "width": 90, "height": 67, "file_size": 1000}
        message["photo"] = [small, photo]
    if caption:
        message["caption"] = caption
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if thread_id is not None:
        message |= {"message_thread_id": thread_id, "is_topic_message": True}
    return {"update_id": update_id, "message": message}


def reaction_update(update_id: int, *, sender: dict[str, Any], chat: dict[str, Any], message_id: int,
                    emoji: str, old: str | None = None) -> dict[str, Any]:
    """A ``message_reaction`` update: a user set ``emoji`` on a message (Bot API 7.0; no message text in it)."""
    return {"update_id": update_id, "message_reaction": {
        "chat": chat, "message_id": message_id, "user": sender, "date": int(time.time()),
        "old_reaction": [{"type": "emoji", "emoji": old}] if old else [],
        "new_reaction": [{"type": "emoji", "emoji": emoji}]}}


def pinned_update(update_id: int, *, sender: dict[str, Any], chat: dict[str, Any],
                  pinned: dict[str, Any]) -> dict[str, Any]:
    """The service ``message`` Telegram sends when ``sender`` pins ``pinned`` (its whole Message object)."""
    return {"update_id": update_id, "message": {"message_id": 7000 + update_id, "date": int(time.time()),
                                                "chat": chat, "from": sender, "pinned_message": pinned}}
