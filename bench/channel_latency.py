"""Delivery latency per channel beyond chat, through the real client libraries against the fakes on loopback.

``python -m bench.channel_latency [--sends N]`` prints ``name: value`` lines: for each channel (email over
aiosmtplib to a real aiosmtpd; Alibaba Cloud SMS, Tencent Cloud SMS, Twilio SMS and Twilio Voice through
their official SDKs), p50 and p95 milliseconds of ``deliver()`` for N sends one after another, beside the
same run's baseline: a bare httpx POST to the same HTTP fake (the floor of a loopback round trip); then the
whole delivery path, ``outbox_*``: a notice row committed (SQLite) → the contact dispatcher's round → the
provider's answer recorded, per channel.
"""

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.common import percentile, report
from bot import db as migrations
from handlers.contact_ports import ContactPort, Notice
from handlers.paging import OP_NOTIFY, Limits
from handlers.ports import OutboundMessage
from incidents import outbox
from incidents.database import Database
from incidents.severity import Severity
from incidents.tables import Incident
from integrations.aliyun_sms.adapter import AliyunSms, AliyunSmsAccount
from integrations.contact_dispatcher import ContactDispatcher
from integrations.contact_links import AckLinks
from integrations.email.adapter import EmailChannel, SmtpServer
from integrations.tencent_sms.adapter import TencentSms, TencentSmsAccount
from integrations.twilio.adapter import TwilioAccount, TwilioSms, TwilioVoice
from tests.factories import make_core, make_signal, seed_people
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.live_server import live_server
from tests.fakes.smtp_server import smtp_server
from tests.fakes.tencent_sms import FakeTencentSms
from tests.fakes.twilio_api import FakeTwilio

MESSAGE = OutboundMessage(title="🔴 SEV1 #42 冷库 B2 温度过高 / Cold room B2 too warm", body="SH-01 / B2",
                          incident_id=42, tone="alert")


async def _timed(sends: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    await call(-1)  # warm-up: connections, SDK imports
    spent = []
    for number in range(sends):
        started = time.perf_counter()
        await call(number)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def _report(name: str, spent: list[float]) -> None:
    report(f"{name}_p50_ms", round(percentile(spent, 0.5), 2))
    report(f"{name}_p95_ms", round(percentile(spent, 0.95), 2))


async def _port(sends: int, name: str, port: ContactPort, address: str) -> None:
    notice = Notice(address, MESSAGE, ack_token="t")
    _report(name, await _timed(sends, lambda n: port.deliver(notice, key=f"bench:{n}")))
    await port.close()


def _core(directory: Path) -> tuple[Database, Incident, int]:
    url = f"sqlite:///{directory / 'bench.db'}"
    migrations.upgrade(url)
    database = Database(url)
    person = seed_people(database)["wangwei"]
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal(severity=Severity.SEV1))
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
    assert incident is not None
    return database, incident, person


async def _outbox(sends: int, name: str, port: ContactPort, address: str, directory: Path) -> None:
    """Each send: a notice row committed, then one dispatcher round delivers it."""
    database, incident, person = _core(directory / name)
    dispatcher = ContactDispatcher(database, {port.channel: port}, AckLinks("bench", "http://wareroom.test"),
                                   timezone="Asia/Shanghai", limits=Limits(per_incident=10**6, per_person=10**6))

    async def one(number: int) -> None:
        with database.unit_of_work() as session:
            outbox.enqueue(session, incident_id=incident.id or 0, platform=port.channel, op=OP_NOTIFY,
                           key=f"i{incident.id}:{port.channel}:p{person}:bench:{number}",
                           payload={"message": MESSAGE.to_json(), "person_id": person, "address": address,
                                    "language": "zh", "severity": "SEV1"})
        assert await dispatcher.drain_once() == 1

    _report(f"outbox_{name}", await _timed(sends, one))
    await port.close()
    database.dispose()


async def main(sends: int) -> None:
    aliyun, tencent, twilio = FakeAliyunSms(), FakeTencentSms(), FakeTwilio()
    with ExitStack() as stack:
        aliyun_url, tencent_url, twilio_url = (stack.enter_context(live_server(f.app)) for f in (aliyun, tencent,
                                                                                                  twilio))
        _, smtp_port = stack.enter_context(smtp_server())
        async with httpx.AsyncClient() as client:
            _report("baseline_httpx_post", await _timed(sends, lambda n: client.post(
                f"{twilio_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json", data={"To": "+1"})))
        await _port(sends, "email_smtp", EmailChannel(SmtpServer("127.0.0.1", smtp_port, "wareroom@site.example",
                                                                 security="none")), "wang@site.example")
        await _port(sends, "sms_aliyun", AliyunSms(AliyunSmsAccount(
            aliyun.access_key_id, aliyun.access_key_secret, "仓库告警", "SMS_1", endpoint=aliyun_url[7:],
            protocol="http")), "+8613800000001")
        await _port(sends, "sms_tencent", TencentSms(TencentSmsAccount(
            tencent.secret_id, tencent.secret_key, "1400000001", "仓库告警", "1", endpoint=tencent_url[7:],
            protocol="http")), "+8613800000001")
        account = TwilioAccount(twilio.account_sid, twilio.auth_token, "+15005550006", "http://wareroom.test",
                                api_url=twilio_url)
        await _port(sends, "sms_twilio", TwilioSms(account), "+8613800000001")
        await _port(sends, "voice_twilio", TwilioVoice(account), "+8613800000001")
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("email_smtp", "sms_aliyun", "sms_tencent", "sms_twilio", "voice_twilio"):
                (Path(tmp) / name).mkdir()
            email = EmailChannel(SmtpServer("127.0.0.1", smtp_port, "wr@site.example", security="none"))
            await _outbox(sends, "email_smtp", email, "wang@site.example", Path(tmp))
            await _outbox(sends, "sms_aliyun", AliyunSms(AliyunSmsAccount(
                aliyun.access_key_id, aliyun.access_key_secret, "仓库告警", "SMS_1", endpoint=aliyun_url[7:],
                protocol="http")), "+8613800000001", Path(tmp))
            await _outbox(sends, "sms_tencent", TencentSms(TencentSmsAccount(
                tencent.secret_id, tencent.secret_key, "1400000001", "仓库告警", "1", endpoint=tencent_url[7:],
                protocol="http")), "+8613800000001", Path(tmp))
            await _outbox(sends, "sms_twilio", TwilioSms(account), "+8613800000001", Path(tmp))
            await _outbox(sends, "voice_twilio", TwilioVoice(account), "+8613800000001", Path(tmp))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=200)
    asyncio.run(main(parser.parse_args().sends))
