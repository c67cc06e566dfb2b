"""The real Tencent Cloud SMS SDK against the fake: signed requests, template values, limits and refusals."""

import pytest

from handlers.contact_ports import Notice
from handlers.ports import ChatUnavailable, MessageRefused, OutboundMessage, RateLimited
from integrations.tencent_sms.adapter import TencentSms, TencentSmsAccount
from tests.fakes.live_server import live_server
from tests.fakes.tencent_sms import FakeTencentSms

MESSAGE = OutboundMessage(title="SEV1 冷库 B2 温度过高", body="12.4 °C", incident_id=42)


def account(fake: FakeTencentSms, url: str, *, key: str | None = None) -> TencentSmsAccount:
    return TencentSmsAccount(fake.secret_id, key or fake.secret_key, sdk_app_id="1400000001", sign_name="仓库告警",
                             template_id="100001", endpoint=url.removeprefix("http://"), protocol="http")


async def test_a_signed_send_sms_carries_the_template_values_and_the_outbox_key() -> None:
    fake = FakeTencentSms()
    with live_server(fake.app) as url:
        serial = await TencentSms(account(fake, url)).deliver(Notice("+8613800000001", MESSAGE), key="i42:sms:p1:1")
    assert fake.rejected == []
    sent = fake.sent[0]
    assert sent["PhoneNumberSet"] == ["+8613800000001"]
    assert (sent["SmsSdkAppId"], sent["SignName"], sent["TemplateId"]) == ("1400000001", "仓库告警", "100001")
    assert sent["TemplateParamSet"] == ["42", "SEV1 冷库 B2 温度过高"]
    assert sent["SessionContext"] == "i42:sms:p1:1"
    assert serial.startswith("2028:")


async def test_a_wrong_key_is_refused_limits_wait_and_internal_errors_are_retried() -> None:
    fake = FakeTencentSms()
    with live_server(fake.app) as url:
        with pytest.raises(MessageRefused, match=r"AuthFailure\.SignatureFailure"):
            await TencentSms(account(fake, url, key="wrong")).deliver(Notice("+8613800000001", MESSAGE), key="a")
        sms = TencentSms(account(fake, url))
        fake.status_code = "LimitExceeded.PhoneNumberOneHourLimit"
        with pytest.raises(RateLimited):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="b")
        fake.status_code = "InvalidParameterValue.IncorrectPhoneNumber"
        with pytest.raises(MessageRefused, match="IncorrectPhoneNumber"):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="c")
        fake.status_code, fake.error_code = "Ok", "InternalError.Timeout"
        with pytest.raises(ChatUnavailable):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="d")
    assert fake.sent == []
