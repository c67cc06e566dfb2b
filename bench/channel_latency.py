"""Delivery latency per channel beyond chat, through the real client libraries against the fakes on loopback.

``python -m bench.channel_latency [--sends N]`` prints ``name: value`` lines: for each channel (email over
aiosmtplib to a real aiosmtpd; Alibaba Cloud SMS, Tencent Cloud SMS, Twilio SMS and Twilio Voice through
their official SDKs), p50 and p95 milliseconds of ``deliver()`` for N sends one after another, beside the
same run's baseline: a bare httpx POST to the same HTTP fake (the floor of a loopback round trip).
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

import httpx

from bench.common import percentile, report
from handlers.contact_ports import ContactPort, Notice
from handlers.ports import OutboundMessage
from integrations.aliyun_sms.adapter import AliyunSms, AliyunSmsAccount
from integrations.email.adapter import EmailChannel, SmtpServer
from integrations.tencent_sms.adapter import TencentSms, TencentSmsAccount
from integrations.twilio.adapter import TwilioAccount, TwilioSms, TwilioVoice
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=200)
    asyncio.run(main(parser.parse_args().sends))
