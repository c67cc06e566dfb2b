"""The email ContactPort: one message per notice over SMTP (aiosmtplib), text and HTML parts."""

from dataclasses import dataclass

import aiosmtplib

from handlers.contact_ports import EMAIL, Notice
from handlers.ports import ChatUnavailable, MessageRefused
from integrations.email import render

PROVIDER = "smtp"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where mail goes: ``security`` is ``starttls`` (port 587), ``tls`` (implicit, port 465) or ``none``
    (a local relay); ``timeout`` in seconds."""

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    security: str = "starttls"
    timeout: float = 30.0


class EmailChannel:
    """ContactPort over SMTP. A 4xx reply or a lost connection is ``ChatUnavailable`` (retried);
    a 5xx reply (RFC 5321 §4.2.1: permanent) is ``MessageRefused``."""

    channel = EMAIL
    provider = PROVIDER

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def close(self) -> None:
        """A connection per message: nothing to release."""

    async def deliver(self, notice: Notice, *, key: str) -> str:
        mail = render.email(notice, sender=self.server.sender, key=key)
        server = self.server
        try:
            await aiosmtplib.send(mail, hostname=server.host, port=server.port, timeout=server.timeout,
                                  username=server.username or None, password=server.password or None,
                                  use_tls=server.security == "tls", start_tls=server.security == "starttls")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MessageRefused(f"smtp: {notice.address} refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise MessageRefused(f"smtp: {exc.code} {exc.message}") from exc
            raise ChatUnavailable(f"smtp: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChatUnavailable(f"smtp: {type(exc).__name__}: {exc}") from exc
        return str(mail["Message-ID"])
