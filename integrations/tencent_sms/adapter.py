"""The Tencent Cloud SMS ContactPort (SMS API 2021-01-11 ``SendSms``) over the official async SDK.

The endpoint is configurable (default ``sms.tencentcloudapi.com``) so that tests point the real SDK at a fake.
A whole-request error (``Response.Error``) and a per-number ``SendStatus.Code`` other than ``Ok`` are sorted:
``LimitExceeded.*`` is a wait, ``InternalError.*`` a retry, anything else (an unapproved template, a wrong
number, no balance, a revoked key) a refusal. Codes: Tencent Cloud SMS "错误码" (API 2021-01-11).
"""

from dataclasses import dataclass

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client_async import SmsClient

from handlers.contact_ports import SMS, Notice
from handlers.ports import ChatUnavailable, MessageRefused, RateLimited
from integrations.sms_text import template_values

PROVIDER = "tencent"
THROTTLE_WAIT_SECONDS = 60.0  # LimitExceeded.PhoneNumberThirtySecondLimit / OneHourLimit / DailyLimit


@dataclass(frozen=True, slots=True)
class TencentSmsAccount:
    """A SecretId/SecretKey pair, the SMS application (SdkAppId), the approved sign (签名) and template ID."""

    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_id: str
    region: str = "ap-guangzhou"
    endpoint: str = "sms.tencentcloudapi.com"
    protocol: str = "https"
    title_max: int = 20


def client(account: TencentSmsAccount) -> SmsClient:
    """The SDK client for ``account``."""
    profile = ClientProfile(httpProfile=HttpProfile(protocol=account.protocol, endpoint=account.endpoint,
                                                    reqTimeout=30))
    return SmsClient(Credential(account.secret_id, account.secret_key), account.region, profile)


def _sorted(code: str, detail: str) -> Exception:
    if code.startswith(("LimitExceeded", "RequestLimitExceeded")):
        return RateLimited(THROTTLE_WAIT_SECONDS, detail)
    if code.startswith(("InternalError", "ClientNetworkError", "ServerNetworkError")):
        return ChatUnavailable(detail)
    return MessageRefused(detail)


class TencentSms:
    """ContactPort: one ``SendSms`` per notice, template values [incident, title], ``SessionContext`` = outbox key."""

    channel = SMS
    provider = PROVIDER

    def __init__(self, account: TencentSmsAccount) -> None:
        self.account = account
        self.client = client(account)

    async def close(self) -> None:
        await self.client.close()

    async def deliver(self, notice: Notice, *, key: str) -> str:
        values = template_values(notice, title_max=self.account.title_max)
        request = SendSmsRequest()
        request.PhoneNumberSet = [notice.address]
        request.SmsSdkAppId = self.account.sdk_app_id
        request.SignName = self.account.sign_name
        request.TemplateId = self.account.template_id
        request.TemplateParamSet = [values.incident, values.title]
        request.SessionContext = key
        try:
            answer = await self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise _sorted(str(exc.get_code()), f"tencent: {exc.get_code()}: {exc.get_message()}") from exc
        except Exception as exc:  # httpx transport errors and timeouts
            raise ChatUnavailable(f"tencent: {type(exc).__name__}: {exc}") from exc
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            raise ChatUnavailable("tencent: no SendStatus in the answer")
        if status.Code != "Ok":
            raise _sorted(str(status.Code), f"tencent: {status.Code}: {status.Message}")
        return str(status.SerialNo)
