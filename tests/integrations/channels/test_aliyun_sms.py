"""The real Alibaba Cloud SMS SDK against the fake: signed requests, template values, throttling and refusals."""

import pytest

from handlers.contact_ports import Notice
from handlers.ports import ChatUnavailable, MessageRefused, OutboundMessage, RateLimited
from integrations.aliyun_sms.adapter import AliyunSms, AliyunSmsAccount, phone_number
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.live_server import live_server

MESSAGE = OutboundMessage(title="SEV1 冷库 B2 温度过高，疫苗库需要立即转移", body="12.4 °C", incident_id=42)


def account(fake: FakeAliyunSms, url: str, *, secret: str | None = None) -> AliyunSmsAccount:
    return AliyunSmsAccount(fake.access_key_id, secret or fake.access_key_secret, sign_name="仓库告警",
                            template_code="SMS_0001", endpoint=url.removeprefix("http://"), protocol="http")


async def test_a_signed_send_sms_carries_the_template_values_and_the_outbox_key() -> None:
    fake = FakeAliyunSms()
    with live_server(fake.app) as url:
        biz_id = await AliyunSms(account(fake, url)).deliver(Notice("+8613800000001", MESSAGE), key="i42:sms:p1:1")
    assert fake.rejected == []
    sent = fake.sent[0]
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"], sent["OutId"]) == (
        "13800000001", "仓库告警", "SMS_0001", "i42:sms:p1:1")
    assert fake.params() == {"incident": "42", "title": "SEV1 冷库 B2 温度过高，疫苗库…"}  # 20 characters
    assert biz_id.startswith("000001^")


async def test_a_wrong_secret_is_refused_throttling_waits_and_an_outage_is_retried() -> None:
    fake = FakeAliyunSms()
    with live_server(fake.app) as url:
        with pytest.raises(MessageRefused, match="SignatureDoesNotMatch"):
            await AliyunSms(account(fake, url, secret="wrong")).deliver(Notice("+8613800000001", MESSAGE), key="a")
        sms = AliyunSms(account(fake, url))
        fake.answer_code = "isv.BUSINESS_LIMIT_CONTROL"
        with pytest.raises(RateLimited):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="b")
        fake.answer_code = "isv.MOBILE_NUMBER_ILLEGAL"
        with pytest.raises(MessageRefused, match="MOBILE_NUMBER_ILLEGAL"):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="c")
        fake.answer_code, fake.http_status = "OK", 503
        with pytest.raises(ChatUnavailable):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="d")
    assert fake.sent == []


def test_numbers_are_sent_as_the_service_takes_them() -> None:
    assert phone_number("+8613800000001") == "13800000001"
    assert phone_number("+85291234567") == "85291234567"
