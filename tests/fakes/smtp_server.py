"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, and can refuse recipients."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mailbox:
    """An aiosmtpd handler: ``received`` holds (envelope recipients, raw bytes) of each accepted message."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply, e.g. "550 no such user"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content: Any = envelope.original_content or envelope.content
        self.received.append((list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """The received messages, parsed with the modern policy (headers decoded)."""
        parsed = [message_from_bytes(raw, policy=policy.default) for _, raw in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A running aiosmtpd on 127.0.0.1 (a free port) and its mailbox."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
