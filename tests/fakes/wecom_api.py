"""A fake WeCom (qyapi) on loopback, and the WeCom side of callbacks written from the spec with ``cryptography``."""

import asyncio
import base64
import hashlib
import json
import os
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BLOCK = 32  # WeCom pads with PKCS#7 to 32-byte blocks, not AES's 16


@dataclass
class WeComServer:
    """Encrypts and signs callbacks as WeCom does, and reads its passive replies (independent of wechatpy)."""

    token: str
    aes_key: str  # the 43-character EncodingAESKey
    corp_id: str

    @property
    def _key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """sha1 over the sorted token, timestamp, nonce and ciphertext."""
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    def encrypt(self, plain: str) -> str:
        """AES-256-CBC (IV = first 16 key bytes) of random16 + length + message + corp id, base64."""
        body = plain.encode()
        data = os.urandom(16) + struct.pack(">I", len(body)) + body + self.corp_id.encode()
        pad = BLOCK - len(data) % BLOCK
        data += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """The message and the corp id inside a ciphertext."""
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        data = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        data = data[:-data[-1]]
        (length,) = struct.unpack(">I", data[16:20])
        return data[20:20 + length].decode(), data[20 + length:].decode()

    def callback(self, plain_xml: str, *, timestamp: str | None = None,
                 nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of a callback POST carrying ``plain_xml``."""
        stamp, once = timestamp or str(int(time.time())), nonce or secrets.token_hex(5)
        encrypted = self.encrypt(plain_xml)
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        return {"msg_signature": self.signature(stamp, once, encrypted), "timestamp": stamp, "nonce": once}, body

    def verification(self, echo: str) -> dict[str, str]:
        """Query parameters of the GET WeCom sends when the callback URL is saved."""
        stamp, once, encrypted = str(int(time.time())), secrets.token_hex(5), self.encrypt(echo)
        return {"msg_signature": self.signature(stamp, once, encrypted), "timestamp": stamp, "nonce": once,
                "echostr": encrypted}

    def open_reply(self, reply_xml: str) -> ElementTree.Element:
        """Check the signature of a passive reply and return its decrypted XML."""
        outer = ElementTree.fromstring(reply_xml)
        encrypted = outer.findtext("Encrypt") or ""
        expected = self.signature(outer.findtext("TimeStamp") or "", outer.findtext("Nonce") or "", encrypted)
        assert outer.findtext("MsgSignature") == expected, "the passive reply's signature does not verify"
        plain, corp = self.decrypt(encrypted)
        assert corp == self.corp_id
        return ElementTree.fromstring(plain)


def text_message(*, user: str, content: str, msg_id: int, corp_id: str) -> str:
    """A text message a member sends to the app."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def image_message(*, user: str, media_id: str, msg_id: int, corp_id: str) -> str:
    """An image a member sends to the app: its MediaId for media/get and a PicUrl."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[https://wework.qpic.cn/{media_id}]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def card_click(*, user: str, key: str, task_id: str, response_code: str, corp_id: str, at: int) -> str:
    """A template_card_event: a button pressed on an interactive card."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>1000002</AgentID></xml>")


