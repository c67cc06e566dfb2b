"""A fake Tencent Cloud SMS API (2021-01-11) on loopback: checks the TC3-HMAC-SHA256 signature, answers
``SendSms`` with a ``SendStatusSet`` as the service does, keeps what was sent, fails on request."""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def tc3_signature(secret_key: str, *, method: str, content_type: str, host: str, body: bytes, timestamp: int,
                  service: str) -> str:
    """The TC3-HMAC-SHA256 signature of a POST with a JSON body (Tencent Cloud API 3.0 "签名方法 v3")."""
    canonical = "\n".join([method, "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(body).hexdigest()])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeTencentSms:
    """``POST /`` with ``X-TC-Action: SendSms``. ``status_code`` sets each number's ``SendStatus.Code``
    (``Ok``, ``LimitExceeded.PhoneNumberOneHourLimit``…); ``error_code`` makes the whole request fail."""

    secret_id: str = "AKID-test"
    secret_key: str = "tencent-secret"
    sent: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    status_code: str = "Ok"
    error_code: str = ""

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/", self._api, methods=["POST"])])

    def _error(self, code: str) -> Response:
        return JSONResponse({"Response": {"Error": {"Code": code, "Message": code},
                                          "RequestId": str(uuid.uuid4())}})

    async def _api(self, request: Request) -> Response:
        body = await request.body()
        auth = request.headers.get("authorization", "")
        fields = dict(part.strip().split("=", 1) for part in auth.partition(" ")[2].split(",") if "=" in part)
        credential = fields.get("Credential", "").split("/")
        timestamp = int(request.headers.get("x-tc-timestamp", "0"))
        expected = tc3_signature(self.secret_key, method=request.method,
                                 content_type=request.headers.get("content-type", ""),
                                 host=request.headers.get("host", ""), body=body, timestamp=timestamp,
                                 service=credential[2] if len(credential) > 2 else "")
        if credential[0] != self.secret_id:
            self.rejected.append("AuthFailure.SecretIdNotFound")
            return self._error("AuthFailure.SecretIdNotFound")
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            self.rejected.append("AuthFailure.SignatureFailure")
            return self._error("AuthFailure.SignatureFailure")
        if request.headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction")
        if self.error_code:
            return self._error(self.error_code)
        params = json.loads(body)
        statuses = []
        for number in params.get("PhoneNumberSet", []):
            ok = self.status_code == "Ok"
            if ok:
                self.sent.append({**params, "PhoneNumberSet": [number]})
            statuses.append({"SerialNo": f"2028:{uuid.uuid4().int % 10**12}" if ok else "", "PhoneNumber": number,
                             "Fee": 1 if ok else 0, "SessionContext": params.get("SessionContext", ""),
                             "Code": self.status_code, "Message": "send success" if ok else self.status_code,
                             "IsoCode": "CN"})
        return JSONResponse({"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}})
