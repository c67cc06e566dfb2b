"""A fake Alibaba Cloud SMS API (Dysmsapi 2017-05-25) on loopback: checks the ACS3-HMAC-SHA256 signature,
answers ``SendSms`` as the service does, keeps what was sent, fails on request."""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def _canonical_query(query: dict[str, str]) -> str:
    return "&".join(f"{key}={quote(query[key], safe='~')}" for key in sorted(query))


def acs3_signature(secret: str, *, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                   signed: list[str]) -> str:
    """The ACS3-HMAC-SHA256 signature over the canonical request (Alibaba Cloud "V3 request signature")."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join([method, path or "/", _canonical_query(query), canonical_headers, ";".join(signed),
                           headers.get("x-acs-content-sha256", "")])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeAliyunSms:
    """``POST /?Action=SendSms`` (RPC style, parameters in the query). ``answer_code`` makes the next answers
    carry that ``Code`` (e.g. ``isv.BUSINESS_LIMIT_CONTROL``); ``http_status`` makes them fail with that status."""

    access_key_id: str = "LTAI-test"
    access_key_secret: str = "aliyun-secret"
    sent: list[dict[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    answer_code: str = "OK"
    http_status: int = 200

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/", self._api, methods=["POST", "GET"])])

    def _verify(self, request: Request, query: dict[str, str]) -> str | None:
        """None when the request is signed by our key; else the error code the service answers."""
        auth = request.headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        parts = dict(item.split("=", 1) for item in rest.split(",") if "=" in item)
        if algorithm != "ACS3-HMAC-SHA256" or parts.get("Credential") != self.access_key_id:
            return "InvalidAccessKeyId.NotFound"
        headers = {name.lower(): value for name, value in request.headers.items()}
        expected = acs3_signature(self.access_key_secret, method=request.method, path=request.url.path, query=query,
                                  headers=headers, signed=parts.get("SignedHeaders", "").split(";"))
        return None if hmac.compare_digest(expected, parts.get("Signature", "")) else "SignatureDoesNotMatch"

    async def _api(self, request: Request) -> Response:
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        request_id = str(uuid.uuid4()).upper()
        refused = self._verify(request, query)
        if refused is not None:
            self.rejected.append(refused)
            return JSONResponse({"Code": refused, "Message": refused, "RequestId": request_id}, status_code=400)
        if request.headers.get("x-acs-action") != "SendSms":
            return JSONResponse({"Code": "InvalidAction.NotFound", "RequestId": request_id}, status_code=404)
        if self.http_status != 200:
            return JSONResponse({"Code": "ServiceUnavailable", "Message": "The service is unavailable.",
                                 "RequestId": request_id}, status_code=self.http_status)
        if self.answer_code != "OK":
            return JSONResponse({"Code": self.answer_code, "Message": self.answer_code, "RequestId": request_id})
        self.sent.append(query)
        biz_id = f"{len(self.sent):06d}^{uuid.uuid4().int % 10**10}"
        return JSONResponse({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id})

    def params(self, index: int = -1) -> dict[str, Any]:
        """The ``TemplateParam`` JSON of a sent message."""
        return dict(json.loads(self.sent[index]["TemplateParam"]))