@dataclass
class FakeWeCom:
    """``/cgi-bin/*`` with WeCom's conventions: HTTP 200 and ``errcode``; one-use response codes."""

    corp_id: str
    secret: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    limited: set[str] = field(default_factory=set)  # paths whose next call answers 45009
    stalled: set[str] = field(default_factory=set)  # paths whose next call hangs, unanswered, until released
    held: list[str] = field(default_factory=list)  # calls hanging now
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # media id -> (name, type, content)
    lost_media: set[str] = field(default_factory=set)  # media/get answers "system busy" for these
    _codes: dict[str, str] = field(default_factory=dict)  # response code -> task id, until used
    _count: int = 0

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/cgi-bin/{path:path}", self._api, methods=["GET", "POST"])])

    def release(self) -> None:
        """Answer every hanging call ("system busy"): the client that made it is gone by then."""
        self.held.clear()

    def called(self, path: str) -> list[dict[str, Any]]:
        """The bodies of every call of ``path``, in order."""
        return [body for name, body in self.calls if name == path]

    def issue_code(self, task_id: str) -> str:
        """A fresh response code for a card, as a click would bring."""
        self._count += 1
        code = f"rc-{self._count}"
        self._codes[code] = task_id
        return code

    async def _api(self, request: Request) -> Response:
        path = request.path_params["path"]
        if path == "gettoken":
            self.calls.append((path, dict(request.query_params)))
            if request.query_params.get("corpsecret") != self.secret:
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": "tok-1", "expires_in": 7200})
        body = json.loads(await request.body() or b"{}")  # wechatpy sends JSON without a Content-Type
        if request.method == "GET":  # media/get: its parameters are in the query
            body = {k: v for k, v in request.query_params.items() if k != "access_token"}
        self.calls.append((path, body))
        if request.query_params.get("access_token") != "tok-1":
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        if path == "media/get":
            return self._media(request.query_params.get("media_id", ""))
        if path in self.limited:
            self.limited.discard(path)
            return JSONResponse({"errcode": 45009, "errmsg": "api freq out of limit"})
        if path in self.stalled:
            self.stalled.discard(path)
            self.held.append(path)
            while path in self.held:  # noqa: ASYNC110 (released from the test's thread)
                await asyncio.sleep(0.02)
            return JSONResponse({"errcode": -1, "errmsg": "system busy"})
        handler = {"message/send": self._send, "message/update_template_card": self._update,
                   "appchat/create": self._create, "appchat/send": self._chat_send}.get(path)
        if handler is None:
            return JSONResponse({"errcode": 404, "errmsg": f"unknown api {path}"})
        return JSONResponse({"errcode": 0, "errmsg": "ok"} | handler(body))

    def add_media(self, media_id: str, name: str, content_type: str, content: bytes) -> None:
        """A picture a member sent to the app: WeCom keeps it for three days under its MediaId."""
        self.media[media_id] = (name, content_type, content)

    def _media(self, media_id: str) -> Response:
        """``GET media/get``: the file with its name in Content-Disposition, or an errcode as JSON."""
        if media_id in self.lost_media:
            return JSONResponse({"errcode": -1, "errmsg": "system busy"})
        if media_id not in self.media:
            return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
        name, content_type, content = self.media[media_id]
        return Response(content, media_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("msgtype") != "template_card":
            return {"msgid": f"msg-{len(self.calls)}", "invaliduser": ""}
        card = body["template_card"]
        if not card.get("task_id") or card["task_id"] in self.cards:
            return {"errcode": 42014, "errmsg": "task_id exist"}
        self.cards[card["task_id"]] = card
        return {"msgid": f"msg-{len(self.calls)}", "invaliduser": "", "response_code": self.issue_code(card["task_id"])}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        task_id = self._codes.pop(body.get("response_code", ""), None)
        if task_id is None:
            return {"errcode": 40199, "errmsg": "response_code used or unknown"}
        if "template_card" in body:
            self.cards[task_id] = body["template_card"]
        else:
            self.cards[task_id] = self.cards[task_id] | {"replaced_button": body["button"]["replace_name"]}
        return {"invaliduser": []}

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["chatid"] in self.chats or len(body.get("userlist", [])) < 2:
            return {"errcode": 86215, "errmsg": "chat exists or too few members"}
        self.chats[body["chatid"]] = body | {"messages": []}
        return {"chatid": body["chatid"]}

    def _chat_send(self, body: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats.get(body["chatid"])
        if chat is None or body.get("msgtype") == "template_card":
            return {"errcode": 86003, "errmsg": "chat not found or message type not allowed"}
        chat["messages"].append(body)
        return {}
