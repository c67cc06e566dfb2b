"""The Alibaba Cloud SMS ContactPort (Dysmsapi 2017-05-25 ``SendSms``) over the official async SDK.

The endpoint is configurable (default ``dysmsapi.aliyuncs.com``) so that tests point the real SDK at a fake.
``Code`` other than ``OK`` in the answer: throttling codes are a wait, ``isp.SYSTEM_ERROR`` a retry, any
other (an unapproved template, an illegal number, no balance) a refusal. Codes: Alibaba Cloud SMS
"API error codes" (短信服务 API 错误码).
"""

import json
from dataclasses import dataclass

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config

from handlers.contact_ports import SMS, Notice
from handlers.ports import ChatUnavailable, MessageRefused, RateLimited
from integrations.sms_text import template_values

PROVIDER = "aliyun"
THROTTLED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"})
TRANSIENT = frozenset({"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"})
THROTTLE_WAIT_SECONDS = 60.0  # BUSINESS_LIMIT_CONTROL: per number, 1 per minute, 5 per hour by default


@dataclass(frozen=True, slots=True)
class AliyunSmsAccount:
    """An AccessKey pair, the approved sign name (签名) and template code (模板), and the endpoint."""

    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    endpoint: str = "dysmsapi.aliyuncs.com"
    protocol: str = "https"
    title_max: int = 20


def phone_number(e164: str) -> str:
    """``PhoneNumbers`` as the service takes them: mainland numbers without ``+86``, others as country code
    and number without ``+`` (``+85291234567`` → ``85291234567``)."""
    return e164.removeprefix("+86") if e164.startswith("+86") else e164.removeprefix("+")


def client(account: AliyunSmsAccount) -> Client:
    """The SDK client for ``account``."""
    return Client(Config(access_key_id=account.access_key_id, access_key_secret=account.access_key_secret,
                         endpoint=account.endpoint, protocol=account.protocol))


class AliyunSms:
    """ContactPort: one ``SendSms`` per notice, template values ``incident`` and ``title``, ``OutId`` = outbox key."""

    channel = SMS
    provider = PROVIDER

    def __init__(self, account: AliyunSmsAccount) -> None:
        self.account = account
        self.client = client(account)

    async def close(self) -> None:
        """The SDK opens a session per request: nothing to release."""

    async def deliver(self, notice: Notice, *, key: str) -> str:
        values = template_values(notice, title_max=self.account.title_max)
        request = SendSmsRequest(phone_numbers=phone_number(notice.address), sign_name=self.account.sign_name,
                                 template_code=self.account.template_code, out_id=key[:64],
                                 template_param=json.dumps({"incident": values.incident, "title": values.title},
                                                           ensure_ascii=False))
        try:
            answer = await self.client.send_sms_async(request)
        except ThrottlingException as exc:
            raise RateLimited(float(exc.retry_after or THROTTLE_WAIT_SECONDS), f"aliyun: {exc.code}") from exc
        except AlibabaCloudException as exc:
            if 400 <= (exc.status_code or 0) < 500:  # a bad key or signature: the same request cannot succeed
                raise MessageRefused(f"aliyun: {exc.status_code} {exc.code}: {exc.message}") from exc
            raise ChatUnavailable(f"aliyun: {exc.status_code} {exc.code}: {exc.message}") from exc
        except Exception as exc:  # the SDK wraps connection errors and timeouts in its own exceptions
            raise ChatUnavailable(f"aliyun: {type(exc).__name__}: {exc}") from exc
        body = answer.body
        code = str(body.code) if body is not None else "no body"
        if code == "OK" and body is not None:
            return str(body.biz_id)
        detail = f"aliyun: {code}: {body.message if body is not None else ''}"
        if code in THROTTLED:
            raise RateLimited(THROTTLE_WAIT_SECONDS, detail)
        if code in TRANSIENT:
            raise ChatUnavailable(detail)
        raise MessageRefused(detail)
