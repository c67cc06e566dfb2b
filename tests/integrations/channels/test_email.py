"""Email reaches a real local SMTP server (aiosmtpd) with both parts; Chinese subjects are RFC 2047 encoded."""

import pytest

from handlers.contact_ports import Notice
from handlers.ports import ChatUnavailable, MessageRefused, OutboundMessage
from integrations.email.adapter import EmailChannel, SmtpServer
from tests.fakes.smtp_server import smtp_server

TITLE = "SEV1 冷库 B2 温度过高 / Cold room B2 too warm"
MESSAGE = OutboundMessage(title=TITLE, body="探头 b2-probe-1 读数 12.4 °C\n<script>不执行</script>",
                          fields=(("严重程度", "SEV1"), ("区域", "B2 冷库")), incident_id=7, tone="alert")


async def test_email_has_text_and_html_parts_and_an_encoded_chinese_subject() -> None:
    with smtp_server() as (mailbox, port):
        channel = EmailChannel(SmtpServer("127.0.0.1", port, "wareroom@site.example", security="none"))
        sent_id = await channel.deliver(Notice("wang.li@site.example", MESSAGE, ack_url="http://wr.example/ack/abc"),
                                        key="i7:email:p3:step1")
    assert len(mailbox.received) == 1
    recipients, raw = mailbox.received[0]
    assert recipients == ["wang.li@site.example"]
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # every header byte on the wire is ASCII
    subject_line = next(line for line in head.split("\r\n") if line.startswith("Subject:"))
    assert "=?utf-8?" in subject_line.lower()
    mail = mailbox.messages()[0]
    assert mail["Subject"] == TITLE
    assert mail["Message-ID"].strip() == sent_id == "<i7.email.p3.step1@site.example>"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert "探头 b2-probe-1 读数 12.4 °C" in text.get_content()
    assert "区域: B2 冷库" in text.get_content()
    assert "http://wr.example/ack/abc" in text.get_content()
    assert "<h2" in html.get_content() and "冷库 B2" in html.get_content()
    assert "&lt;script&gt;" in html.get_content() and "<script>" not in html.get_content()
    assert 'href="http://wr.example/ack/abc"' in html.get_content()


async def test_a_refused_recipient_is_a_refusal_and_a_closed_port_is_a_retry() -> None:
    with smtp_server() as (mailbox, port):
        mailbox.refuse["gone@site.example"] = "550 5.1.1 no such user"
        channel = EmailChannel(SmtpServer("127.0.0.1", port, "wareroom@site.example", security="none"))
        with pytest.raises(MessageRefused):
            await channel.deliver(Notice("gone@site.example", MESSAGE), key="k1")
    assert mailbox.received == []
    with pytest.raises(ChatUnavailable):
        await channel.deliver(Notice("wang.li@site.example", MESSAGE), key="k2")
