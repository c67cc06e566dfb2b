"""OutboundMessage → an RFC 5322 email with a text and an HTML part rendered from the same message."""

import html
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from handlers.contact_ports import Notice
from incidents.clock import utcnow

_TONE_COLOUR = {"alert": "#b42318", "warn": "#b54708", "ok": "#067647", "info": "#344054"}
ACK_LABEL = {"zh": "确认收到（需要个人 PIN）", "en": "Acknowledge (asks for your PIN)"}


def text_part(notice: Notice) -> str:
    """The plain-text body: title, body, fields, then the acknowledgement link when there is one."""
    lines = [notice.message.plain_text()]
    if notice.ack_url:
        lines += ["", f"{ACK_LABEL.get(notice.language, ACK_LABEL['en'])}: {notice.ack_url}"]
    return "\n".join(lines) + "\n"


def html_part(notice: Notice) -> str:
    """The same content as HTML, every value escaped."""
    message = notice.message
    colour = _TONE_COLOUR.get(message.tone, _TONE_COLOUR["info"])
    rows = "".join(f"<tr><th align=\"left\">{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
                   for name, value in message.fields)
    body = "<br>".join(html.escape(line) for line in message.body.splitlines())
    link = (f'<p><a href="{html.escape(notice.ack_url, quote=True)}">'
            f"{html.escape(ACK_LABEL.get(notice.language, ACK_LABEL['en']))}</a></p>") if notice.ack_url else ""
    return (f'<!doctype html><html lang="{html.escape(notice.language)}"><body>'
            f'<h2 style="color:{colour}">{html.escape(message.title)}</h2>'
            f"<p>{body}</p>" + (f"<table>{rows}</table>" if rows else "") + link + "</body></html>")


def message_id(key: str, sender: str) -> str:
    """``<i7.email.p3.1@site.example>``: the same outbox key always gives the same Message-ID (RFC 5322 §3.6.4),
    so a resend after a crash is one message to mail clients that thread by it."""
    local = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", ".", key)
    return f"<{local}@{sender.rpartition('@')[2] or 'wareroom'}>"


def email(notice: Notice, *, sender: str, key: str) -> EmailMessage:
    """The email for ``notice``; its Message-ID comes from the outbox ``key``.

    Non-ASCII subjects are RFC 2047 encoded words (UTF-8) by the stdlib's ``email.policy.SMTP``."""
    mail = EmailMessage()
    mail["Subject"] = notice.message.title
    mail["From"] = sender
    mail["To"] = Address(addr_spec=notice.address)
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id(key, sender)
    mail["X-WareRoom-Key"] = key
    mail.set_content(text_part(notice))
    mail.add_alternative(html_part(notice), subtype="html")
    return mail
