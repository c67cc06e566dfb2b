"""A SEV1 nobody acknowledges in chat: the on-shift lead's rules send an SMS, then place a call; a signed SMS
reply with the right PIN acknowledges it, and every chat thread says who acknowledged and by which channel.
A forged webhook, an unknown number and a wrong PIN change nothing but the audit trail."""

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from incidents import directory
from incidents.clock import utcnow
from incidents.contacts import pins, points, rules
from incidents.database import Database
from incidents.tables import AuditEvent
from tests.e2e.server import ALERT_BODY, app_settings, running, wait_for
from tests.factories import seed_people
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.mosquitto
PHONE = "+8613800000001"
PIN = "2468"
SEV1 = {**ALERT_BODY, "severity": "SEV1", "dedup_key": "d1-power-cut"}


def _on_shift_lead(url: str) -> int:
    """Wang Wei (SL) on shift now, with a verified phone, PIN 2468, and SEV1 rules: chat, SMS, then a call."""
    database = Database(url)
    ids = seed_people(database)
    now = utcnow()
    with database.unit_of_work() as session:
        person = ids["wangwei"]
        directory.add_shift(session, person_id=person, starts_at=now - timedelta(hours=1),
                            ends_at=now + timedelta(hours=8))
        point, code = points.add(session, person_id=person, kind=points.PHONE, address=PHONE, now=now)
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=now)
        pins.set_pin(session, person_id=person, pin=PIN)
        rules.set_rules(session, person_id=person, severity="SEV1", steps=[("chat", 0), ("sms", 0), ("voice", 1)])
    database.dispose()
    return person


def _audit(url: str, action: str) -> list[AuditEvent]:
    database = Database(url)
    with database.reader() as session:
        events = list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(col(AuditEvent.id))).all())
    database.dispose()
    return events


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTwilio, FakeAliyunSms, dict[str, Any]]]:
    slack, twilio, aliyun = FakeSlack(), FakeTwilio(), FakeAliyunSms()
    with ExitStack() as stack:
        slack_url, twilio_url, aliyun_url = (stack.enter_context(live_server(f.app)) for f in (slack, twilio, aliyun))
        yield slack, twilio, aliyun, {
            "slack_bot_token": "xoxb-e2e", "slack_signing_secret": "s", "slack_channel": "C-OPS",
            "slack_api_url": f"{slack_url}/api", "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token, "twilio_from_number": "+15005550006", "twilio_api_url": twilio_url,
            "aliyun_sms_access_key_id": aliyun.access_key_id, "aliyun_sms_access_key_secret": aliyun.access_key_secret,
            "aliyun_sms_sign_name": "仓库告警", "aliyun_sms_template_code": "SMS_0001",
            "aliyun_sms_api_url": aliyun_url}


def _thread_texts(slack: FakeSlack) -> str:
    return "\n".join(str(p.get("text", "")) for p in slack.called("chat.postMessage"))


