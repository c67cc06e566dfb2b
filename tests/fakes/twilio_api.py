"""A fake Twilio REST API (Messages, Calls) on loopback, and Twilio's side of the webhooks: it signs what it
posts to WareRoom with ``X-Twilio-Signature`` as Twilio does, and walks a call's ``<Gather>`` TwiML."""

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator


@dataclass
class FakeTwilio:
    """``/2010-04-01/Accounts/{sid}/Messages.json`` and ``Calls.json``; Basic auth with the SID and token.
    ``http_status`` makes the next answers fail with that status (429: Twilio error 20429)."""

    account_sid: str = "AC" + "0" * 32
    auth_token: str = "twilio-token"
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    http_status: int = 0
    unreachable: set[str] = field(default_factory=set)  # numbers answered with error 21211

    def __post_init__(self) -> None:
        base = "/2010-04-01/Accounts/{sid}"
        self.app = Starlette(routes=[Route(base + "/Messages.json", self._message, methods=["POST"]),
                                     Route(base + "/Calls.json", self._call, methods=["POST"])])

    def _refusal(self, request: Request) -> Response | None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected or request.path_params["sid"] != self.account_sid:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        if self.http_status:
            return JSONResponse({"code": 20429 if self.http_status == 429 else 20500, "message": "unavailable",
                                 "status": self.http_status}, status_code=self.http_status)
        return None

    async def _form(self, request: Request) -> dict[str, str]:
        return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))

    async def _message(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = await self._form(request)
        if not form.get("To", "").startswith("+") or form.get("To") in self.unreachable:
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
                                status_code=400)
        sid = "SM" + uuid.uuid4().hex
        self.messages.append({**form, "Sid": sid})
        return JSONResponse({"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                             "body": form.get("Body"), "status": "queued", "num_segments": "1"}, status_code=201)

    async def _call(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = await self._form(request)
        sid = "CA" + uuid.uuid4().hex
        self.calls.append({**form, "Sid": sid})
        return JSONResponse({"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                             "status": "queued"}, status_code=201)

    def signature(self, url: str, params: dict[str, str], *, token: str | None = None) -> str:
        """``X-Twilio-Signature`` of a webhook POST (``token``: sign with another key, to forge one)."""
        return str(RequestValidator(token or self.auth_token).compute_signature(url, params))

    def webhook(self, client: httpx.Client, url: str, params: dict[str, str], *,
                      token: str | None = None) -> httpx.Response:
        """POST ``params`` to WareRoom as Twilio does, signed."""
        return client.post(url, data=params, headers={"X-Twilio-Signature": self.signature(url, params,
                                                                                                  token=token)})

    def reply_sms(self, client: httpx.Client, url: str, *, from_number: str, body: str,
                        to_number: str = "", token: str | None = None) -> httpx.Response:
        """An inbound SMS from ``from_number`` to WareRoom's number, as Twilio's Messaging webhook posts it."""
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": self.account_sid, "From": from_number,
                  "To": to_number, "Body": body, "NumMedia": "0"}
        return self.webhook(client, url, params, token=token)

    def press(self, client: httpx.Client, twiml: str, digits: str, *, call: dict[str, str],
                    token: str | None = None) -> str:
        """Press ``digits`` on the first ``<Gather>`` of ``twiml``: post them to its action; the TwiML answered."""
        gather = ET.fromstring(twiml).find("Gather")
        assert gather is not None, f"no <Gather> in {twiml}"
        params = {"CallSid": call["Sid"], "AccountSid": self.account_sid, "From": call.get("From", ""),
                  "To": call["To"], "Digits": digits, "CallStatus": "in-progress"}
        answer = self.webhook(client, gather.attrib["action"], params, token=token)
        return answer.text

    @staticmethod
    def said(twiml: str) -> list[str]:
        """Every ``<Say>`` text of ``twiml``, in order."""
        return [node.text or "" for node in ET.fromstring(twiml).iter("Say")]
