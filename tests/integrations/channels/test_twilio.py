"""The real Twilio SDK against the fake: SMS with the full text, calls with the "press 1" TwiML, errors sorted."""

import pytest

from handlers.contact_ports import Notice
from handlers.ports import ChatUnavailable, MessageRefused, OutboundMessage, RateLimited
from integrations.twilio.adapter import TwilioAccount, TwilioSms, TwilioVoice
from tests.fakes.live_server import live_server
from tests.fakes.twilio_api import FakeTwilio

MESSAGE = OutboundMessage(title="SEV1 冷库 B2 温度过高", body="探头读数 12.4 °C", fields=(("区域", "B2"),),
                          incident_id=42)


def account(fake: FakeTwilio, url: str, *, token: str | None = None) -> TwilioAccount:
    return TwilioAccount(fake.account_sid, token or fake.auth_token, from_number="+15005550006",
                         public_url="http://wareroom.test", api_url=url)


async def test_an_sms_carries_the_full_text_and_how_to_acknowledge() -> None:
    fake = FakeTwilio()
    with live_server(fake.app) as url:
        sms = TwilioSms(account(fake, url))
        sid = await sms.deliver(Notice("+8613800000001", MESSAGE), key="k")
        await sms.close()
    sent = fake.messages[0]
    assert sid == sent["Sid"] and sid.startswith("SM")
    assert (sent["To"], sent["From"]) == ("+8613800000001", "+15005550006")
    assert sent["Body"] == "SEV1 冷库 B2 温度过高\n探头读数 12.4 °C\n区域: B2\n回复“确认 42 PIN”确认"


async def test_a_call_reads_the_alert_in_the_persons_language_and_offers_press_one() -> None:
    fake = FakeTwilio()
    with live_server(fake.app) as url:
        voice = TwilioVoice(account(fake, url))
        await voice.deliver(Notice("+15550001111", MESSAGE, language="en", ack_token="tok"), key="k")
        await voice.close()
    call = fake.calls[0]
    assert call["To"] == "+15550001111"
    assert FakeTwilio.said(call["Twiml"])[:2] == ["SEV1 冷库 B2 温度过高。探头读数 12.4 °C",
                                                  "Press 1 to acknowledge this alert."]
    assert 'action="http://wareroom.test/twilio/voice/tok/key"' in call["Twiml"]
    assert 'language="en-US"' in call["Twiml"] and 'numDigits="1"' in call["Twiml"]


async def test_a_revoked_token_is_refused_429_waits_and_5xx_is_retried() -> None:
    fake = FakeTwilio()
    with live_server(fake.app) as url:
        revoked = TwilioSms(account(fake, url, token="revoked"))
        with pytest.raises(MessageRefused, match="20003"):
            await revoked.deliver(Notice("+8613800000001", MESSAGE), key="a")
        await revoked.close()
        sms = TwilioSms(account(fake, url))
        with pytest.raises(MessageRefused, match="21211"):
            await sms.deliver(Notice("8613800000001", MESSAGE), key="b")
        fake.http_status = 429
        with pytest.raises(RateLimited):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="c")
        fake.http_status = 503
        with pytest.raises(ChatUnavailable):
            await sms.deliver(Notice("+8613800000001", MESSAGE), key="d")
        await sms.close()
    assert fake.messages == []