def test_sms_then_call_and_a_signed_sms_reply_with_the_pin_acknowledges(
    tmp_path: Path, sqlite_url: str, fakes: tuple[FakeSlack, FakeTwilio, FakeAliyunSms, dict[str, Any]]
) -> None:
    slack, twilio, _, chat = fakes
    _on_shift_lead(sqlite_url)
    settings = app_settings(tmp_path, sqlite_url, sms_provider="twilio", **chat)
    settings.public_url = f"http://127.0.0.1:{settings.http_port}"
    with running(settings) as http:
        incident_id = http.post("/api/v1/alerts", json=SEV1).json()["incidents"][0]
        sms = wait_for(lambda: twilio.messages)[0]
        assert sms["To"] == PHONE and f"#{incident_id}" in sms["Body"] and f"确认 {incident_id} PIN" in sms["Body"]
        call = wait_for(lambda: twilio.calls)[0]  # a second later, still unacknowledged
        assert call["To"] == PHONE and "按 1 确认此告警。" in FakeTwilio.said(call["Twiml"])
        webhook = f"{settings.public_url}/twilio/sms"

        forged = twilio.reply_sms(http, webhook, from_number=PHONE, body=f"确认 {incident_id} {PIN}", token="forged")
        stranger = twilio.reply_sms(http, webhook, from_number="+8613900000000", body=f"确认 {incident_id} {PIN}")
        wrong = twilio.reply_sms(http, webhook, from_number=PHONE, body=f"确认 {incident_id} 0000")
        assert forged.status_code == 403
        assert "未登记或未验证" in stranger.text and "PIN 不正确" in wrong.text
        assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "triggered"

        right = twilio.reply_sms(http, webhook, from_number=PHONE, body=f"{incident_id} ACK {PIN}")
        assert right.status_code == 200 and f"已确认事件 #{incident_id}" in right.text
        assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "acknowledged"
        said = f"王伟 Wang Wei 已确认事件：通过短信确认（{PHONE}）"
        wait_for(lambda: said in _thread_texts(slack))
        web = wait_for(lambda: [m for m in http.get(f"/webchat/incidents/{incident_id}/messages").json()
                                if said in str(m)])
        assert web
        again = twilio.reply_sms(http, webhook, from_number=PHONE, body=f"{incident_id} ACK {PIN}")
        assert again.status_code == 200
        metrics = http.get("/metrics").text
        assert 'wareroom_contact_sent_total{channel="sms"} 1.0' in metrics
        assert 'wareroom_contact_sent_total{channel="voice"} 1.0' in metrics
    [acked] = _audit(sqlite_url, "incident.acknowledge")
    assert (acked.incident_id, acked.actor_name, acked.platform, acked.platform_user_id) == (
        incident_id, "王伟 Wang Wei", "sms", PHONE)
    [failed] = _audit(sqlite_url, "contact.pin_failed")
    assert failed.after == {"channel": "sms", "sender": PHONE}
    refused = _audit(sqlite_url, "contact.ack_refused")
    assert [e.after["sender"] for e in refused if e.after] == ["+8613900000000"]


def test_sms_by_alibaba_cloud_then_a_call_acknowledged_by_key_and_pin(
    tmp_path: Path, sqlite_url: str, fakes: tuple[FakeSlack, FakeTwilio, FakeAliyunSms, dict[str, Any]]
) -> None:
    slack, twilio, aliyun, chat = fakes
    _on_shift_lead(sqlite_url)
    settings = app_settings(tmp_path, sqlite_url, sms_provider="aliyun", **chat)
    settings.public_url = f"http://127.0.0.1:{settings.http_port}"
    with running(settings) as http:
        incident_id = http.post("/api/v1/alerts", json=SEV1).json()["incidents"][0]
        wait_for(lambda: aliyun.sent)
        assert aliyun.sent[0]["PhoneNumbers"] == PHONE.removeprefix("+86")
        assert aliyun.params()["incident"] == str(incident_id)
        assert twilio.messages == []
        call = wait_for(lambda: twilio.calls)[0]
        forged = twilio.press(http, call["Twiml"], "1", call=call, token="forged")
        assert forged == ""  # 403, no TwiML
        asked = twilio.press(http, call["Twiml"], "1", call=call)
        assert FakeTwilio.said(asked) == ["请输入您的个人 PIN，以井号键结束。", "未收到按键，再见。"]
        assert FakeTwilio.said(twilio.press(http, asked, "1111", call=call))[0] == "PIN 不正确，未确认。"
        assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "triggered"
        done = twilio.press(http, asked, PIN, call=call)
        assert FakeTwilio.said(done) == ["已确认。谢谢，再见。"]
        assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "acknowledged"
        wait_for(lambda: f"王伟 Wang Wei 已确认事件：通过电话确认（{PHONE}）" in _thread_texts(slack))
        later = twilio.press(http, asked, PIN, call={**call, "Sid": "CA-later"})  # another call, after the ack
        assert FakeTwilio.said(later) == ["此事件已不需要确认，再见。"]
    [acked] = _audit(sqlite_url, "incident.acknowledge")
    assert (acked.platform, acked.platform_user_id) == ("voice", PHONE)
